//! A [`Backend`] that counts its failures in the metrics, by operation, around whichever backend
//! reaches S2: `cobrowse_store_errors_total` says which part of the store is failing.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;

use crate::metrics::Metrics;
use crate::store::{
    AppendCondition, AppendItem, Appended, Backend, BackendError, Follow, Position, ReadFrom,
    StoredRecord, StreamSettings,
};

pub struct Counted {
    inner: Arc<dyn Backend>,
    metrics: Arc<Metrics>,
}

impl Counted {
    pub fn new(inner: Arc<dyn Backend>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    /// Counts `result` if it is a failure of the store rather than an expected answer (a fenced
    /// stream, a moved tail, a missing or existing stream).
    fn count<T>(
        &self,
        operation: &str,
        result: Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        if let Err(e) = &result {
            count_error(&self.metrics, operation, e);
        }
        result
    }
}

fn count_error(metrics: &Metrics, operation: &str, error: &BackendError) {
    if matches!(
        error,
        BackendError::Unavailable(_) | BackendError::Config(_)
    ) {
        metrics.store_errors.with_label_values(&[operation]).inc();
    }
}

#[async_trait]
impl Backend for Counted {
    async fn append(
        &self,
        stream: &str,
        records: Vec<AppendItem>,
        condition: AppendCondition,
    ) -> Result<Appended, BackendError> {
        let result = self.inner.append(stream, records, condition).await;
        self.count("append", result)
    }

    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<StoredRecord>, BackendError> {
        let result = self.inner.read(stream, from, max).await;
        self.count("read", result)
    }

    async fn check_tail(&self, stream: &str) -> Result<Position, BackendError> {
        let result = self.inner.check_tail(stream).await;
        self.count("check_tail", result)
    }

    async fn follow(&self, stream: &str, from: ReadFrom) -> Result<Follow, BackendError> {
        let follow = self.count("follow", self.inner.follow(stream, from).await)?;
        let metrics = self.metrics.clone();
        Ok(follow
            .inspect(move |item| {
                if let Err(e) = item {
                    count_error(&metrics, "follow", e);
                }
            })
            .boxed())
    }

    async fn create_stream(
        &self,
        stream: &str,
        settings: StreamSettings,
    ) -> Result<(), BackendError> {
        let result = self.inner.create_stream(stream, settings).await;
        self.count("create_stream", result)
    }

    async fn ensure_stream(
        &self,
        stream: &str,
        settings: StreamSettings,
    ) -> Result<(), BackendError> {
        let result = self.inner.ensure_stream(stream, settings).await;
        self.count("ensure_stream", result)
    }

    async fn delete_stream(&self, stream: &str) -> Result<(), BackendError> {
        let result = self.inner.delete_stream(stream).await;
        self.count("delete_stream", result)
    }

    async fn list_streams(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, bool), BackendError> {
        let result = self.inner.list_streams(prefix, start_after, limit).await;
        self.count("list_streams", result)
    }
}
