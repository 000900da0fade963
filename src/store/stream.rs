//! S2 access: the basin, and the one stream each session is.
//!
//! Writes follow one rule: a node writes to a session only after claiming it, and every append
//! carries the claim's fencing token. Claiming is a conditional append (`match_seq_num` = the tail
//! just checked) of the node's first record plus a `fence` command, so a claim can never land after
//! an `end` record: an ended session stays ended. Sealing appends `end` and a fence with a token
//! nobody holds, in one batch.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;

use crate::protocol::SessionId;
use crate::protocol::session_id::STREAM_PREFIX;
use crate::protocol::{EndReason, RecordKind, SessionEnd, SessionStart};
use crate::store::frame::{self, Event, Reassembler, StoredEvent};
use crate::store::sdk::{SdkBackend, SdkConfig};
use crate::store::{
    AppendCondition, AppendItem, Appended, Backend, BackendError, Follow, Position, ReadFrom,
    StoredRecord, StreamSettings, Streams,
};

const CLAIM_ATTEMPTS: usize = 8;
/// The deployment-wide stream agents' signals travel through (docs/protocol.md §9.1).
pub const SIGNAL_STREAM: &str = "cluster/signals";
/// Signals matter for seconds; an hour is plenty to debug with.
const SIGNAL_RETENTION: Duration = Duration::from_secs(3600);
/// A session stream emptied by retention goes an hour later.
const DELETE_ON_EMPTY_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("session {0} does not exist")]
    NotFound(SessionId),
    #[error("session {id} has ended; start a new session")]
    Ended {
        id: SessionId,
        end: Option<SessionEnd>,
    },
    #[error("session {0} was taken over by another server")]
    TakenOver(SessionId),
    #[error("session {0} is being claimed by other servers at the same time; retry")]
    Contended(SessionId),
    #[error("S2 is unavailable: {0}")]
    Unavailable(String),
    #[error("S2 configuration: {0}")]
    Config(String),
}

impl From<BackendError> for StoreError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Config(e) => StoreError::Config(e),
            e => StoreError::Unavailable(e.to_string()),
        }
    }
}

/// How session streams are kept: `retention`, then deleted once empty.
pub fn session_settings(retention: Duration) -> StreamSettings {
    StreamSettings {
        retention: retention.max(Duration::from_secs(1)),
        delete_on_empty_after: DELETE_ON_EMPTY_AFTER,
    }
}

/// The basin that holds every session stream of this deployment.
#[derive(Clone)]
pub struct Store {
    streams: Streams,
    /// The largest event a reader of this store builds (see [`Reassembler::new`]).
    max_event_bytes: usize,
}

/// What readers accept until [`Store::with_max_event_bytes`] says otherwise: the server's default
/// `--max-event-bytes`.
const DEFAULT_MAX_EVENT_BYTES: usize = 10 * 1024 * 1024;

impl Store {
    /// Session streams through `backend`, kept for `retention`.
    pub fn new(backend: Arc<dyn Backend>, retention: Duration) -> Self {
        Self {
            streams: Streams::new(backend, session_settings(retention)),
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
        }
    }

    /// Readers refuse events larger than `max` bytes (the server's `--max-event-bytes`), however
    /// large a stored record claims its event to be.
    pub fn with_max_event_bytes(mut self, max: usize) -> Self {
        self.max_event_bytes = max;
        self
    }

    /// Session streams through s2-sdk: S2 cloud, or a separate s2-lite.
    pub async fn connect(config: &SdkConfig, retention: Duration) -> Result<Self, StoreError> {
        let backend = SdkBackend::connect(config, session_settings(retention)).await?;
        Ok(Self::new(Arc::new(backend), retention))
    }

    /// The basin's streams, for streams other than sessions' (call recordings).
    pub(crate) fn streams(&self) -> &Streams {
        &self.streams
    }

