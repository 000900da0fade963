//! This node's end of the signal path.
//!
//! Each node appends its agents' signals to the shared `cluster/signals` stream from one task
//! (in order, batched), and follows that stream with one read session. One read session per node,
//! whatever the number of sessions; signals are small and few next to session events, so every
//! node reading all of them costs little.
//!
//! Records are signed under the deployment's secret on the way in and checked on the way out
//! ([`super::seal`]): the store is reachable by more than the nodes, and a signal is a command to
//! a user's page.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::inbox::Inboxes;
use super::seal::SignalSeal;
use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::protocol::SessionId;
use crate::protocol::{AgentMessage, AgentRef, CallMessage, Signal, SignalRecord};
use crate::seal::Unsealed;
use crate::store::Follow;
use crate::store::stream::{SignalStream, Store, StoreError};

/// Signals queued for appending before new ones are dropped (S2 is then failing anyway).
const QUEUE_DEPTH: usize = 8192;
/// Records appended at once at most (S2's own limit per append).
const MAX_BATCH: usize = 1000;
/// Signals read but not yet taken by the session core; reading waits while it is full.
const INCOMING_DEPTH: usize = 1024;
/// How long to wait before following the stream again after a read failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// At most one warning this often about dropped signal records: whoever forges them must not be
/// able to flood the log too.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// A signal for a session, as read from the stream.
#[derive(Debug)]
pub struct Incoming {
    pub record: SignalRecord,
    /// When S2 stored it, ms since the Unix epoch: how late it arrives is measured from this.
    pub stored_ms: u64,
}

pub struct SignalBus {
    node: String,
    tx: mpsc::Sender<SignalRecord>,
    inboxes: Arc<Inboxes>,
    metrics: Arc<Metrics>,
    /// Stops the publisher once it has appended what is queued.
    closing: CancellationToken,
    publisher: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl SignalBus {
    /// Opens the signal stream and starts following it, before any agent can send a signal.
    /// Signals for sessions arrive on the returned receiver, in stream order; call messages for
    /// this node's agents go straight to their inboxes.
    /// Records are signed and checked with `secret`, the same on every node.
    pub async fn start(
        store: &Store,
        node: String,
        secret: &[u8],
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> Result<(Arc<Self>, mpsc::Receiver<Incoming>), StoreError> {
        let stream = store.signal_stream().await?;
        let reads = stream.follow_from_tail().await?;
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let (incoming_tx, incoming) = mpsc::channel(INCOMING_DEPTH);
        let closing = CancellationToken::new();
        let seal = SignalSeal::new(secret);
        let publisher = tokio::spawn(publish(stream.clone(), seal.clone(), rx, closing.clone()));
        let inboxes = Arc::new(Inboxes::default());
        let follower = Follower {
            stream,
            node: node.clone(),
            inboxes: inboxes.clone(),
            sessions: incoming_tx,
            seal,
            metrics: metrics.clone(),
            refused: Refused::default(),
        };
        tokio::spawn(follower.run(reads, shutdown));
        let bus = Arc::new(Self {
            node,
            tx,
            inboxes,
            metrics,
            closing,
            publisher: std::sync::Mutex::new(Some(publisher)),
        });
        Ok((bus, incoming))
    }

    /// Appends what is still queued (the `left` of agents whose connections shutdown closed, so
    /// their grants end now rather than when their lease runs out) and stops publishing.
    pub async fn close(&self) {
        self.closing.cancel();
        let publisher = self.publisher.lock().expect("lock").take();
        if let Some(publisher) = publisher {
            let _ = publisher.await;
        }
    }

    /// Sends a signal toward the session's tracker, wherever it is connected. Never waits: a
    /// full queue means S2 is not keeping up, and the signal is dropped with a warning.
    pub fn publish(&self, session: SessionId, agent: &AgentRef, signal: Signal) {
        self.append(SignalRecord {
            session,
            agent: agent.clone(),
            node: self.node.clone(),
            signal,
        });
    }

    /// Where call messages for the agent connection `agent_id` of this node go.
    pub fn inbox(&self, agent_id: &str) -> mpsc::Receiver<AgentMessage> {
        self.inboxes.open(agent_id)
    }

    pub fn close_inbox(&self, agent_id: &str) {
        self.inboxes.close(agent_id);
    }

    /// Sends a call message to an agent connected to `node`: straight to its connection when that
    /// is this node, else through `cluster/signals`.
    pub fn to_agent(&self, session: SessionId, agent: &AgentRef, node: &str, message: CallMessage) {
        if node == self.node {
            self.inboxes.deliver(&agent.id, message);
            return;
        }
        self.append(SignalRecord {
            session,
            agent: agent.clone(),
            node: node.to_string(),
            signal: Signal::ToAgent { message },
        });
    }

    fn append(&self, record: SignalRecord) {
        let session = record.session;
        if self.tx.try_send(record).is_err() {
            self.metrics
                .rejected
                .with_label_values(&["signal_overflow"])
                .inc();
            warn!(%session, "signal dropped: the signal stream is not keeping up");
        }
    }
}

/// Appends queued signals, as many per append as are waiting.
async fn publish(
    stream: SignalStream,
    seal: SignalSeal,
    mut rx: mpsc::Receiver<SignalRecord>,
    closing: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            biased;
            first = rx.recv() => match first {
                Some(first) => first,
                None => return,
            },
            _ = closing.cancelled() => return,
        };
        let signed_ms = now_ms();
        let mut batch = vec![seal.seal(&first, signed_ms)];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(seal.seal(&next, signed_ms)),
                Err(_) => break,
            }
        }
        let count = batch.len();
        if let Err(e) = stream.append(batch).await {
            warn!(error = %e, count, "signals lost: appending to the signal stream failed");
        }
    }
}

