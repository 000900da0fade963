//! The store through `s2-sdk`: S2 cloud, or s2-lite running as a separate `cobrowse store`.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use s2_sdk::error::{
    AppendConditionFailed, AppendError, ReadError, ReadSessionError, RequestError,
};
use s2_sdk::types::{
    AppendInput, AppendRecord, AppendRecordBatch, AppendRetryPolicy, BasinConfig, BasinName,
    CommandRecord, CreateStreamInput, DeleteOnEmptyConfig, DeleteStreamInput, EnsureBasinInput,
    EnsureStreamInput, FencingToken, ListStreamsInput, ReadInput, ReadLimits, ReadSessionConfig,
    ReadSessionRetryPolicy, ReadStart, ReadStop, RetentionPolicy, RetryConfig, S2Config,
    S2Endpoints, SequencedRecord, StreamConfig, StreamName, StreamNamePrefix, StreamNameStartAfter,
};
use s2_sdk::{S2, S2Basin};

use super::{
    AppendCondition, AppendItem, Appended, Backend, BackendError, Follow, Position, ReadFrom,
    StoredRecord, StreamSettings,
};

/// Where and how to reach S2 over the network.
#[derive(Debug, Clone)]
pub struct SdkConfig {
    /// An s2-lite URL such as `http://127.0.0.1:7071`; `None` for S2 cloud.
    pub endpoint: Option<String>,
    pub token: String,
    pub basin: String,
}

pub struct SdkBackend {
    basin: S2Basin,
}

impl SdkBackend {
    /// Connects, and creates the basin (with `settings` as its streams' default) if missing.
    pub async fn connect(
        config: &SdkConfig,
        settings: StreamSettings,
    ) -> Result<Self, BackendError> {
        // Appends are retried only when S2 certainly did not apply them: a blind retry could
        // store a claim or a seal twice. A failed append fails the batch, and the tracker resends.
        let retry = RetryConfig::new().with_append_retry_policy(AppendRetryPolicy::NoSideEffects);
        let mut s2_config = S2Config::new(config.token.clone())
            .with_connection_timeout(Duration::from_secs(5))
            .with_request_timeout(Duration::from_secs(10))
            .with_retry(retry);
        if let Some(endpoint) = &config.endpoint {
            let endpoints = S2Endpoints::for_endpoint(endpoint)
                .map_err(|e| BackendError::Config(format!("--s2-endpoint {endpoint}: {e}")))?;
            s2_config = s2_config.with_endpoints(endpoints);
        }
        let s2 = S2::new(s2_config).map_err(|e| {
            BackendError::Config(format!(
                "{e} (the S2 client loads the system's CA certificates even for http://; \
                 install ca-certificates)"
            ))
        })?;
        let basin_name: BasinName = config.basin.parse().map_err(|e| {
            BackendError::Config(format!("--basin {}: {e} (8-48 of [a-z0-9-])", config.basin))
        })?;
        s2.ensure_basin(
            EnsureBasinInput::new(basin_name.clone()).with_config(
                BasinConfig::new().with_default_stream_config(stream_config(settings)),
            ),
        )
        .await
        .map_err(|e| BackendError::Unavailable(format!("creating basin {}: {e}", config.basin)))?;
        Ok(Self {
            basin: s2.basin(basin_name),
        })
    }
}

fn stream_config(settings: StreamSettings) -> StreamConfig {
    StreamConfig::new()
        .with_retention_policy(RetentionPolicy::Age(settings.retention.as_secs().max(1)))
        .with_delete_on_empty(
            DeleteOnEmptyConfig::new().with_min_age(settings.delete_on_empty_after),
        )
}

fn name(stream: &str) -> Result<StreamName, BackendError> {
    stream
        .parse()
        .map_err(|e| BackendError::Config(format!("stream name {stream:?}: {e}")))
}

fn is_not_found(e: Option<&RequestError>) -> bool {
    matches!(e, Some(RequestError::Server(s)) if s.code == "stream_not_found")
}

fn read_error(stream: &str, e: ReadError) -> BackendError {
    match &e {
        ReadError::Request(r) if is_not_found(Some(r)) => BackendError::NotFound(stream.into()),
        _ => BackendError::Unavailable(e.to_string()),
    }
}

fn read_session_error(stream: &str, e: ReadSessionError) -> BackendError {
    match e {
        ReadSessionError::Read(e) => read_error(stream, e),
        e => BackendError::Unavailable(e.to_string()),
    }
}

fn stored(records: Vec<SequencedRecord>) -> Vec<StoredRecord> {
    records
        .into_iter()
        .map(|r| StoredRecord {
            seq_num: r.seq_num,
            timestamp: r.timestamp,
            body: r.body,
        })
        .collect()
}

fn read_input(from: ReadFrom) -> ReadInput {
    let from = match from {
        ReadFrom::SeqNum(n) => s2_sdk::types::ReadFrom::SeqNum(n),
        ReadFrom::Timestamp(t) => s2_sdk::types::ReadFrom::Timestamp(t),
        ReadFrom::TailOffset(n) => s2_sdk::types::ReadFrom::TailOffset(n),
    };
    ReadInput::new()
        .with_start(ReadStart::new().with_from(from))
        .with_ignore_command_records(true)
}