    /// Cheap round trip for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.streams
            .backend()
            .list_streams(STREAM_PREFIX, None, 1)
            .await?;
        Ok(())
    }

    pub fn session(&self, id: SessionId) -> SessionStream {
        SessionStream {
            id,
            name: id.stream_name(),
            streams: self.streams.clone(),
            max_event_bytes: self.max_event_bytes,
        }
    }

    /// Creates the stream of a new session.
    pub async fn create_session(&self, id: SessionId) -> Result<SessionStream, StoreError> {
        self.streams
            .backend()
            .create_stream(&id.stream_name(), self.streams.settings())
            .await?;
        Ok(self.session(id))
    }

    /// Deletes a session's stream (the session is erased); false if it did not exist.
    pub async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError> {
        match self
            .streams
            .backend()
            .delete_stream(&id.stream_name())
            .await
        {
            Ok(()) => Ok(true),
            Err(BackendError::NotFound(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The signal stream, created if missing. It is never deleted when empty: nodes append to it
    /// at any time.
    pub async fn signal_stream(&self) -> Result<SignalStream, StoreError> {
        let settings = StreamSettings {
            retention: SIGNAL_RETENTION,
            delete_on_empty_after: Duration::ZERO,
        };
        self.streams
            .backend()
            .ensure_stream(SIGNAL_STREAM, settings)
            .await?;
        Ok(SignalStream {
            streams: self.streams.clone(),
        })
    }

    /// One page of session ids, newest first, after the session `after`.
    pub async fn list_sessions(
        &self,
        after: Option<SessionId>,
        limit: usize,
    ) -> Result<(Vec<SessionId>, bool), StoreError> {
        let after = after.map(|a| a.stream_name());
        let (names, more) = self
            .streams
            .backend()
            .list_streams(STREAM_PREFIX, after.as_deref(), limit)
            .await?;
        let ids = names
            .iter()
            .filter_map(|name| SessionId::from_stream_name(name))
            .collect();
        Ok((ids, more))
    }
}

/// Records an append put into the stream, as the writer hands them to this node's agents.
#[derive(Debug, Clone)]
pub enum Landed {
    /// Exactly what a read of the range returns: positions from the acknowledgement, and the
    /// timestamps the writer set (S2 kept them).
    Records(Vec<StoredRecord>),
    /// S2 changed the timestamps (a store whose clock is behind ours), so only a read of the
    /// stream up to `end` says what is there. `timestamp` is the last record's, as S2 set it.
    Unknown { end: u64, timestamp: u64 },
}

impl Landed {
    /// What an append of data records `bodies` (and possibly trailing commands) acknowledged
    /// with `ack` put in the stream, given that every data record was stamped `timestamp`.
    fn of(ack: Appended, bodies: Vec<Bytes>, timestamp: u64) -> Self {
        if ack.start.timestamp != timestamp || ack.end.timestamp != timestamp {
            return Landed::Unknown {
                end: ack.end.seq_num,
                timestamp: ack.end.timestamp,
            };
        }
        Landed::Records(
            bodies
                .into_iter()
                .zip(ack.start.seq_num..)
                .map(|(body, seq_num)| StoredRecord {
                    seq_num,
                    timestamp,
                    body,
                })
                .collect(),
        )
    }

    /// The sequence number after the last record.
    pub fn end(&self) -> Option<u64> {
        match self {
            Landed::Records(records) => records.last().map(|r| r.seq_num + 1),
            Landed::Unknown { end, .. } => Some(*end),
        }
    }

    /// The last record's timestamp as S2 keeps it.
    pub fn timestamp(&self) -> Option<u64> {
        match self {
            Landed::Records(records) => records.last().map(|r| r.timestamp),
            Landed::Unknown { timestamp, .. } => Some(*timestamp),
        }
    }
}

/// The stream of one session.
#[derive(Clone)]
pub struct SessionStream {
    id: SessionId,
    name: String,
    streams: Streams,
    max_event_bytes: usize,
}

impl SessionStream {
    pub fn id(&self) -> SessionId {
        self.id
    }

    fn backend(&self) -> &dyn Backend {
        self.streams.backend()
    }

    /// A reassembler for this stream's records, bounded by the store's largest event.
    pub fn reassembler(&self) -> Reassembler {
        Reassembler::new(self.max_event_bytes)
    }

    fn error(&self, e: BackendError) -> StoreError {
        match e {
            BackendError::NotFound(_) => StoreError::NotFound(self.id),
            BackendError::FencingMismatch => StoreError::TakenOver(self.id),
            e => e.into(),
        }
    }

    /// Makes this node the session's only writer: appends `first` (stamped `timestamp`) and a
    /// fence with `token`, unless the session has ended.
    pub async fn claim(
        &self,
        first: &Event,
        token: &str,
        timestamp: u64,
    ) -> Result<Landed, StoreError> {
        for _ in 0..CLAIM_ATTEMPTS {
            let tail = self.tail().await?;
            if let Some(end) = self.end_record(tail.seq_num).await? {
                return Err(StoreError::Ended {
                    id: self.id,
                    end: Some(end),
                });
            }
            let bodies = frame::encode(first);
            let mut records = data(&bodies, timestamp);
            records.push(AppendItem::Fence {
                token: token.to_string(),
                timestamp: Some(timestamp),
            });
            let condition = AppendCondition {
                fencing_token: None,
                match_seq_num: Some(tail.seq_num),
            };
            match self.backend().append(&self.name, records, condition).await {
                Ok(ack) => return Ok(Landed::of(ack, bodies, timestamp)),
                Err(BackendError::SeqNumMismatch(_)) => continue,
                Err(e) => return Err(self.error(e)),
            }
        }
        Err(StoreError::Contended(self.id))
    }

    /// Appends events in order with the claim's token, every record stamped `timestamp` (the
    /// writer keeps it increasing and never ahead of the clock). Fails with `TakenOver` once
    /// another node has claimed the session (or it was sealed).
    pub async fn append(
        &self,
        events: &[Event],
        token: &str,
        timestamp: u64,
    ) -> Result<Vec<Landed>, StoreError> {
        let bodies: Vec<Bytes> = events.iter().flat_map(frame::encode).collect();
        let mut landed = Vec::new();
        for batch in crate::store::batches(data(&bodies, timestamp)) {
            let batch_bodies = batch.iter().filter_map(AppendItem::body).collect();
            let condition = AppendCondition {
                fencing_token: Some(token.to_string()),
                match_seq_num: None,
            };
            let ack = self
                .backend()
                .append(&self.name, batch, condition)
                .await
                .map_err(|e| self.error(e))?;
            landed.push(Landed::of(ack, batch_bodies, timestamp));
        }
        Ok(landed)
    }

    /// Appends the `end` record and seals the stream with a fencing token nobody holds.
    pub async fn seal(
        &self,
        end: &Event,
        token: &str,
        timestamp: u64,
    ) -> Result<Option<Landed>, StoreError> {
        let bodies = frame::encode(end);
        let mut records = data(&bodies, timestamp);
        records.push(AppendItem::Fence {
            token: uuid::Uuid::new_v4().simple().to_string(),
            timestamp: Some(timestamp),
        });
        let condition = AppendCondition {
            fencing_token: Some(token.to_string()),
            match_seq_num: None,
        };
        match self.backend().append(&self.name, records, condition).await {
            Ok(ack) => Ok(Some(Landed::of(ack, bodies, timestamp))),
            // Someone else holds the stream now: if that is because it was sealed, it is ended.
            Err(BackendError::FencingMismatch) => {
                let tail = self.tail().await?;
                match self.end_record(tail.seq_num).await? {
                    Some(_) => Ok(None),
                    None => Err(StoreError::TakenOver(self.id)),
                }
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// The next sequence number and the timestamp of the last record.
    pub async fn tail(&self) -> Result<Position, StoreError> {
        self.backend()
            .check_tail(&self.name)
            .await
            .map_err(|e| self.error(e))
    }

    /// The session's `start` record: its first, if that is a `start` this release can read
    /// (`None` too for a stream trimmed past it).
    pub async fn start(&self) -> Result<Option<SessionStart>, StoreError> {
        Ok(self
            .first_event(0)
            .await?
            .as_ref()
            .and_then(StoredEvent::session_start))
    }

    /// The session's `end` record, if the last records of a stream whose tail is `tail` hold one.
    /// The record's kind says the session ended: a body this release cannot read (a reason a
    /// newer release added) still counts, as `ended` at the record's time, or a claim would land
    /// after it (docs/protocol.md §13.2).
    pub async fn end_record(&self, tail: u64) -> Result<Option<SessionEnd>, StoreError> {
        if tail == 0 {
            return Ok(None);
        }
        let records = self
            .read(ReadFrom::SeqNum(tail.saturating_sub(2)), 2)
            .await?;
        let mut reassembler = self.reassembler();
        for record in records {
            if let Ok(Some(stored)) =
                reassembler.push(record.seq_num, record.timestamp, &record.body)
                && stored.event.kind == RecordKind::End
            {
                let end = serde_json::from_slice(&stored.event.body).unwrap_or(SessionEnd {
                    reason: EndReason::Ended,
                    ended_ms: stored.timestamp,
                });
                return Ok(Some(end));
            }
        }
        Ok(None)
    }

    /// Up to `max` data records from `from` (command records are skipped); empty at the tail.
    pub async fn read(&self, from: ReadFrom, max: usize) -> Result<Vec<StoredRecord>, StoreError> {
        self.backend()
            .read(&self.name, from, max)
            .await
            .map_err(|e| self.error(e))
    }

    /// The first whole event at or after sequence number `from`, if any.
    pub async fn first_event(&self, from: u64) -> Result<Option<StoredEvent>, StoreError> {
        let records = self.read(ReadFrom::SeqNum(from), 32).await?;
        let mut reassembler = self.reassembler();
        for record in records {
            if let Ok(Some(stored)) =
                reassembler.push(record.seq_num, record.timestamp, &record.body)
            {
                return Ok(Some(stored));
            }
        }
        Ok(None)
    }

    /// Follows the stream from `from` as records are appended.
    pub async fn follow(&self, from: u64) -> Result<Follow, StoreError> {
        self.backend()
            .follow(&self.name, ReadFrom::SeqNum(from))
            .await
            .map_err(|e| self.error(e))
    }
}

fn data(bodies: &[Bytes], timestamp: u64) -> Vec<AppendItem> {
    bodies
        .iter()
        .map(|body| AppendItem::Data {
            body: body.clone(),
            timestamp: Some(timestamp),
        })
        .collect()
}

/// The stream of signals from agents to trackers, shared by every node.
#[derive(Clone)]
pub struct SignalStream {
    streams: Streams,
}

impl SignalStream {
    /// Appends signal records in order. No fencing: every node appends here.
    pub async fn append(&self, bodies: Vec<Bytes>) -> Result<(), StoreError> {
        let records = bodies
            .into_iter()
            .map(|body| AppendItem::Data {
                body,
                timestamp: None,
            })
            .collect();
        self.streams
            .append_all(SIGNAL_STREAM, records, AppendCondition::default())
            .await
            .map_err(|e| StoreError::Unavailable(format!("appending signals: {e}")))?;
        Ok(())
    }

    /// Follows from the stream's tail: a node cares only for signals sent after it started.
    pub async fn follow_from_tail(&self) -> Result<Follow, StoreError> {
        Ok(self
            .streams
            .backend()
            .follow(SIGNAL_STREAM, ReadFrom::TailOffset(0))
            .await?)
    }
}

/// Resolves where a reader asked to start into a sequence number.
pub async fn resolve_start(stream: &SessionStream, from: ReadFrom) -> Result<u64, StoreError> {
    match from {
        ReadFrom::SeqNum(n) => Ok(n),
        ReadFrom::TailOffset(_) => Ok(stream.tail().await?.seq_num),
        ReadFrom::Timestamp(_) => {
            let records = stream.read(from, 1).await?;
            match records.first() {
                Some(r) => Ok(r.seq_num),
                None => Ok(stream.tail().await?.seq_num),
            }
        }
    }
}

/// Reads a whole session, reassembled, from `from` to the tail as it is now.
pub async fn read_all(
    stream: &SessionStream,
    from: u64,
) -> Result<futures::stream::BoxStream<'static, Result<StoredEvent, StoreError>>, StoreError> {
    let end = stream.tail().await?.seq_num;
    let state = (stream.clone(), from, stream.reassembler(), end);
    let batches = futures::stream::try_unfold(state, |(stream, next, mut re, end)| async move {
        if next >= end {
            return Ok::<_, StoreError>(None);
        }
        let records = stream.read(ReadFrom::SeqNum(next), 1000).await?;
        let Some(last) = records.last().map(|r| r.seq_num) else {
            return Ok(None);
        };
        let events: Vec<Result<StoredEvent, StoreError>> = records
            .iter()
            .filter(|r| r.seq_num < end)
            .filter_map(|r| re.push(r.seq_num, r.timestamp, &r.body).ok().flatten())
            .map(Ok)
            .collect();
        Ok(Some((
            futures::stream::iter(events),
            (stream, last + 1, re, end),
        )))
    });
    Ok(Box::pin(batches.try_flatten()))
}
