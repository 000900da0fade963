//! The audit stream, `cluster/audit`: one record per read of a session's recording, written by
//! the node that serves the read before it serves it. Not a session stream: an ended session's
//! stream is sealed with `end` as its last record, and the trail of who read a recording must
//! outlive the recording (it is kept for `--audit-retention`, a year by default, against 30 days
//! for sessions).

use std::time::Duration;

use bytes::Bytes;

use crate::protocol::AuditRecord;
use crate::store::stream::{Store, StoreError};
use crate::store::{
    AppendCondition, AppendItem, BackendError, ReadFrom, StoredRecord, StreamSettings, Streams,
};

/// The deployment-wide stream of reads (docs/protocol.md §11).
pub const AUDIT_STREAM: &str = "cluster/audit";

impl Store {
    /// The audit stream, created if missing, keeping records for `retention`.
    pub async fn audit_stream(&self, retention: Duration) -> Result<AuditStream, StoreError> {
        let audit = AuditStream {
            streams: self.streams().clone(),
            settings: StreamSettings {
                retention: retention.max(Duration::from_secs(1)),
                // Never deleted for being empty: nodes append to it at any time.
                delete_on_empty_after: Duration::ZERO,
            },
        };
        audit.ensure().await?;
        Ok(audit)
    }
}

/// Appends to and reads the audit stream. Every node appends, so appends carry no fencing token.
#[derive(Clone)]
pub struct AuditStream {
    streams: Streams,
    settings: StreamSettings,
}

impl AuditStream {
    async fn ensure(&self) -> Result<(), StoreError> {
        self.streams
            .backend()
            .ensure_stream(AUDIT_STREAM, self.settings)
            .await
            .map_err(|e| StoreError::Unavailable(format!("creating {AUDIT_STREAM}: {e}")))
    }

    /// Appends `record` and returns once S2 has it durably. A stream deleted since this node
    /// started (by an operator) is created again.
    pub async fn append(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let body = Bytes::from(serde_json::to_vec(record).expect("audit records serialize"));
        let item = || AppendItem::Data {
            body: body.clone(),
            timestamp: None,
        };
        let backend = self.streams.backend();
        let appended = match backend
            .append(AUDIT_STREAM, vec![item()], AppendCondition::default())
            .await
        {
            Err(BackendError::NotFound(_)) => {
                self.ensure().await?;
                backend
                    .append(AUDIT_STREAM, vec![item()], AppendCondition::default())
                    .await
            }
            other => other,
        };
        appended
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(format!("appending to {AUDIT_STREAM}: {e}")))
    }

    /// Up to `max` records from sequence number `from`; empty at the tail.
    pub async fn read(&self, from: u64, max: usize) -> Result<Vec<StoredRecord>, StoreError> {
        self.streams
            .backend()
            .read(AUDIT_STREAM, ReadFrom::SeqNum(from), max)
            .await
            .map_err(|e| StoreError::Unavailable(format!("reading {AUDIT_STREAM}: {e}")))
    }
}
