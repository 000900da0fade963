//! The store as direct calls into s2-lite's engine, for the embedded default: the same
//! operations s2-lite's HTTP handlers make, without the HTTP/2 client, the loopback socket and
//! the protobuf encoding on each side of it. Measured in docs/benchmarks.md.

use async_trait::async_trait;
use futures::{Stream, StreamExt};
use s2_common::basin::BasinName;
use s2_common::config::{
    BasinConfig, OptionalDeleteOnEmptyConfig, OptionalStreamConfig, RetentionPolicy,
};
use s2_common::read_extent::{ReadLimit, ReadUntil};
use s2_common::record::{
    CommandRecord, EnvelopeRecord, FencingToken, Metered, MeteredExt, Record, Sequenced,
};
use s2_common::resources::{ListItemsRequest, ProvisionMode};
use s2_common::stream::{
    AppendInput, AppendRecord, AppendRecordBatch, AppendRecordParts, ReadEnd, ReadSessionOutput,
    ReadStart, StreamName,
};
use s2_lite::backend::Backend as Engine;
use s2_lite::backend::error::{
    AppendConditionFailedError, AppendError, CheckTailError, DeleteStreamError,
    ProvisionStreamError, ReadError,
};

use super::{
    AppendCondition, AppendItem, Appended, Backend, BackendError, Follow, Position, ReadFrom,
    StoredRecord, StreamSettings,
};

/// s2-lite's engine in this process, and the basin of this deployment in it.
pub struct LiteBackend {
    engine: Engine,
    basin: BasinName,
}

impl LiteBackend {
    /// Creates the basin (with `settings` as its streams' default) if missing.
    pub async fn open(
        engine: Engine,
        basin: &str,
        settings: StreamSettings,
    ) -> Result<Self, BackendError> {
        let basin: BasinName = basin.parse().map_err(|e| {
            BackendError::Config(format!("--basin {basin}: {e} (8-48 of [a-z0-9-])"))
        })?;
        let config = BasinConfig {
            default_stream_config: stream_config(settings),
            ..Default::default()
        };
        engine
            .provision_basin(basin.clone(), config, ProvisionMode::Ensure)
            .await
            .map_err(|e| BackendError::Unavailable(format!("creating basin {basin}: {e}")))?;
        Ok(Self { engine, basin })
    }
}

impl LiteBackend {
    /// A read session on `stream` from `from` until `end`: the outer error is opening the
    /// stream, the inner one starting the read (which callers treat differently at the tail).
    async fn read_session(
        &self,
        stream: &str,
        from: ReadFrom,
        end: ReadEnd,
    ) -> Result<
        Result<impl Stream<Item = Result<ReadSessionOutput, ReadError>> + 'static, ReadError>,
        BackendError,
    > {
        let handle = self
            .engine
            .open_for_read(&self.basin, &name(stream)?, None, Default::default())
            .await
            .map_err(|e| read_error(stream, e))?;
        Ok(handle.read(read_start(from), end).await)
    }

