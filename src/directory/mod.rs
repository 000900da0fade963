//! The session directory: how any node finds any session without reading session streams.
//!
//! Nodes append compact, signed summaries (a session started, a tab's page changed, the user was
//! identified, the page logged an error, the session ended, the node is alive) to one stream per
//! day of session creation ([`days`]); every node folds all of them into an in-memory [`index`]
//! that answers the session list and its search ([`query`]) with no S2 read on the request path,
//! and broadcasts each change to the consoles watching. The index is derived: a node rebuilds it
//! from the streams when it starts, so S2 stays the only state. Erasing a session rewrites its
//! day without it ([`erase`]).

pub mod browser;
pub mod days;
pub mod erase;
pub mod follower;
pub mod index;
pub mod query;
pub mod reconcile;
pub mod writer;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use self::days::DayStreams;
use self::follower::Shared;
use self::index::{Change, Index};
use self::query::Query;
use self::writer::{DirectoryWriter, WriterSettings};
use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::protocol::{SessionId, SessionPage, SessionSummary};
use crate::seal::Seal;
use crate::store::{BackendError, Streams};

/// Changes a watcher may fall behind by before it is told to reload.
pub const WATCH_BACKLOG: usize = 4096;

/// How the directory runs on this node.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// This node's id (`--node-id`); records name the process `NODE#START_MS`.
    pub node_id: String,
    /// How long session streams are kept.
    pub retention: Duration,
    /// How often this node says it is alive; a node silent for three times as long is gone.
    pub heartbeat: Duration,
}

/// This node's view of every session, and its way to add to it.
#[derive(Clone)]
pub struct Directory {
    shared: Arc<Shared>,
    ready: watch::Receiver<bool>,
    writer: DirectoryWriter,
    days: DayStreams,
}

impl Directory {
    /// Starts the writer and the follower; the index fills in the background (see
    /// [`Directory::wait_ready`]).
    pub fn start(
        streams: Streams,
        config: DirectoryConfig,
        secret: &[u8],
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> (Self, Vec<tokio::task::JoinHandle<()>>) {
        let seal = Seal::new(secret, writer::LABEL);
        let days = DayStreams::new(streams, config.retention);
        let timeout_ms = (config.heartbeat.as_millis() as u64).saturating_mul(3);
        let (changes, _) = broadcast::channel(WATCH_BACKLOG);
        let shared = Arc::new(Shared {
            index: RwLock::new(Index::new(timeout_ms)),
            changes,
            metrics: metrics.clone(),
            seal: seal.clone(),
        });
        let settings = WriterSettings {
            node: format!("{}#{}", config.node_id, now_ms()),
            heartbeat: config.heartbeat,
        };
        let (writer, writing) = writer::spawn(
            days.clone(),
            seal,
            shared.clone(),
            settings,
            metrics,
            shutdown.clone(),
        );
        let (ready_tx, ready) = watch::channel(false);
        let following = follower::spawn(days.clone(), shared.clone(), ready_tx, shutdown);
        let directory = Directory {
            shared,
            ready,
            writer,
            days,
        };
        (directory, vec![writing, following])
    }

    /// What sessions use to add to the directory.
    pub fn writer(&self) -> &DirectoryWriter {
        &self.writer
    }

    /// Whether every directory stream that existed at start has been folded in.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Waits until the index is loaded, at most `timeout`; whether it is.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut ready = self.ready.clone();
        tokio::time::timeout(timeout, ready.wait_for(|r| *r))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// One page of the sessions `query` asks for, from memory.
    pub fn page(&self, query: &Query) -> SessionPage {
        let index = self.shared.index.read().expect("lock");
        query::page(&index, query, now_ms())
    }

    /// One session's summary, from memory.
    pub fn summary(&self, id: SessionId) -> Option<SessionSummary> {
        let index = self.shared.index.read().expect("lock");
        index.get(id).map(|e| e.summary(now_ms()))
    }

    /// Up to `max` sessions neither live nor ended whose node has been silent for `silent_ms`.
    pub fn orphans(&self, now_ms: u64, silent_ms: u64, max: usize) -> Vec<SessionId> {
        self.shared
            .index
            .read()
            .expect("lock")
            .orphans(now_ms, silent_ms, max)
    }

    /// Whether the index lists the session, or knows it was erased.
    pub fn knows(&self, id: SessionId) -> bool {
        self.shared.index.read().expect("lock").knows(id)
    }

    /// Every change from now on; a receiver that falls [`WATCH_BACKLOG`] behind gets `Lagged`.
    pub fn watch(&self) -> broadcast::Receiver<Arc<Change>> {
        self.shared.changes.subscribe()
    }

    /// Sessions listed, live, and the index's heap bytes and entries (for `/metrics` and the
    /// benchmark).
    pub fn stats(&self) -> DirectoryStats {
        let index = self.shared.index.read().expect("lock");
        let (heap_bytes, entries) = index.heap_bytes();
        DirectoryStats {
            sessions: index.len(),
            live: index.live_count(),
            entries,
            heap_bytes,
        }
    }

    /// Removes `id` from the directory for good: its day is rewritten without it.
    pub async fn erase(&self, id: SessionId) -> Result<(), BackendError> {
        let changes = self.shared.index.write().expect("lock").forget(id);
        self.shared.publish(changes);
        erase::erase(&self.days, &self.shared.seal, id).await
    }
}

/// The index's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectoryStats {
    pub sessions: usize,
    pub live: usize,
    pub entries: usize,
    pub heap_bytes: usize,
}
