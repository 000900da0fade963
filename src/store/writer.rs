//! The session writer: one task per session on the node that claimed it, the only code that
//! appends to the session's stream. Tracker connections (one per tab) hand it batches; it
//! coalesces what is queued into as few S2 appends as fit, in order, and answers each batch only
//! once S2 has acknowledged it, which is when the tracker may forget those events.
//!
//! It also feeds this node's agents ([`Feed`]): every acknowledgement says where the records
//! landed, and the writer stamps each record's timestamp itself (increasing, never ahead of the
//! clock), so what it hands the feed is exactly what a read of the stream would return.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::protocol::SessionId;
use crate::protocol::{EndReason, RecordKind, SessionEnd};
use crate::store::feed::Feed;
use crate::store::frame::Event;
use crate::store::stream::{Landed, SessionStream, StoreError};

/// A queued batch and who waits for it to be durable.
type Queued = (Vec<Event>, oneshot::Sender<Result<(), StoreError>>);

/// Batches coalesced into one round of appends at most.
const MAX_COALESCE: usize = 256;
const QUEUE_DEPTH: usize = 1024;

/// Why a writer stopped writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterState {
    Active,
    /// Another node claimed the session.
    TakenOver,
    /// The session was sealed.
    Ended,
    /// S2 failed in a way retries did not fix.
    Failed,
    /// This node is shutting down.
    Stopped,
}