/// Follows the signal stream and hands on what it reads.
struct Follower {
    stream: SignalStream,
    node: String,
    inboxes: Arc<Inboxes>,
    sessions: mpsc::Sender<Incoming>,
    seal: SignalSeal,
    metrics: Arc<Metrics>,
    refused: Refused,
}

/// Records dropped since the last warning about them.
#[derive(Default)]
struct Refused {
    since_warning: u64,
    warned_at: Option<Instant>,
}

impl Refused {
    /// Counts a dropped record; warns (with the count since the last warning) at most once per
    /// [`WARN_EVERY`].
    fn note(&mut self, why: &Unsealed) {
        self.since_warning += 1;
        if self.warned_at.is_some_and(|at| at.elapsed() < WARN_EVERY) {
            return;
        }
        warn!(
            dropped = self.since_warning,
            last = %why,
            "dropping signal records not signed by this deployment: something other than its nodes \
             appends to the store, or a node runs with another --secret"
        );
        self.since_warning = 0;
        self.warned_at = Some(Instant::now());
    }
}

impl Follower {
    /// A read that fails is opened again from the tail: signals are for now, and those missed
    /// meanwhile are lost (agents repeat a request that gets no answer). Ends at shutdown, or
    /// when nobody takes session signals any more.
    async fn run(mut self, reads: Follow, shutdown: CancellationToken) {
        let mut reads = Some(reads);
        loop {
            let Some(session) = reads.as_mut() else {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(RETRY_AFTER) => {}
                }
                match self.stream.follow_from_tail().await {
                    Ok(again) => reads = Some(again),
                    Err(e) => warn!(error = %e, "the signal stream is still unavailable"),
                }
                continue;
            };
            let batch = tokio::select! {
                _ = shutdown.cancelled() => return,
                batch = session.next() => batch,
            };
            match batch {
                Some(Ok(batch)) => {
                    for record in batch {
                        if !self.deliver(&record.body, record.timestamp).await {
                            return;
                        }
                    }
                }
                Some(Err(e)) => {
                    warn!(error = %e, "following the signal stream failed; following it again from its tail");
                    reads = None;
                }
                None => reads = None,
            }
        }
    }

    /// Returns false once the session core has stopped taking signals.
    async fn deliver(&mut self, body: &[u8], stored_ms: u64) -> bool {
        let record = match self.seal.open(body, stored_ms) {
            Ok(record) => record,
            Err(why) => {
                self.metrics
                    .rejected
                    .with_label_values(&[&why.metric_reason("signal")])
                    .inc();
                self.refused.note(&why);
                return true;
            }
        };
        if let Signal::ToAgent { message } = record.signal {
            if record.node == self.node {
                self.inboxes.deliver(&record.agent.id, message);
            }
            return true;
        }
        self.sessions
            .send(Incoming { record, stored_ms })
            .await
            .is_ok()
    }
}
