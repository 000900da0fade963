//! Signals from agents to trackers, across nodes: an agent may be connected to one node and the
//! session's tracker to another, so every signal goes through S2 (docs/protocol.md §9.1).
//!
//! Each node appends its agents' signals to the shared `cluster/signals` stream from one task
//! (in order, batched), and follows that stream with one read session, handing each signal to its
//! room if this node holds the session. One read session per node, whatever the number of
//! sessions; signals are small and few next to session events, so every node reading all of them
//! costs little.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::metrics::Metrics;
use crate::protocol::{AgentMessage, AgentRef, CallMessage, Signal, SignalRecord};
use crate::room::Rooms;
use crate::session::SessionId;
use crate::store::Follow;
use crate::stream::{SignalStream, Store, StoreError};

/// Signals queued for appending before new ones are dropped (S2 is then failing anyway).
const QUEUE_DEPTH: usize = 8192;
/// Records appended at once at most (S2's own limit per append).
const MAX_BATCH: usize = 1000;
/// How often consent timeouts, silent agents and counted drops are looked at.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Messages for one agent connection, waiting to be written to its WebSocket.
const INBOX_DEPTH: usize = 256;

/// The agent connections of this node that can take call messages, by agent id.
pub type Inboxes = Arc<DashMap<String, mpsc::Sender<AgentMessage>>>;

/// This node's end of the signal path.
pub struct SignalBus {
    node: String,
    tx: mpsc::Sender<SignalRecord>,
    inboxes: Inboxes,
    metrics: Arc<Metrics>,
    /// Stops the publisher once it has appended what is queued.
    closing: CancellationToken,
    publisher: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl SignalBus {
    /// Opens the signal stream and starts following it, before any agent can send a signal.
    pub async fn start(
        store: &Store,
        rooms: Arc<Rooms>,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, StoreError> {
        let stream = store.signal_stream().await?;
        let reads = stream.follow_from_tail().await?;
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let closing = CancellationToken::new();
        let publisher = tokio::spawn(publish(stream.clone(), rx, closing.clone()));
        let inboxes = Inboxes::default();
        let bus = Arc::new(Self {
            node: rooms.settings.node_id.clone(),
            tx,
            inboxes: inboxes.clone(),
            metrics: rooms.metrics().clone(),
            closing,
            publisher: std::sync::Mutex::new(Some(publisher)),
        });
        rooms.set_bus(bus.clone());
        tokio::spawn(dispatch(stream, reads, rooms, inboxes, shutdown));
        Ok(bus)
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

    /// Where call messages for the agent connection `agent_id` of this node go; the receiver is
    /// the connection's. Dropping it (the connection ending) is enough to stop delivery.
    pub fn inbox(&self, agent_id: &str) -> mpsc::Receiver<AgentMessage> {
        let (tx, rx) = mpsc::channel(INBOX_DEPTH);
        self.inboxes.insert(agent_id.to_string(), tx);
        rx
    }

    pub fn close_inbox(&self, agent_id: &str) {
        self.inboxes.remove(agent_id);
    }

    /// Sends a call message to an agent connected to `node`: straight to its connection when that
    /// is this node, else through `cluster/signals`.
    pub fn to_agent(&self, session: SessionId, agent: &AgentRef, node: &str, message: CallMessage) {
        if node == self.node {
            deliver_to_agent(&self.inboxes, &agent.id, message);
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

/// Follows the signal stream and hands each signal to its room, where this node holds it; also
/// sweeps the held rooms' consent state once a second. A read that fails is opened again from
/// the tail: signals are for now, and those missed meanwhile are lost (agents repeat a request
/// that gets no answer).
async fn dispatch(
    stream: SignalStream,
    reads: Follow,
    rooms: Arc<Rooms>,
    inboxes: Inboxes,
    shutdown: CancellationToken,
) {
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reads = Some(reads);
    loop {
        let Some(session) = reads.as_mut() else {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(SWEEP_EVERY) => {}
            }
            match stream.follow_from_tail().await {
                Ok(again) => reads = Some(again),
                Err(e) => warn!(error = %e, "the signal stream is still unavailable"),
            }
            continue;
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = sweep.tick() => {
                for room in rooms.held() {
                    room.sweep_consent(rooms.metrics());
                }
            }
            batch = session.next() => match batch {
                Some(Ok(batch)) => {
                    for record in batch {
                        deliver(&rooms, &inboxes, &record.body, record.timestamp);
                    }
                }
                Some(Err(e)) => {
                    warn!(error = %e, "following the signal stream failed; following it again from its tail");
                    reads = None;
                }
                None => reads = None,
            },
        }
    }
}

fn deliver(rooms: &Rooms, inboxes: &Inboxes, body: &[u8], stored_ms: u64) {
    let record: SignalRecord = match rmp_serde::from_slice(body) {
        Ok(record) => record,
        Err(e) => {
            warn!(error = %e, "skipping a signal record that does not decode");
            return;
        }
    };
    if let Signal::ToAgent { message } = record.signal {
        if record.node == rooms.settings.node_id {
            deliver_to_agent(inboxes, &record.agent.id, message);
        }
        return;
    }
    let Some(room) = rooms.get(record.session) else {
        return;
    };
    if !room.holds_session() {
        return;
    }
    rooms
        .metrics()
        .signal_latency
        .observe(crate::session::now_ms().saturating_sub(stored_ms) as f64 / 1000.0);
    room.on_signal(record, rooms.metrics());
}

/// Hands a call message to a local agent connection; one that cannot keep up loses it (its
/// negotiation then fails and the call closes its connection, which the agent sees).
fn deliver_to_agent(inboxes: &Inboxes, agent_id: &str, message: CallMessage) {
    if let Some(inbox) = inboxes.get(agent_id)
        && inbox.try_send(message.into()).is_err()
    {
        warn!(
            agent = agent_id,
            "call message dropped: the agent connection is not reading"
        );
    }
}
