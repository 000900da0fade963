//! This node's appends to the directory: one task takes records from a bounded queue, signs them,
//! and appends everything that arrived meanwhile in one append per day stream, so the directory
//! costs an append per burst of session changes, not per change. It also says every few seconds
//! that the node is alive (its sessions are live only while it does), and that it stops.
//!
//! A record the store refuses for a while is retried until it lands, in order; the queue is
//! bounded, and a record that finds it full is counted and logged (the session's next change
//! carries its state again, and its stream keeps everything).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::days::{DayStreams, day_of};
use super::follower::Shared;
use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::protocol::directory::DirectoryRecord;
use crate::seal::Seal;

/// Records waiting to be appended, at most.
pub const QUEUE: usize = 65_536;
/// Records in one append, at most (S2's limit is 1000).
const BATCH: usize = 1000;

/// The label of directory records' signatures: valid in no other stream.
pub(super) const LABEL: &[u8] = b"cobrowse/directory\0";

/// Hands this node's directory records to its writer task. Cheap to clone.
#[derive(Clone)]
pub struct DirectoryWriter {
    tx: mpsc::Sender<DirectoryRecord>,
    node: Arc<str>,
    metrics: Arc<Metrics>,
    /// This node's index, which takes each record at once: a session started here is listed
    /// here before its record is read back (folding it again then changes nothing).
    local: Option<Arc<Shared>>,
}

impl DirectoryWriter {
    /// A writer and the queue it fills, for the task that appends (or a test that reads it).
    pub fn channel(node: &str, metrics: Arc<Metrics>) -> (Self, mpsc::Receiver<DirectoryRecord>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = DirectoryWriter {
            tx,
            node: node.into(),
            metrics,
            local: None,
        };
        (writer, rx)
    }

    /// How this node names itself in its records: `NODE#INSTANCE`.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Queues a record; if the queue is full (the store refused appends for a long while), the
    /// record is counted in `cobrowse_rejected_total{reason="directory_overflow"}` and logged.
    pub fn record(&self, record: DirectoryRecord) {
        let record = record.bounded();
        if let Some(local) = &self.local {
            local.fold_one(&record);
        }
        if let Err(e) = self.tx.try_send(record) {
            self.metrics
                .rejected
                .with_label_values(&["directory_overflow"])
                .inc();
            warn!(error = %e, "directory record dropped: the directory writer is behind");
        }
    }

    /// Queues a record, waiting for room: for a session's `started`, without which nobody finds it.
    pub async fn record_waiting(&self, record: DirectoryRecord) {
        let record = record.bounded();
        if let Some(local) = &self.local {
            local.fold_one(&record);
        }
        if self.tx.send(record).await.is_err() {
            warn!("directory record dropped: the directory writer stopped");
        }
    }
}

/// The task's settings.
pub struct WriterSettings {
    /// `NODE#INSTANCE`.
    pub node: String,
    /// How often the node says it is alive.
    pub heartbeat: Duration,
}

/// Starts the writer task; it stops after `shutdown`, once it has said the node stops.
pub fn spawn(
    days: DayStreams,
    seal: Seal,
    local: Arc<Shared>,
    settings: WriterSettings,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> (DirectoryWriter, tokio::task::JoinHandle<()>) {
    let (mut writer, rx) = DirectoryWriter::channel(&settings.node, metrics.clone());
    writer.local = Some(local);
    let task = WriterTask {
        days,
        seal,
        node: settings.node,
        metrics,
        generations: BTreeMap::new(),
    };
    let handle = tokio::spawn(task.run(rx, settings.heartbeat, shutdown));
    (writer, handle)
}

struct WriterTask {
    days: DayStreams,
    seal: Seal,
    node: String,
    metrics: Arc<Metrics>,
    /// The generation each day was last appended to.
    generations: BTreeMap<String, Option<u32>>,
}

impl WriterTask {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<DirectoryRecord>,
        heartbeat: Duration,
        shutdown: CancellationToken,
    ) {
        let mut beat = tokio::time::interval(heartbeat);
        let mut pending: Vec<DirectoryRecord> = Vec::new();
        loop {
            if pending.is_empty() {
                tokio::select! {
                    received = rx.recv() => match received {
                        Some(record) => pending.push(record),
                        None => break,
                    },
                    _ = beat.tick() => pending.push(self.alive(false)),
                    _ = shutdown.cancelled() => break,
                }
            }
            while pending.len() < BATCH {
                match rx.try_recv() {
                    Ok(record) => pending.push(record),
                    Err(_) => break,
                }
            }
            if self.flush(&pending).await {
                pending.clear();
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
        }
        // What is queued, then the node's last word: its sessions are no longer live here.
        while let Ok(record) = rx.try_recv() {
            pending.push(record);
        }
        pending.push(self.alive(true));
        if !self.flush(&pending).await {
            warn!(
                records = pending.len(),
                "directory records not written at shutdown"
            );
        }
    }

    fn alive(&self, stopping: bool) -> DirectoryRecord {
        DirectoryRecord::Node {
            node: self.node.clone(),
            at_ms: now_ms(),
            stopping,
        }
    }

    /// Appends `records`, each to its day; false if any day failed (all are tried again: a day
    /// that landed is written twice, which the index folds away).
    async fn flush(&mut self, records: &[DirectoryRecord]) -> bool {
        let mut by_day: BTreeMap<String, Vec<Bytes>> = BTreeMap::new();
        let signed_ms = now_ms();
        for record in records {
            let day = match record.session() {
                Some(session) => day_of(session.created_ms()),
                None => day_of(record.at_ms()),
            };
            by_day
                .entry(day)
                .or_default()
                .push(self.seal.seal_record(record, signed_ms));
        }
        let mut ok = true;
        for (day, bodies) in by_day {
            let generation = self.generations.entry(day.clone()).or_default();
            if let Err(e) = self.days.append(&day, generation, &bodies).await {
                warn!(%day, error = %e, "could not append to the session directory; retrying");
                self.metrics
                    .rejected
                    .with_label_values(&["directory_append_failed"])
                    .inc();
                ok = false;
            }
        }
        // Days long past are not written again; keep the map small.
        if self.generations.len() > 64 {
            let newest: Vec<String> = self.generations.keys().rev().take(8).cloned().collect();
            self.generations.retain(|day, _| newest.contains(day));
        }
        ok
    }
}
