//! The interface every S2 implementation gives: plain streams of records.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

/// S2 accepts at most 1000 records and 1 MiB (metered) per append.
pub const MAX_BATCH_RECORDS: usize = 1000;
pub const MAX_BATCH_METERED: usize = 1_000_000;
/// Metered size of a record with no headers: 8 bytes plus its body.
const RECORD_OVERHEAD: usize = 8;

/// A position in a stream: the record's sequence number and timestamp (ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub seq_num: u64,
    pub timestamp: u64,
}

/// A data record as a read returns it. Command records (fences) are never returned: they
/// occupy sequence numbers, but no reader of ours wants them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub seq_num: u64,
    pub timestamp: u64,
    pub body: Bytes,
}

/// One record to append.
#[derive(Debug, Clone)]
pub enum AppendItem {
    /// A data record; `timestamp` (ms) when the writer sets it, else the store's arrival time.
    Data { body: Bytes, timestamp: Option<u64> },
    /// A `fence` command: from here on, appends must present `token`. Stamped like the data
    /// records beside it, so an acknowledgement's timestamps say whether S2 kept the writer's.
    Fence {
        token: String,
        timestamp: Option<u64>,
    },
}

impl AppendItem {
    /// The body of a data record.
    pub fn body(&self) -> Option<Bytes> {
        match self {
            AppendItem::Data { body, .. } => Some(body.clone()),
            AppendItem::Fence { .. } => None,
        }
    }

    fn metered(&self) -> usize {
        match self {
            AppendItem::Data { body, .. } => body.len() + RECORD_OVERHEAD,
            // One empty-named header whose value names the op, and the token as the body.
            AppendItem::Fence { token, .. } => RECORD_OVERHEAD + "fence".len() + token.len(),
        }
    }
}

/// What an append requires of the stream for it to apply.
#[derive(Debug, Clone, Default)]
pub struct AppendCondition {
    /// The stream's current fencing token must be this one.
    pub fencing_token: Option<String>,
    /// The first record must land at this sequence number (the tail just checked).
    pub match_seq_num: Option<u64>,
}

/// Where an appended batch landed: `start` is the first record's position, `end` the sequence
/// number after the last one, with the last record's timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub start: Position,
    pub end: Position,
}

/// Where a read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    SeqNum(u64),
    /// The first record at or after this timestamp (ms).
    Timestamp(u64),
    /// This many records before the tail.
    TailOffset(u64),
}

/// How streams are kept: the stream's own config, so no job of ours collects garbage.
#[derive(Debug, Clone, Copy)]
pub struct StreamSettings {
    pub retention: Duration,
    /// A stream emptied by retention is deleted once at least this old.
    pub delete_on_empty_after: Duration,
}

/// Records as a followed stream delivers them, in order; empty batches are never yielded.
pub type Follow = BoxStream<'static, Result<Vec<StoredRecord>, BackendError>>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    #[error("stream {0} does not exist")]
    NotFound(String),
    #[error("stream {0} already exists")]
    AlreadyExists(String),
    #[error("the stream is fenced with another token")]
    FencingMismatch,
    #[error("the stream's tail moved (now at {0})")]
    SeqNumMismatch(u64),
    #[error("S2 is unavailable: {0}")]
    Unavailable(String),
    #[error("S2 configuration: {0}")]
    Config(String),
}

/// The operations the crate needs from S2, one implementation per way of reaching it.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Appends one batch (at most [`MAX_BATCH_RECORDS`] records and [`MAX_BATCH_METERED`]
    /// bytes; see [`batches`]) atomically, once durable.
    async fn append(
        &self,
        stream: &str,
        records: Vec<AppendItem>,
        condition: AppendCondition,
    ) -> Result<Appended, BackendError>;

    /// Up to `max` data records from `from`; empty at the tail.
    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<StoredRecord>, BackendError>;

    /// The next sequence number and the last record's timestamp.
    async fn check_tail(&self, stream: &str) -> Result<Position, BackendError>;

    /// Data records from `from` on, as they are appended, for as long as the stream is read.
    async fn follow(&self, stream: &str, from: ReadFrom) -> Result<Follow, BackendError>;

    /// Creates a stream; `AlreadyExists` if it does.
    async fn create_stream(
        &self,
        stream: &str,
        settings: StreamSettings,
    ) -> Result<(), BackendError>;

    /// Creates a stream unless it exists.
    async fn ensure_stream(
        &self,
        stream: &str,
        settings: StreamSettings,
    ) -> Result<(), BackendError>;

    /// Deletes a stream and every record in it (a session erased on request); `NotFound` if it
    /// does not exist.
    async fn delete_stream(&self, stream: &str) -> Result<(), BackendError>;

    /// One page of stream names (not being deleted) with `prefix`, after `start_after`, in
    /// lexicographic order, and whether more follow.
    async fn list_streams(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, bool), BackendError>;
}

/// The basin of this deployment, through whichever backend reaches it.
#[derive(Clone)]
pub struct Streams {
    backend: Arc<dyn Backend>,
    settings: StreamSettings,
}

impl Streams {
    pub fn new(backend: Arc<dyn Backend>, settings: StreamSettings) -> Self {
        Self { backend, settings }
    }

    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// How session streams (and recordings beside them) are kept.
    pub fn settings(&self) -> StreamSettings {
        self.settings
    }

    /// Appends any number of records in order, in as many batches as S2's limits need. Each
    /// batch is atomic; the whole is not. The positions of every batch, in order.
    pub async fn append_all(
        &self,
        stream: &str,
        records: Vec<AppendItem>,
        condition: AppendCondition,
    ) -> Result<Vec<Appended>, BackendError> {
        let mut acks = Vec::new();
        for batch in batches(records) {
            acks.push(
                self.backend
                    .append(stream, batch, condition.clone())
                    .await?,
            );
        }
        Ok(acks)
    }
}

/// Splits records into batches within S2's per-append limits, in order.
pub fn batches(records: Vec<AppendItem>) -> Vec<Vec<AppendItem>> {
    let mut batches = Vec::new();
    let mut current: Vec<AppendItem> = Vec::new();
    let mut metered = 0;
    for record in records {
        let size = record.metered();
        if !current.is_empty()
            && (current.len() == MAX_BATCH_RECORDS || metered + size > MAX_BATCH_METERED)
        {
            batches.push(std::mem::take(&mut current));
            metered = 0;
        }
        metered += size;
        current.push(record);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> AppendItem {
        AppendItem::Data {
            body: Bytes::from(vec![0u8; len]),
            timestamp: None,
        }
    }

    #[test]
    fn batches_stay_within_s2_limits_and_keep_order() {
        let records: Vec<AppendItem> = (0..2500).map(|_| data(10)).collect();
        let split = batches(records);
        assert_eq!(
            split.iter().map(Vec::len).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        let big: Vec<AppendItem> = (0..5).map(|_| data(400_000)).collect();
        let split = batches(big);
        assert_eq!(split.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        for batch in &split {
            assert!(batch.iter().map(AppendItem::metered).sum::<usize>() <= MAX_BATCH_METERED);
        }
    }
}