#[async_trait]
impl Backend for SdkBackend {
    async fn append(
        &self,
        stream: &str,
        records: Vec<AppendItem>,
        condition: AppendCondition,
    ) -> Result<Appended, BackendError> {
        let records = records
            .into_iter()
            .map(|item| match item {
                AppendItem::Data { body, timestamp } => {
                    let record = AppendRecord::new(body)
                        .map_err(|e| BackendError::Unavailable(e.to_string()))?;
                    Ok(match timestamp {
                        Some(ts) => record.with_timestamp(ts),
                        None => record,
                    })
                }
                AppendItem::Fence { token, timestamp } => {
                    let record: AppendRecord = CommandRecord::fence(fencing_token(&token)?).into();
                    Ok(match timestamp {
                        Some(ts) => record.with_timestamp(ts),
                        None => record,
                    })
                }
            })
            .collect::<Result<Vec<_>, BackendError>>()?;
        let batch = AppendRecordBatch::try_from_iter(records)
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        let mut input = AppendInput::new(batch);
        if let Some(token) = &condition.fencing_token {
            input = input.with_fencing_token(fencing_token(token)?);
        }
        if let Some(seq) = condition.match_seq_num {
            input = input.with_match_seq_num(seq);
        }
        match self.basin.stream(name(stream)?).append(input).await {
            Ok(ack) => Ok(Appended {
                start: Position {
                    seq_num: ack.start.seq_num,
                    timestamp: ack.start.timestamp,
                },
                end: Position {
                    seq_num: ack.end.seq_num,
                    timestamp: ack.end.timestamp,
                },
            }),
            Err(AppendError::ConditionFailed(AppendConditionFailed::FencingTokenMismatch(_))) => {
                Err(BackendError::FencingMismatch)
            }
            Err(AppendError::ConditionFailed(AppendConditionFailed::SeqNumMismatch(seq))) => {
                Err(BackendError::SeqNumMismatch(seq))
            }
            Err(e) if is_not_found(e.request_error()) => Err(BackendError::NotFound(stream.into())),
            Err(e) => Err(BackendError::Unavailable(e.to_string())),
        }
    }

    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<StoredRecord>, BackendError> {
        let input = read_input(from)
            .with_stop(ReadStop::new().with_limits(ReadLimits::new().with_count(max)));
        match self.basin.stream(name(stream)?).read(input).await {
            Ok(batch) => Ok(stored(batch.records)),
            Err(ReadError::ReadUnwritten(_)) => Ok(Vec::new()),
            Err(e) => Err(read_error(stream, e)),
        }
    }

    async fn check_tail(&self, stream: &str) -> Result<Position, BackendError> {
        let tail = self
            .basin
            .stream(name(stream)?)
            .check_tail()
            .await
            .map_err(|e| read_error(stream, e))?;
        Ok(Position {
            seq_num: tail.seq_num,
            timestamp: tail.timestamp,
        })
    }

    async fn follow(&self, stream: &str, from: ReadFrom) -> Result<Follow, BackendError> {
        // Retries for as long as it takes: a follower outlives any blip of the network.
        let config = ReadSessionConfig::new().with_retry_policy(ReadSessionRetryPolicy::Indefinite);
        let session = self
            .basin
            .stream(name(stream)?)
            .read_session(read_input(from), config)
            .await
            .map_err(|e| read_session_error(stream, e))?;
        let stream = stream.to_string();
        Ok(session
            .filter_map(move |batch| {
                let item = match batch {
                    Ok(batch) if batch.records.is_empty() => None,
                    Ok(batch) => Some(Ok(stored(batch.records))),
                    Err(e) => Some(Err(read_session_error(&stream, e))),
                };
                std::future::ready(item)
            })
            .boxed())
    }

    async fn create_stream(
        &self,
        stream: &str,
        settings: StreamSettings,
    ) -> Result<(), BackendError> {
        match self
            .basin
            .create_stream(
                CreateStreamInput::new(name(stream)?).with_config(stream_config(settings)),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(RequestError::Server(s)) if s.code == "resource_already_exists" => {
                Err(BackendError::AlreadyExists(stream.into()))
            }
            Err(e) => Err(BackendError::Unavailable(e.to_string())),
        }
    }

    async fn ensure_stream(
        &self,
        stream: &str,
        settings: StreamSettings,
    ) -> Result<(), BackendError> {
        self.basin
            .ensure_stream(
                EnsureStreamInput::new(name(stream)?).with_config(stream_config(settings)),
            )
            .await
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        Ok(())
    }

    async fn delete_stream(&self, stream: &str) -> Result<(), BackendError> {
        match self
            .basin
            .delete_stream(DeleteStreamInput::new(name(stream)?))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(Some(&e)) => Err(BackendError::NotFound(stream.into())),
            Err(e) => Err(BackendError::Unavailable(e.to_string())),
        }
    }

    async fn list_streams(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, bool), BackendError> {
        let prefix: StreamNamePrefix = prefix
            .parse()
            .map_err(|e| BackendError::Config(format!("stream prefix {prefix:?}: {e}")))?;
        let mut input = ListStreamsInput::new()
            .with_prefix(prefix)
            .with_limit(limit.clamp(1, 1000));
        if let Some(after) = start_after {
            let after: StreamNameStartAfter = after
                .parse()
                .map_err(|e| BackendError::Config(format!("stream name {after:?}: {e}")))?;
            input = input.with_start_after(after);
        }
        let page = self
            .basin
            .list_streams(input)
            .await
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        let names = page
            .values
            .iter()
            .filter(|info| info.deleted_at.is_none())
            .map(|info| info.name.to_string())
            .collect();
        Ok((names, page.has_more))
    }
}

fn fencing_token(token: &str) -> Result<FencingToken, BackendError> {
    token
        .parse()
        .map_err(|e| BackendError::Config(format!("fencing token: {e}")))
}
