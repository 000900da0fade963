//! S2 access: the basin, and the one stream each session is.
//!
//! Writes follow one rule: a node writes to a session only after claiming it, and every append
//! carries the claim's fencing token. Claiming is a conditional append (`match_seq_num` = the tail
//! just checked) of the node's first record plus a `fence` command, so a claim can never land after
//! an `end` record: an ended session stays ended. Sealing appends `end` and a fence with a token
//! nobody holds, in one batch.

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use s2_sdk::error::{AppendConditionFailed, AppendError, ReadError, RequestError};
use s2_sdk::read_session::ReadSession;
use s2_sdk::types::{
    AppendInput, AppendRecord, AppendRecordBatch, AppendRetryPolicy, BasinConfig, BasinName,
    CommandRecord, CreateStreamInput, DeleteOnEmptyConfig, EnsureBasinInput, EnsureStreamInput,
    FencingToken, ListStreamsInput, ReadFrom, ReadInput, ReadLimits, ReadSessionConfig,
    ReadSessionRetryPolicy, ReadStart, ReadStop, RetentionPolicy, RetryConfig, S2Config,
    S2Endpoints, SequencedRecord, StreamConfig, StreamNamePrefix, StreamNameStartAfter,
    StreamPosition,
};
use s2_sdk::{S2, S2Basin, S2Stream};

use crate::frame::{self, Event, Reassembler, StoredEvent};
use crate::protocol::{RecordKind, SessionEnd};
use crate::session::{STREAM_PREFIX, SessionId};

/// S2 accepts at most 1000 records and 1 MiB (metered) per append.
const MAX_BATCH_RECORDS: usize = 1000;
const MAX_BATCH_METERED: usize = 1_000_000;
/// Metered size of a record with no headers: 8 bytes plus its body.
const RECORD_OVERHEAD: usize = 8;
const CLAIM_ATTEMPTS: usize = 8;
/// The deployment-wide stream agents' signals travel through (docs/protocol.md §9.1).
pub const SIGNAL_STREAM: &str = "cluster/signals";
/// Signals matter for seconds; an hour is plenty to debug with.
const SIGNAL_RETENTION: Duration = Duration::from_secs(3600);

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

impl From<RequestError> for StoreError {
    fn from(e: RequestError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// Where and how to reach S2.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub endpoint: Option<String>,
    pub token: String,
    pub basin: String,
    pub retention: Duration,
}

/// The basin that holds every session stream of this deployment.
#[derive(Clone)]
pub struct Store {
    basin: S2Basin,
    stream_config: StreamConfig,
}

impl Store {
    /// Connects, and creates the basin if it is missing.
    pub async fn connect(config: &StoreConfig) -> Result<Self, StoreError> {
        // Appends are retried only when S2 certainly did not apply them: a blind retry could
        // store a claim or a seal twice. A failed append fails the batch, and the tracker resends.
        let retry = RetryConfig::new().with_append_retry_policy(AppendRetryPolicy::NoSideEffects);
        let mut s2_config = S2Config::new(config.token.clone())
            .with_connection_timeout(Duration::from_secs(5))
            .with_request_timeout(Duration::from_secs(10))
            .with_retry(retry);
        if let Some(endpoint) = &config.endpoint {
            let endpoints = S2Endpoints::for_endpoint(endpoint)
                .map_err(|e| StoreError::Config(format!("--s2-endpoint {endpoint}: {e}")))?;
            s2_config = s2_config.with_endpoints(endpoints);
        }
        let s2 = S2::new(s2_config).map_err(|e| {
            StoreError::Config(format!(
                "{e} (the S2 client loads the system's CA certificates even for http://; \
                 install ca-certificates)"
            ))
        })?;
        let basin_name: BasinName = config.basin.parse().map_err(|e| {
            StoreError::Config(format!("--basin {}: {e} (8-48 of [a-z0-9-])", config.basin))
        })?;
        let stream_config = StreamConfig::new()
            .with_retention_policy(RetentionPolicy::Age(config.retention.as_secs().max(1)))
            .with_delete_on_empty(
                DeleteOnEmptyConfig::new().with_min_age(Duration::from_secs(3600)),
            );
        s2.ensure_basin(
            EnsureBasinInput::new(basin_name.clone())
                .with_config(BasinConfig::new().with_default_stream_config(stream_config.clone())),
        )
        .await
        .map_err(|e| StoreError::Unavailable(format!("creating basin {}: {e}", config.basin)))?;
        Ok(Self {
            basin: s2.basin(basin_name),
            stream_config,
        })
    }

