//! Folds the directory's streams into this node's index: at start every stream is read to its
//! tail (the node is ready once all are), then each is followed; a new day's or generation's
//! stream is found by listing every second, and liveness is swept as often. Every change is
//! broadcast to the node's watchers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::days::{DayStreams, stream_name};
use super::index::{Change, Index};
use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::protocol::directory::DirectoryRecord;
use crate::seal::Seal;
use crate::store::{BackendError, ReadFrom, StoredRecord};

/// How often the streams are listed and liveness swept.
const TICK: Duration = Duration::from_secs(1);

/// What the follower keeps current and the handlers read.
pub struct Shared {
    pub index: RwLock<Index>,
    pub changes: broadcast::Sender<Arc<Change>>,
    pub metrics: Arc<Metrics>,
    pub seal: Seal,
}

impl Shared {
    /// Folds stored records in and tells watchers what changed.
    fn fold(&self, records: &[StoredRecord]) {
        let decoded: Vec<DirectoryRecord> = records
            .iter()
            .filter_map(
                |stored| match self.seal.open_record(&stored.body, stored.timestamp) {
                    Ok(record) => Some(record),
                    Err(why) => {
                        self.refuse(&why);
                        None
                    }
                },
            )
            .collect();
        if decoded.is_empty() {
            return;
        }
        let now = now_ms();
        let changes: Vec<Change> = {
            let mut index = self.index.write().expect("lock");
            decoded
                .iter()
                .flat_map(|record| index.apply(record, now))
                .collect()
        };
        self.publish(changes);
    }

    /// Folds in a record this node is about to append.
    pub(super) fn fold_one(&self, record: &DirectoryRecord) {
        let changes = self.index.write().expect("lock").apply(record, now_ms());
        self.publish(changes);
    }

    pub(super) fn publish(&self, changes: Vec<Change>) {
        for change in changes {
            // No watcher is no error.
            let _ = self.changes.send(Arc::new(change));
        }
    }

    fn refuse(&self, why: &crate::seal::Unsealed) {
        self.metrics
            .rejected
            .with_label_values(&[&why.metric_reason("directory")])
            .inc();
        debug!(error = %why, "directory record dropped");
    }
}

/// Starts following; `ready` turns true once every stream that existed at start was read to its
/// tail.
pub fn spawn(
    days: DayStreams,
    shared: Arc<Shared>,
    ready: watch::Sender<bool>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let mut followed: HashMap<String, JoinHandle<()>> = HashMap::new();
        let mut tick = tokio::time::interval(TICK);
        let mut first = true;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => break,
            }
            match days.list().await {
                Ok(listed) => {
                    let names: Vec<String> = listed
                        .iter()
                        .flat_map(|(day, gens)| gens.iter().map(move |g| stream_name(day, *g)))
                        .collect();
                    let mut loading = Vec::new();
                    for name in names {
                        if followed.get(&name).is_some_and(|h| !h.is_finished()) {
                            continue;
                        }
                        let (loaded, done) = tokio::sync::oneshot::channel();
                        let task = follow(days.clone(), name.clone(), shared.clone(), loaded);
                        followed.insert(name, tokio::spawn(task));
                        loading.push(done);
                    }
                    if first {
                        for done in loading {
                            let _ = done.await;
                        }
                        let index = shared.index.read().expect("lock");
                        info!(
                            sessions = index.len(),
                            live = index.live_count(),
                            ms = started.elapsed().as_millis() as u64,
                            "session directory loaded"
                        );
                        drop(index);
                        ready.send_replace(true);
                        first = false;
                    }
                }
                Err(e) => warn!(error = %e, "could not list the directory's streams"),
            }
            followed.retain(|_, h| !h.is_finished());
            let changes = shared.index.write().expect("lock").sweep(now_ms());
            shared.publish(changes);
        }
        for (_, handle) in followed {
            handle.abort();
        }
    })
}

/// Reads one stream to its tail (then says so through `loaded`) and follows it until it is
/// deleted.
async fn follow(
    days: DayStreams,
    name: String,
    shared: Arc<Shared>,
    loaded: tokio::sync::oneshot::Sender<()>,
) {
    let mut next = 0u64;
    let mut loaded = Some(loaded);
    loop {
        match days.read(&name, next).await {
            Ok(records) if records.is_empty() => break,
            Ok(records) => {
                next = records.last().map_or(next, |r| r.seq_num + 1);
                shared.fold(&records);
            }
            Err(BackendError::NotFound(_)) => return,
            Err(e) => {
                warn!(stream = %name, error = %e, "could not read a directory stream; retrying");
                tokio::time::sleep(TICK).await;
            }
        }
    }
    if let Some(loaded) = loaded.take() {
        let _ = loaded.send(());
    }
    loop {
        let follow = days
            .streams()
            .backend()
            .follow(&name, ReadFrom::SeqNum(next))
            .await;
        let mut batches = match follow {
            Ok(batches) => batches,
            Err(BackendError::NotFound(_)) => return,
            Err(e) => {
                warn!(stream = %name, error = %e, "could not follow a directory stream; retrying");
                tokio::time::sleep(TICK).await;
                continue;
            }
        };
        while let Some(batch) = batches.next().await {
            match batch {
                Ok(records) => {
                    next = records.last().map_or(next, |r| r.seq_num + 1);
                    shared.fold(&records);
                }
                Err(BackendError::NotFound(_)) => return,
                Err(e) => {
                    debug!(stream = %name, error = %e, "directory follow interrupted");
                    break;
                }
            }
        }
        // Deleted by a rewrite (a follow may end without saying why): stop if it is gone.
        if let Err(BackendError::NotFound(_)) = days.streams().backend().check_tail(&name).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