enum Command {
    Append {
        events: Vec<Event>,
        done: oneshot::Sender<Result<(), StoreError>>,
    },
    Seal {
        reason: EndReason,
        done: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// A handle to a session's writer task; clones share the task.
#[derive(Clone)]
pub struct Writer {
    id: SessionId,
    tx: mpsc::Sender<Command>,
    state: watch::Receiver<WriterState>,
}

/// The session's writer on this node, as it changes: a claim sets it, an end or a takeover clears
/// it. Those who add records behind the session's events without holding the writer slot (the
/// session's consent, its call) append through this view.
#[derive(Clone)]
pub struct ActiveWriter(watch::Receiver<Option<Writer>>);

impl ActiveWriter {
    /// The slot's sending side (for whoever claims and ends) and a view of it.
    pub fn channel() -> (watch::Sender<Option<Writer>>, Self) {
        let (tx, rx) = watch::channel(None);
        (tx, Self(rx))
    }

    /// Whether this node writes the session now.
    pub fn holds(&self) -> bool {
        self.0.borrow().as_ref().is_some_and(Writer::is_active)
    }

    /// Room in the active writer's queue for one batch of server records, or none when no writer
    /// is active here or its queue is full. Taken before a step that must not happen unrecorded.
    pub fn reserve(&self) -> Option<RecordSlot> {
        self.0.borrow().as_ref().and_then(Writer::reserve)
    }

    /// Queues server records behind the session's events, without waiting; records nobody
    /// waits on. Warns and returns false when no writer is active here or its queue is full.
    pub fn try_append(&self, session: SessionId, records: Vec<Event>) -> bool {
        if records.is_empty() {
            return true;
        }
        let writer = self.0.borrow().clone();
        let queued = writer.is_some_and(|w| w.try_append(records));
        if !queued {
            warn!(%session, "server records not written: the session's writer is gone or full");
        }
        queued
    }
}

/// A place held in a writer's queue: records queued through it cannot be refused for want of
/// room, so a step can hold one before it acts and queue its records before anything it does
/// reaches the page.
pub struct RecordSlot(mpsc::OwnedPermit<Command>);

impl RecordSlot {
    /// Queues `records` behind the session's events, nobody waiting for them to be durable. With
    /// no records the place is given back.
    pub fn queue(self, records: Vec<Event>) {
        if records.is_empty() {
            return;
        }
        let (done, _) = oneshot::channel();
        self.0.send(Command::Append {
            events: records,
            done,
        });
    }
}

/// What a writer starts from: the claim that made this node the session's writer.
pub struct Claim {
    /// The fencing token every append presents.
    pub token: String,
    /// The timestamp the claim's records were stamped with.
    pub timestamp: u64,
    /// The records the claim appended.
    pub landed: Landed,
}

impl Writer {
    pub fn spawn(
        stream: SessionStream,
        claim: Claim,
        feed: Arc<Feed>,
        metrics: Arc<Metrics>,
        heartbeat: Duration,
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let (state_tx, state) = watch::channel(WriterState::Active);
        let id = stream.id();
        let generation = feed.writer_started();
        let timestamp = claim.landed.timestamp().unwrap_or(claim.timestamp);
        let next_seq = claim.landed.end().unwrap_or(0);
        feed.publish(claim.landed);
        let task = WriterTask {
            stream,
            token: claim.token,
            feed,
            generation,
            timestamp: timestamp.max(claim.timestamp),
            next_seq,
            metrics,
            heartbeat,
            state: state_tx,
        };
        tokio::spawn(task.run(rx));
        Self { id, tx, state }
    }

    pub fn is_active(&self) -> bool {
        *self.state.borrow() == WriterState::Active
    }

    /// Watches for the writer leaving `Active`.
    pub fn state(&self) -> watch::Receiver<WriterState> {
        self.state.clone()
    }

    /// Queues events; the returned future resolves once they are durable.
    pub async fn append(
        &self,
        events: Vec<Event>,
    ) -> impl Future<Output = Result<(), StoreError>> + use<> {
        let (done, rx) = oneshot::channel();
        let sent = self.tx.send(Command::Append { events, done }).await.is_ok();
        let id = self.id;
        let state = self.state.clone();
        async move {
            if !sent {
                return Err(gone(id, *state.borrow()));
            }
            rx.await.unwrap_or_else(|_| Err(gone(id, *state.borrow())))
        }
    }

    /// Queues events without waiting for room in the queue or for durability; false when the
    /// queue is full or the writer stopped. For records nobody waits on.
    pub fn try_append(&self, events: Vec<Event>) -> bool {
        let (done, _) = oneshot::channel();
        self.tx.try_send(Command::Append { events, done }).is_ok()
    }

    /// Room in the queue for one batch of records, while the writer is active and the queue is
    /// not full.
    pub fn reserve(&self) -> Option<RecordSlot> {
        if !self.is_active() {
            return None;
        }
        self.tx.clone().try_reserve_owned().ok().map(RecordSlot)
    }

    /// Writes the `end` record and seals the stream; the writer stops.
    pub async fn seal(&self, reason: EndReason) -> Result<(), StoreError> {
        let (done, rx) = oneshot::channel();
        if self.tx.send(Command::Seal { reason, done }).await.is_err() {
            return Err(gone(self.id, *self.state.borrow()));
        }
        rx.await
            .unwrap_or_else(|_| Err(gone(self.id, *self.state.borrow())))
    }
}

fn gone(id: SessionId, state: WriterState) -> StoreError {
    match state {
        WriterState::TakenOver => StoreError::TakenOver(id),
        WriterState::Ended => StoreError::Ended { id, end: None },
        WriterState::Active | WriterState::Failed | WriterState::Stopped => {
            StoreError::Unavailable(format!("the writer of session {id} stopped"))
        }
    }
}

struct WriterTask {
    stream: SessionStream,
    token: String,
    /// This node's agents of the session, fed from the acknowledgements.
    feed: Arc<Feed>,
    /// The feed's name for this writer, so a newer writer's start is not undone by this one's
    /// stop.
    generation: u64,
    /// The timestamp of the last record written: the next one is never earlier.
    timestamp: u64,
    /// Where the next record lands, as far as this writer knows: a tail for the feed to
    /// follow from once this writer stops.
    next_seq: u64,
    metrics: Arc<Metrics>,
    heartbeat: Duration,
    state: watch::Sender<WriterState>,
}

impl WriterTask {
    async fn run(mut self, rx: mpsc::Receiver<Command>) {
        self.write(rx).await;
        self.feed.writer_stopped(self.generation, self.next_seq);
    }

    async fn write(&mut self, mut rx: mpsc::Receiver<Command>) {
        let mut last_write = tokio::time::Instant::now();
        loop {
            let command = tokio::select! {
                command = rx.recv() => command,
                _ = tokio::time::sleep_until(last_write + self.heartbeat) => {
                    last_write = tokio::time::Instant::now();
                    let beat = Event::server(RecordKind::Heartbeat, &serde_json::json!({}));
                    if let Err(e) = self.write_events(&[beat]).await {
                        self.stop(&e);
                        return;
                    }
                    continue;
                }
            };
            let Some(command) = command else {
                self.state.send_replace(WriterState::Stopped);
                return;
            };
            last_write = tokio::time::Instant::now();
            match command {
                Command::Seal { reason, done } => {
                    let result = self.seal(reason).await;
                    let _ = done.send(result);
                    self.state.send_replace(WriterState::Ended);
                    return;
                }
                Command::Append { events, done } => {
                    let mut batch = vec![(events, done)];
                    let mut seal = None;
                    while batch.len() < MAX_COALESCE {
                        match rx.try_recv() {
                            Ok(Command::Append { events, done }) => batch.push((events, done)),
                            Ok(Command::Seal { reason, done }) => {
                                seal = Some((reason, done));
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    if let Err(e) = self.append(batch).await {
                        self.stop(&e);
                        return;
                    }
                    if let Some((reason, done)) = seal {
                        let _ = done.send(self.seal(reason).await);
                        self.state.send_replace(WriterState::Ended);
                        return;
                    }
                }
            }
        }
    }

    /// The timestamp for the next records: now, unless an earlier write was stamped later.
    fn stamp(&mut self) -> u64 {
        self.timestamp = self.timestamp.max(now_ms());
        self.timestamp
    }

    /// Notes where records landed and hands them to this node's agents.
    fn landed(&mut self, landed: Vec<Landed>) {
        for landed in landed {
            if let Some(end) = landed.end() {
                self.next_seq = self.next_seq.max(end);
            }
            // S2 may have kept a later timestamp than ours (a store whose clock runs ahead):
            // stamping from it keeps the next records exact.
            if let Some(ts) = landed.timestamp() {
                self.timestamp = self.timestamp.max(ts);
            }
            self.feed.publish(landed);
        }
    }

    async fn write_events(&mut self, events: &[Event]) -> Result<(), StoreError> {
        let timestamp = self.stamp();
        let landed = self.stream.append(events, &self.token, timestamp).await?;
        self.landed(landed);
        Ok(())
    }

    async fn append(&mut self, batch: Vec<Queued>) -> Result<(), StoreError> {
        let events: Vec<Event> = batch.iter().flat_map(|(e, _)| e.iter().cloned()).collect();
        let bytes: usize = events.iter().map(|e| e.body.len()).sum();
        let started = Instant::now();
        let result = self.write_events(&events).await;
        self.metrics
            .append_latency
            .observe(started.elapsed().as_secs_f64());
        match &result {
            Ok(()) => {
                self.metrics.events_appended.inc_by(events.len() as u64);
                self.metrics.bytes_appended.inc_by(bytes as u64);
                for (_, done) in batch {
                    let _ = done.send(Ok(()));
                }
            }
            Err(e) => {
                for (_, done) in batch {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
        result
    }

    async fn seal(&mut self, reason: EndReason) -> Result<(), StoreError> {
        let end = SessionEnd {
            reason,
            ended_ms: now_ms(),
        };
        let timestamp = self.stamp();
        let result = self
            .stream
            .seal(
                &Event::server(RecordKind::End, &end),
                &self.token,
                timestamp,
            )
            .await;
        let result = result.map(|landed| self.landed(landed.into_iter().collect()));
        match &result {
            Ok(()) => info!(session = %self.stream.id(), ?reason, "session ended and sealed"),
            Err(e) => warn!(session = %self.stream.id(), error = %e, "sealing failed"),
        }
        result
    }

    fn stop(&self, error: &StoreError) {
        let state = match error {
            StoreError::TakenOver(_) => {
                info!(session = %self.stream.id(), "another server took the session over; letting go");
                WriterState::TakenOver
            }
            StoreError::Ended { .. } => WriterState::Ended,
            _ => {
                warn!(session = %self.stream.id(), error = %error, "append failed; writer stops");
                WriterState::Failed
            }
        };
        self.state.send_replace(state);
    }
}
