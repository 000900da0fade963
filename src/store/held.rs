//! Test support: the embedded store with appends to some streams held while a gate is shut, which
//! is what S2 stalling looks like to the code above it (a writer's queue filling up, a lookup
//! waiting on its append). Reads and everything else go straight through.

use async_trait::async_trait;
use tokio::sync::watch;

use super::lite::LiteBackend;
use super::{
    AppendCondition, AppendItem, Appended, Backend, BackendError, Follow, Position, ReadFrom,
    StoredRecord, StreamSettings,
};

pub struct HeldAppends {
    inner: LiteBackend,
    /// Streams whose names start with this have their appends held.
    prefix: &'static str,
    /// `false` holds them; setting it `true` lets them through.
    pub open: watch::Sender<bool>,
}

impl HeldAppends {
    /// Open (appends flow) until the test shuts `open`.
    pub fn new(inner: LiteBackend, prefix: &'static str) -> Self {
        let (open, _) = watch::channel(true);
        Self {
            inner,
            prefix,
            open,
        }
    }
}

#[async_trait]
impl Backend for HeldAppends {
    async fn append(
        &self,
        stream: &str,
        records: Vec<AppendItem>,
        condition: AppendCondition,
    ) -> Result<Appended, BackendError> {
        if stream.starts_with(self.prefix) {
            let _ = self.open.subscribe().wait_for(|open| *open).await;
        }
        self.inner.append(stream, records, condition).await
    }
    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<StoredRecord>, BackendError> {
        self.inner.read(stream, from, max).await
    }
    async fn check_tail(&self, stream: &str) -> Result<Position, BackendError> {
        self.inner.check_tail(stream).await
    }
    async fn follow(&self, stream: &str, from: ReadFrom) -> Result<Follow, BackendError> {
        self.inner.follow(stream, from).await
    }
    async fn create_stream(
        &self,
        stream: &str,
        settings: StreamSettings,
    ) -> Result<(), BackendError> {
        self.inner.create_stream(stream, settings).await
    }
    async fn ensure_stream(
        &self,
        stream: &str,
        settings: StreamSettings,
    ) -> Result<(), BackendError> {
        self.inner.ensure_stream(stream, settings).await
    }
    async fn delete_stream(&self, stream: &str) -> Result<(), BackendError> {
        self.inner.delete_stream(stream).await
    }
    async fn list_streams(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, bool), BackendError> {
        self.inner.list_streams(prefix, start_after, limit).await
    }
}
