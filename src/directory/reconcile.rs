//! Sessions whose stream exists but the directory does not know: those written before the
//! directory existed (an upgraded deployment keeps its `--data-dir`), and those whose `started`
//! record was lost with a node that died between creating the stream and appending it. Once the
//! index is loaded, a node lists the session streams (names only: one S2 call per 1000 streams),
//! reads the first and last records of each one the index lacks, and writes its `started` (and
//! `ended`) to the directory, so every node lists it from then on.
//!
//! The written records are dated when the session began and name no live node, so a `started`
//! its own node writes (later, and alive) wins over them.

use futures::StreamExt;
use tracing::{info, warn};

use super::Directory;
use crate::clock::now_ms;
use crate::protocol::directory::DirectoryRecord;
use crate::protocol::{RecordKind, SessionId, SessionStart};
use crate::store::stream::{Store, StoreError};

/// Sessions younger than this are left to their own node: its `started` may be on its way.
const GRACE_MS: u64 = 60_000;
/// Streams read at once.
const CONCURRENCY: usize = 8;
/// The node the written records name: it never says it is alive.
const NODE: &str = "reconciled#0";

/// Writes the directory records of every session stream the index lacks; how many.
pub async fn reconcile(store: &Store, directory: &Directory) -> Result<usize, StoreError> {
    let mut missing = Vec::new();
    let mut after = None;
    loop {
        let (ids, more) = store.list_sessions(after, 1000).await?;
        after = ids.last().copied().or(after);
        let young = now_ms().saturating_sub(GRACE_MS);
        missing.extend(
            ids.into_iter()
                .filter(|id| id.created_ms() < young && !directory.knows(*id)),
        );
        if !more {
            break;
        }
    }
    if missing.is_empty() {
        return Ok(0);
    }
    info!(
        sessions = missing.len(),
        "adding sessions the directory lacks"
    );
    let found: Vec<Vec<DirectoryRecord>> = futures::stream::iter(missing)
        .map(|id| async move {
            records_of(store, id).await.unwrap_or_else(|e| {
                warn!(session = %id, error = %e, "could not read a session the directory lacks");
                Vec::new()
            })
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut written = 0;
    for records in found {
        written += usize::from(!records.is_empty());
        for record in records {
            directory.writer().record_waiting(record).await;
        }
    }
    Ok(written)
}

/// `started` from the session's `start` record, and `ended` from its `end` record if it has one.
async fn records_of(store: &Store, id: SessionId) -> Result<Vec<DirectoryRecord>, StoreError> {
    let stream = store.session(id);
    let Some(start) = stream
        .first_event(0)
        .await?
        .filter(|e| e.event.kind == RecordKind::Start)
        .and_then(|e| serde_json::from_slice::<SessionStart>(&e.event.body).ok())
    else {
        return Ok(Vec::new());
    };
    let tail = stream.tail().await?;
    let mut records = vec![DirectoryRecord::Started {
        session: id,
        project: start.project_key,
        node: NODE.into(),
        at_ms: id.created_ms(),
        tab: start.tab,
        page: start.page,
        user_id: start.user_id,
        metadata: start.metadata,
    }];
    if let Some(end) = stream.end_record(tail.seq_num).await? {
        records.push(DirectoryRecord::Ended {
            session: id,
            reason: end.reason,
            at_ms: end.ended_ms,
        });
    }
    Ok(records)
}