    /// The basin, for streams other than sessions' (call recordings).
    pub(crate) fn basin(&self) -> &S2Basin {
        &self.basin
    }

    /// How session streams are configured; recordings kept beside them share it.
    pub(crate) fn stream_config(&self) -> &StreamConfig {
        &self.stream_config
    }

    /// Cheap round trip for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.basin
            .list_streams(ListStreamsInput::new().with_limit(1))
            .await?;
        Ok(())
    }

    pub fn session(&self, id: SessionId) -> SessionStream {
        SessionStream {
            id,
            stream: self.basin.stream(
                id.stream_name()
                    .parse()
                    .expect("session stream names are valid"),
            ),
        }
    }

    /// Creates the stream of a new session.
    pub async fn create_session(&self, id: SessionId) -> Result<SessionStream, StoreError> {
        let name = id.stream_name().parse().expect("valid stream name");
        self.basin
            .create_stream(CreateStreamInput::new(name).with_config(self.stream_config.clone()))
            .await?;
        Ok(self.session(id))
    }

    /// The signal stream, created if missing. It is never deleted when empty: nodes append to it
    /// at any time.
    pub async fn signal_stream(&self) -> Result<SignalStream, StoreError> {
        let name: s2_sdk::types::StreamName = SIGNAL_STREAM.parse().expect("valid stream name");
        let config = StreamConfig::new()
            .with_retention_policy(RetentionPolicy::Age(SIGNAL_RETENTION.as_secs()))
            .with_delete_on_empty(DeleteOnEmptyConfig::new().with_min_age(Duration::ZERO));
        self.basin
            .ensure_stream(EnsureStreamInput::new(name.clone()).with_config(config))
            .await?;
        Ok(SignalStream {
            stream: self.basin.stream(name),
        })
    }

    /// One page of session ids, newest first, after the session `after`.
    pub async fn list_sessions(
        &self,
        after: Option<SessionId>,
        limit: usize,
    ) -> Result<(Vec<SessionId>, bool), StoreError> {
        let prefix: StreamNamePrefix = STREAM_PREFIX.parse().expect("valid prefix");
        let mut input = ListStreamsInput::new()
            .with_prefix(prefix)
            .with_limit(limit.clamp(1, 1000));
        if let Some(after) = after {
            let start_after: StreamNameStartAfter =
                after.stream_name().parse().expect("valid stream name");
            input = input.with_start_after(start_after);
        }
        let page = self.basin.list_streams(input).await?;
        let ids = page
            .values
            .iter()
            .filter(|info| info.deleted_at.is_none())
            .filter_map(|info| SessionId::from_stream_name(&info.name))
            .collect();
        Ok((ids, page.has_more))
    }
}

/// The stream of one session.
#[derive(Clone)]
pub struct SessionStream {
    id: SessionId,
    stream: S2Stream,
}

