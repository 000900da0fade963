//! The live feed of one session on this node: what its agents here receive once caught up.
//!
//! Where this node writes the session, the writer feeds it from its append acknowledgements: it
//! knows exactly which records landed at which positions, so agents get them without a read of
//! the stream (docs/architecture.md, "The live path"). Where another node writes, one S2 read
//! session follows the stream for all of this node's agents. The feed switches between the two
//! as writers come and go; a subscriber (an agent's subscription, which depends on this module)
//! skips what it already has and reads any gap from S2, so a switch never costs an agent an
//! event or shows one twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::store::stream::{Landed, SessionStream, StoreError};

/// Batches a subscriber may fall behind before it is told to reconnect.
const FEED_CAPACITY: usize = 128;
/// How often a tail checks whether anyone still listens.
const IDLE_CHECK: Duration = Duration::from_secs(2);

/// Records as they landed in the stream, shared by every agent of the session on this node.
pub type FeedBatch = Arc<Landed>;

pub struct Feed {
    stream: SessionStream,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The channel agents listen on, while anyone subscribed.
    tx: Option<broadcast::Sender<FeedBatch>>,
    /// The writer on this node feeding the channel, if one is active (its generation).
    writer: Option<u64>,
    /// The S2 read session feeding the channel, if one runs (its generation and its stop).
    tail: Option<(u64, CancellationToken)>,
    /// Generations handed out to writers and tails, so a stale one cannot undo a newer one.
    generation: u64,
}

impl Feed {
    pub fn new(stream: SessionStream) -> Arc<Self> {
        Arc::new(Self {
            stream,
            state: Mutex::default(),
        })
    }

    /// Listens to the feed, starting an S2 tail if no writer on this node feeds it.
    pub fn subscribe(self: &Arc<Self>) -> broadcast::Receiver<FeedBatch> {
        let mut state = self.state.lock().expect("lock");
        let tx = state
            .tx
            .get_or_insert_with(|| broadcast::channel(FEED_CAPACITY).0)
            .clone();
        if state.writer.is_none() && state.tail.is_none() {
            self.start_tail(&mut state, tx.clone(), None);
        }
        tx.subscribe()
    }

    /// A writer on this node became the session's writer: it feeds the agents from now on, and
    /// the S2 tail (if one ran) stops. Returns the writer's generation.
    pub fn writer_started(&self) -> u64 {
        let mut state = self.state.lock().expect("lock");
        state.generation += 1;
        state.writer = Some(state.generation);
        if let Some((_, stop)) = state.tail.take() {
            stop.cancel();
        }
        state.generation
    }

    /// The writer of generation `writer` stopped after records up to `next` (taken over, ended,
    /// failed): agents still listening get an S2 tail from there.
    pub fn writer_stopped(self: &Arc<Self>, writer: u64, next: u64) {
        let mut state = self.state.lock().expect("lock");
        if state.writer != Some(writer) {
            return;
        }
        state.writer = None;
        if let Some(tx) = state.tx.clone().filter(|tx| tx.receiver_count() > 0) {
            self.start_tail(&mut state, tx, Some(next));
        }
    }

    /// Hands records the writer appended to whoever listens; costs nothing when nobody does.
    pub fn publish(&self, landed: Landed) {
        let state = self.state.lock().expect("lock");
        if let Some(tx) = state.tx.as_ref().filter(|tx| tx.receiver_count() > 0) {
            let _ = tx.send(Arc::new(landed));
        }
    }

    fn start_tail(
        self: &Arc<Self>,
        state: &mut State,
        tx: broadcast::Sender<FeedBatch>,
        from: Option<u64>,
    ) {
        state.generation += 1;
        let stop = CancellationToken::new();
        state.tail = Some((state.generation, stop.clone()));
        tokio::spawn(self.clone().run_tail(state.generation, tx, from, stop));
    }

    /// One S2 read session for this node's agents, from `from` (or the tail as it is now), until
    /// a writer here takes over or nobody listens.
    async fn run_tail(
        self: Arc<Self>,
        generation: u64,
        tx: broadcast::Sender<FeedBatch>,
        from: Option<u64>,
        stop: CancellationToken,
    ) {
        let result = tokio::select! {
            _ = stop.cancelled() => Ok(()),
            result = self.follow(generation, &tx, from) => result,
        };
        // The read failed: listeners are told the feed closed and reconnect from where they are.
        end_tail(&mut self.state.lock().expect("lock"), generation, &tx);
        match result {
            Ok(()) => debug!(session = %self.stream.id(), "shared tail closed"),
            Err(e) => warn!(session = %self.stream.id(), error = %e, "shared tail stopped"),
        }
    }

    async fn follow(
        &self,
        generation: u64,
        tx: &broadcast::Sender<FeedBatch>,
        from: Option<u64>,
    ) -> Result<(), StoreError> {
        let from = match from {
            Some(from) => from,
            None => self.stream.tail().await?.seq_num,
        };
        let mut records = self.stream.follow(from).await?;
        let mut idle_check = tokio::time::interval(IDLE_CHECK);
        loop {
            tokio::select! {
                batch = records.next() => match batch {
                    Some(Ok(batch)) => {
                        if tx.send(Arc::new(Landed::Records(batch))).is_err() {
                            return Ok(());
                        }
                    }
                    Some(Err(e)) => return Err(e.into()),
                    None => return Ok(()),
                },
                _ = idle_check.tick() => {
                    // Decided under the lock `subscribe` takes, so nobody can subscribe to a
                    // tail that is about to stop.
                    let mut state = self.state.lock().expect("lock");
                    if tx.receiver_count() == 0 {
                        end_tail(&mut state, generation, tx);
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Forgets the tail of `generation` and its channel, unless a writer or a newer tail replaced it
/// meanwhile.
fn end_tail(state: &mut State, generation: u64, tx: &broadcast::Sender<FeedBatch>) {
    if state.tail.as_ref().is_some_and(|(g, _)| *g == generation) {
        state.tail = None;
        if state.tx.as_ref().is_some_and(|t| t.same_channel(tx)) {
            state.tx = None;
        }
    }
}
