//! This node's end of the signal path.
//!
//! Each node appends its agents' signals to the shared `cluster/signals` stream from one task
//! (in order, batched), and follows that stream with one read session. One read session per node,
//! whatever the number of sessions; signals are small and few next to session events, so every
//! node reading all of them costs little.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::inbox::Inboxes;
use crate::metrics::Metrics;
use crate::protocol::SessionId;
use crate::protocol::{AgentMessage, AgentRef, CallMessage, Signal, SignalRecord, from_msgpack};
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
    pub async fn start(
        store: &Store,
        node: String,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> Result<(Arc<Self>, mpsc::Receiver<Incoming>), StoreError> {
        let stream = store.signal_stream().await?;
        let reads = stream.follow_from_tail().await?;
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let (incoming_tx, incoming) = mpsc::channel(INCOMING_DEPTH);
        let closing = CancellationToken::new();
        let publisher = tokio::spawn(publish(stream.clone(), rx, closing.clone()));
        let inboxes = Arc::new(Inboxes::default());
        let follower = Follower {
            stream,
            node: node.clone(),
            inboxes: inboxes.clone(),
            sessions: incoming_tx,
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
        let mut batch = vec![encode(&first)];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(encode(&next)),
                Err(_) => break,
            }
        }
        let count = batch.len();
        if let Err(e) = stream.append(batch).await {
            warn!(error = %e, count, "signals lost: appending to the signal stream failed");
        }
    }
}

fn encode(record: &SignalRecord) -> Bytes {
    Bytes::from(rmp_serde::to_vec_named(record).expect("signal records serialize"))
}

/// Follows the signal stream and hands on what it reads.
struct Follower {
    stream: SignalStream,
    node: String,
    inboxes: Arc<Inboxes>,
    sessions: mpsc::Sender<Incoming>,
}

impl Follower {
    /// A read that fails is opened again from the tail: signals are for now, and those missed
    /// meanwhile are lost (agents repeat a request that gets no answer). Ends at shutdown, or
    /// when nobody takes session signals any more.
    async fn run(self, reads: Follow, shutdown: CancellationToken) {
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
    async fn deliver(&self, body: &[u8], stored_ms: u64) -> bool {
        let record: SignalRecord = match from_msgpack(body) {
            Ok(record) => record,
            Err(e) => {
                warn!(error = %e, "skipping a signal record that does not decode");
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