impl SessionStream {
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// Makes this node the session's only writer: appends `first` and a fence with `token`,
    /// unless the session has ended.
    pub async fn claim(&self, first: &Event, token: &FencingToken) -> Result<(), StoreError> {
        for _ in 0..CLAIM_ATTEMPTS {
            let tail = self.tail().await?;
            if let Some(end) = self.end_record(tail.seq_num).await? {
                return Err(StoreError::Ended {
                    id: self.id,
                    end: Some(end),
                });
            }
            let mut records = records_of(first)?;
            records.push(CommandRecord::fence(token.clone()).into());
            let batch = AppendRecordBatch::try_from_iter(records)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            match self
                .stream
                .append(AppendInput::new(batch).with_match_seq_num(tail.seq_num))
                .await
            {
                Ok(_) => return Ok(()),
                Err(AppendError::ConditionFailed(AppendConditionFailed::SeqNumMismatch(_))) => {
                    continue;
                }
                Err(e) => return Err(StoreError::Unavailable(e.to_string())),
            }
        }
        Err(StoreError::Contended(self.id))
    }

    /// Appends events in order with the claim's token. Fails with `TakenOver` once another node
    /// has claimed the session (or it was sealed).
    pub async fn append(&self, events: &[Event], token: &FencingToken) -> Result<(), StoreError> {
        let mut records = Vec::new();
        for event in events {
            records.extend(records_of(event)?);
        }
        for batch in into_batches(records) {
            let input = AppendInput::new(batch).with_fencing_token(token.clone());
            match self.stream.append(input).await {
                Ok(_) => {}
                Err(AppendError::ConditionFailed(AppendConditionFailed::FencingTokenMismatch(
                    _,
                ))) => return Err(StoreError::TakenOver(self.id)),
                Err(e) => return Err(self.classify(e)),
            }
        }
        Ok(())
    }

    /// Appends the `end` record and seals the stream with a fencing token nobody holds.
    pub async fn seal(&self, end: &Event, token: &FencingToken) -> Result<(), StoreError> {
        let mut records = records_of(end)?;
        let seal = FencingToken::generate(36).expect("36 bytes is a valid token length");
        records.push(CommandRecord::fence(seal).into());
        let batch = AppendRecordBatch::try_from_iter(records)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        match self
            .stream
            .append(AppendInput::new(batch).with_fencing_token(token.clone()))
            .await
        {
            Ok(_) => Ok(()),
            // Someone else holds the stream now: if that is because it was sealed, it is ended.
            Err(AppendError::ConditionFailed(AppendConditionFailed::FencingTokenMismatch(_))) => {
                let tail = self.tail().await?;
                match self.end_record(tail.seq_num).await? {
                    Some(_) => Ok(()),
                    None => Err(StoreError::TakenOver(self.id)),
                }
            }
            Err(e) => Err(self.classify(e)),
        }
    }

    fn classify(&self, e: AppendError) -> StoreError {
        if is_not_found(e.request_error()) {
            StoreError::NotFound(self.id)
        } else {
            StoreError::Unavailable(e.to_string())
        }
    }

    /// The next sequence number and the timestamp of the last record.
    pub async fn tail(&self) -> Result<StreamPosition, StoreError> {
        self.stream
            .check_tail()
            .await
            .map_err(|e| self.read_error(e))
    }

    fn read_error(&self, e: ReadError) -> StoreError {
        match &e {
            ReadError::Request(r) if is_not_found(Some(r)) => StoreError::NotFound(self.id),
            _ => StoreError::Unavailable(e.to_string()),
        }
    }

    /// The session's `end` record, if the last records of a stream whose tail is `tail` hold one.
    pub async fn end_record(&self, tail: u64) -> Result<Option<SessionEnd>, StoreError> {
        if tail == 0 {
            return Ok(None);
        }
        let records = self
            .read(ReadFrom::SeqNum(tail.saturating_sub(2)), 2)
            .await?;
        let mut reassembler = Reassembler::new();
        for record in records {
            if let Ok(Some(stored)) =
                reassembler.push(record.seq_num, record.timestamp, &record.body)
                && stored.event.kind == RecordKind::End
            {
                return Ok(serde_json::from_slice(&stored.event.body).ok());
            }
        }
        Ok(None)
    }