    /// Creates `stream` as `mode` says.
    async fn provision(
        &self,
        stream: &str,
        settings: StreamSettings,
        mode: ProvisionMode,
    ) -> Result<(), BackendError> {
        match self
            .engine
            .provision_stream(
                self.basin.clone(),
                name(stream)?,
                stream_config(settings),
                mode,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(ProvisionStreamError::StreamAlreadyExists(_)) => {
                Err(BackendError::AlreadyExists(stream.into()))
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn stream_config(settings: StreamSettings) -> OptionalStreamConfig {
    OptionalStreamConfig {
        retention_policy: Some(RetentionPolicy::Age(settings.retention)),
        delete_on_empty: OptionalDeleteOnEmptyConfig {
            min_age: Some(settings.delete_on_empty_after),
        },
        ..Default::default()
    }
}

fn name(stream: &str) -> Result<StreamName, BackendError> {
    stream
        .parse()
        .map_err(|e| BackendError::Config(format!("stream name {stream:?}: {e}")))
}

fn unavailable(e: impl std::fmt::Display) -> BackendError {
    BackendError::Unavailable(e.to_string())
}

fn read_error(stream: &str, e: ReadError) -> BackendError {
    match e {
        ReadError::StreamNotFound(_) | ReadError::StreamDeletionPending(_) => {
            BackendError::NotFound(stream.into())
        }
        e => unavailable(e),
    }
}

fn record(item: AppendItem) -> Result<AppendRecord, BackendError> {
    let (record, timestamp) = match item {
        AppendItem::Data { body, timestamp } => (
            Record::Envelope(
                EnvelopeRecord::try_from_parts(Vec::new(), body).map_err(unavailable)?,
            ),
            timestamp,
        ),
        AppendItem::Fence { token, timestamp } => {
            let token: FencingToken = token
                .parse()
                .map_err(|e| BackendError::Config(format!("fencing token: {e}")))?;
            (Record::Command(CommandRecord::Fence(token)), timestamp)
        }
    };
    AppendRecordParts {
        timestamp,
        record: record.metered(),
    }
    .try_into()
    .map_err(unavailable)
}

/// The data records of a batch; fences are the store's business, not a reader's.
fn data_records(records: Metered<Vec<Sequenced<Record>>>) -> Vec<StoredRecord> {
    records
        .into_inner()
        .into_iter()
        .filter_map(|sequenced| {
            let (position, record) = sequenced.into_parts();
            match record {
                Record::Envelope(envelope) => Some(StoredRecord {
                    seq_num: position.seq_num,
                    timestamp: position.timestamp,
                    body: envelope.body().clone(),
                }),
                Record::Command(_) => None,
            }
        })
        .collect()
}

fn read_start(from: ReadFrom) -> ReadStart {
    let from = match from {
        ReadFrom::SeqNum(n) => s2_common::stream::ReadFrom::SeqNum(n),
        ReadFrom::Timestamp(t) => s2_common::stream::ReadFrom::Timestamp(t),
        ReadFrom::TailOffset(n) => s2_common::stream::ReadFrom::TailOffset(n),
    };
    ReadStart { from, clamp: false }
}

#[async_trait]
impl Backend for LiteBackend {
    async fn append(
        &self,
        stream: &str,
        records: Vec<AppendItem>,
        condition: AppendCondition,
    ) -> Result<Appended, BackendError> {
        let records = records
            .into_iter()
            .map(record)
            .collect::<Result<Vec<_>, _>>()?;
        let fencing_token = match condition.fencing_token {
            Some(token) => Some(
                token
                    .parse()
                    .map_err(|e| BackendError::Config(format!("fencing token: {e}")))?,
            ),
            None => None,
        };
        let input = AppendInput {
            records: AppendRecordBatch::try_from(records).map_err(unavailable)?,
            match_seq_num: condition.match_seq_num,
            fencing_token,
        };
        let handle = self
            .engine
            .open_for_append(&self.basin, &name(stream)?, None, Default::default())
            .await;
        let result = match handle {
            Ok(handle) => handle.append(input).await,
            Err(e) => Err(e),
        };
        match result {
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
            Err(AppendError::ConditionFailed(
                AppendConditionFailedError::FencingTokenMismatch { .. },
            )) => Err(BackendError::FencingMismatch),
            Err(AppendError::ConditionFailed(AppendConditionFailedError::SeqNumMismatch {
                assigned_seq_num,
                ..
            })) => Err(BackendError::SeqNumMismatch(assigned_seq_num)),
            Err(AppendError::StreamNotFound(_) | AppendError::StreamDeletionPending(_)) => {
                Err(BackendError::NotFound(stream.into()))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<StoredRecord>, BackendError> {
        let end = ReadEnd {
            limit: ReadLimit::Count(max.clamp(1, super::MAX_BATCH_RECORDS)),
            until: ReadUntil::Unbounded,
            wait: Some(std::time::Duration::ZERO),
        };
        let session = match self.read_session(stream, from, end).await? {
            Ok(session) => session,
            Err(ReadError::Unwritten(_)) => return Ok(Vec::new()),
            Err(e) => return Err(read_error(stream, e)),
        };
        let mut session = std::pin::pin!(session);
        let mut records = Vec::new();
        while let Some(output) = session.next().await {
            match output {
                Ok(ReadSessionOutput::Batch(batch)) => records.extend(data_records(batch.records)),
                Ok(ReadSessionOutput::Heartbeat(_)) => {}
                Err(ReadError::Unwritten(_)) => break,
                Err(e) => return Err(read_error(stream, e)),
            }
        }
        Ok(records)
    }

    async fn check_tail(&self, stream: &str) -> Result<Position, BackendError> {
        let handle = self
            .engine
            .open_for_check_tail(&self.basin, &name(stream)?)
            .await;
        let result = match handle {
            Ok(handle) => handle.check_tail().await,
            Err(e) => Err(e),
        };
        match result {
            Ok(tail) => Ok(Position {
                seq_num: tail.seq_num,
                timestamp: tail.timestamp,
            }),
            Err(CheckTailError::StreamNotFound(_) | CheckTailError::StreamDeletionPending(_)) => {
                Err(BackendError::NotFound(stream.into()))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn follow(&self, stream: &str, from: ReadFrom) -> Result<Follow, BackendError> {
        let session = self
            .read_session(stream, from, ReadEnd::default())
            .await?
            .map_err(|e| read_error(stream, e))?;
        let stream = stream.to_string();
        Ok(session
            .filter_map(move |output| {
                let item = match output {
                    Ok(ReadSessionOutput::Batch(batch)) => {
                        let records = data_records(batch.records);
                        (!records.is_empty()).then_some(Ok(records))
                    }
                    Ok(ReadSessionOutput::Heartbeat(_)) => None,
                    Err(e) => Some(Err(read_error(&stream, e))),
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
        let mode = ProvisionMode::CreateOnly {
            request_token: None,
        };
        self.provision(stream, settings, mode).await
    }

    async fn ensure_stream(
        &self,
        stream: &str,
        settings: StreamSettings,
    ) -> Result<(), BackendError> {
        self.provision(stream, settings, ProvisionMode::Ensure)
            .await
    }

    async fn delete_stream(&self, stream: &str) -> Result<(), BackendError> {
        match self
            .engine
            .delete_stream(self.basin.clone(), name(stream)?)
            .await
        {
            Ok(()) => Ok(()),
            Err(DeleteStreamError::StreamNotFound(_)) => Err(BackendError::NotFound(stream.into())),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn list_streams(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, bool), BackendError> {
        let request = ListItemsRequest {
            prefix: prefix
                .parse()
                .map_err(|e| BackendError::Config(format!("stream prefix {prefix:?}: {e}")))?,
            start_after: start_after
                .unwrap_or_default()
                .parse()
                .map_err(|e| BackendError::Config(format!("stream name {start_after:?}: {e}")))?,
            limit: limit.clamp(1, 1000).into(),
        };
        let page = self
            .engine
            .list_streams(self.basin.clone(), request)
            .await
            .map_err(unavailable)?;
        let names = page
            .values
            .into_iter()
            .filter(|info| info.deleted_at.is_none())
            .map(|info| info.name.to_string())
            .collect();
        Ok((names, page.has_more))
    }
}