    /// Up to `max` data records from `from` (command records are skipped); empty at the tail.
    pub async fn read(
        &self,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<SequencedRecord>, StoreError> {
        let input = ReadInput::new()
            .with_start(ReadStart::new().with_from(from))
            .with_stop(ReadStop::new().with_limits(ReadLimits::new().with_count(max)))
            .with_ignore_command_records(true);
        match self.stream.read(input).await {
            Ok(batch) => Ok(batch.records),
            Err(ReadError::ReadUnwritten(_)) => Ok(Vec::new()),
            Err(e) => Err(self.read_error(e)),
        }
    }

    /// The first whole event at or after sequence number `from`, if any.
    pub async fn first_event(&self, from: u64) -> Result<Option<StoredEvent>, StoreError> {
        let records = self.read(ReadFrom::SeqNum(from), 32).await?;
        let mut reassembler = Reassembler::new();
        for record in records {
            if let Ok(Some(stored)) =
                reassembler.push(record.seq_num, record.timestamp, &record.body)
            {
                return Ok(Some(stored));
            }
        }
        Ok(None)
    }

    /// A read session that follows the stream from `from` as records are appended.
    pub async fn follow(&self, from: u64) -> Result<ReadSession, StoreError> {
        follow(&self.stream, ReadFrom::SeqNum(from)).await
    }
}

/// The stream of signals from agents to trackers, shared by every node.
#[derive(Clone)]
pub struct SignalStream {
    stream: S2Stream,
}

impl SignalStream {
    /// Appends signal records in order. No fencing: every node appends here.
    pub async fn append(&self, bodies: Vec<Bytes>) -> Result<(), StoreError> {
        let records = bodies
            .into_iter()
            .map(|body| AppendRecord::new(body).map_err(|e| StoreError::Unavailable(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        for batch in into_batches(records) {
            self.stream
                .append(AppendInput::new(batch))
                .await
                .map_err(|e| StoreError::Unavailable(format!("appending signals: {e}")))?;
        }
        Ok(())
    }

    /// A read session from the stream's tail: a node cares only for signals sent after it
    /// started.
    pub async fn follow_from_tail(&self) -> Result<ReadSession, StoreError> {
        follow(&self.stream, ReadFrom::TailOffset(0)).await
    }
}

/// A read session that retries for as long as it takes, skipping fences.
async fn follow(stream: &S2Stream, from: ReadFrom) -> Result<ReadSession, StoreError> {
    let input = ReadInput::new()
        .with_start(ReadStart::new().with_from(from))
        .with_ignore_command_records(true);
    let config = ReadSessionConfig::new().with_retry_policy(ReadSessionRetryPolicy::Indefinite);
    stream
        .read_session(input, config)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))
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

pub(crate) fn is_not_found(e: Option<&RequestError>) -> bool {
    matches!(e, Some(RequestError::Server(s)) if s.code == "stream_not_found")
}

fn records_of(event: &Event) -> Result<Vec<AppendRecord>, StoreError> {
    frame::encode(event)
        .into_iter()
        .map(|body| AppendRecord::new(body).map_err(|e| StoreError::Unavailable(e.to_string())))
        .collect()
}

fn into_batches(records: Vec<AppendRecord>) -> Vec<AppendRecordBatch> {
    let mut batches = Vec::new();
    let mut current: Vec<AppendRecord> = Vec::new();
    let mut metered = 0;
    for record in records {
        let size = record.body().len() + RECORD_OVERHEAD;
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
        .into_iter()
        .map(|b| AppendRecordBatch::try_from_iter(b).expect("batches are sized within S2 limits"))
        .collect()
}

/// Reads a whole session, reassembled, from `from` to the tail as it is now.
pub async fn read_all(
    stream: &SessionStream,
    from: u64,
) -> Result<futures::stream::BoxStream<'static, Result<StoredEvent, StoreError>>, StoreError> {
    let end = stream.tail().await?.seq_num;
    let stream = stream.clone();
    let state = (stream, from, Reassembler::new(), end);
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

/// Bytes of a body that is already known-good JSON.
pub fn json_bytes<T: serde::Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("protocol types serialize to JSON"))
}
