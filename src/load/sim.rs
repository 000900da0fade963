//! The simulated trackers and agents, and the bookkeeping that turns them into a [`Report`].

use cobrowse::clock::now_micros;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_bytes::ByteBuf;
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use cobrowse::protocol::{
    Hello, PROTOCOL_VERSION, PageInfo, ServerMessage, TrackerEvent, TrackerEventKind,
    TrackerMessage, Viewport,
};

use super::agent::{Progress, follow, join_during, open_agent};
use super::mix::EventMix;
use super::process::{ProcWatch, local_pid};
use super::report::{Percentiles, Report};

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Sessions connecting at once; more makes the handshakes themselves the benchmark.
const CONNECT_CONCURRENCY: usize = 64;
const BATCH_INTERVAL: Duration = Duration::from_millis(100);
/// While the server says nobody watches, a tracker sends what it has this long after the first
/// event waiting, as the project's tracker does.
const UNWATCHED_DELAY: Duration = Duration::from_secs(1);
/// How often events arrive with `--sending timer|on-ack`: a steady trickle, as a page makes them.
const STEADY_TICK: Duration = Duration::from_millis(20);

/// When a simulated tracker sends the events it has while an agent watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Sending {
    /// Events come in bursts every 100 ms and each burst goes at once: the latency measured is
    /// the server's alone.
    #[default]
    Burst,
    /// Events come steadily; a batch goes 100 ms after its first event (the tracker's timer).
    Timer,
    /// Events come steadily; a batch goes at once when nothing is in flight, else when the
    /// acknowledgement of the one in flight arrives.
    OnAck,
}
pub(super) const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `http://host:port` of a cobrowse server (or of the baseline relay).
    pub server: String,
    pub sessions: usize,
    /// Agents on each watched session.
    pub agents_per_session: usize,
    /// Share of the sessions that are watched, 0 to 1.
    pub watched: f64,
    /// Agents joining random live sessions during the window.
    pub joins: usize,
    pub duration: Duration,
    pub events_per_sec: u32,
    pub sending: Sending,
    pub mix: EventMix,
    pub agent_token: String,
    pub project_key: String,
    /// The server's process, for RSS and CPU; found from the port when it runs here.
    pub server_pid: Option<u32>,
    /// A separate store's process, reported apart from the server's.
    pub store_pid: Option<u32>,
    /// A separate store's endpoint, to find its process from the port.
    pub store_endpoint: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "no session could connect to {0}; is the server running, and are the token and key right?"
    )]
    NothingConnected(String),
}

/// Counters shared by every simulated client.
#[derive(Default)]
pub(super) struct Totals {
    pub(super) sent: AtomicU64,
    /// Event batches the trackers sent.
    pub(super) batches: AtomicU64,
    pub(super) acked: AtomicU64,
    /// Payload bytes of acknowledged events.
    pub(super) ingested_bytes: AtomicU64,
    pub(super) delivered: AtomicU64,
    pub(super) delivered_bytes: AtomicU64,
    pub(super) lost: AtomicU64,
    pub(super) duplicated: AtomicU64,
    pub(super) failures: AtomicU64,
    /// Sessions whose tracker and agents are all connected and caught up.
    pub(super) ready: AtomicU64,
    pub(super) latencies: Mutex<Vec<u64>>,
    pub(super) ack_latencies: Mutex<Vec<u64>>,
    /// Window start → first full snapshot, for the agents connected before the window.
    pub(super) initial_joins: Mutex<Vec<u64>>,
    /// Connect → first full snapshot, for the agents joining during the window.
    pub(super) joins: Mutex<Vec<u64>>,
    pub(super) joins_timed_out: AtomicU64,
    pub(super) joins_failed: AtomicU64,
}

/// Runs a load test and reports what it measured.
pub async fn run(config: LoadConfig) -> Result<Report, LoadError> {
    let config = Arc::new(config);
    let totals = Arc::new(Totals::default());
    let server_pid = config.server_pid.or_else(|| local_pid(&config.server));
    let store_pid = config
        .store_pid
        .or_else(|| config.store_endpoint.as_deref().and_then(local_pid));
    let mut server = server_pid.map(ProcWatch::new);
    let mut store = store_pid.map(ProcWatch::new);
    let watched = watched_sessions(config.sessions, config.watched);
    let live: Arc<Mutex<Vec<String>>> = Default::default();
    let (go_tx, go) = watch::channel(false);
    let (stop_tx, stop) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut sessions = Vec::new();
    for i in 0..config.sessions {
        let session = Session {
            index: i,
            agents: if is_watched(i, config.sessions, watched) {
                config.agents_per_session
            } else {
                0
            },
            config: config.clone(),
            totals: totals.clone(),
            live: live.clone(),
        };
        sessions.push(tokio::spawn(session.run(
            gate.clone(),
            go.clone(),
            stop.clone(),
        )));
    }
    // Everyone connects first; then the measured window starts for all at once.
    while (totals.failures.load(Ordering::SeqCst) + totals.ready.load(Ordering::SeqCst))
        < config.sessions as u64
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for process in server.iter_mut().chain(store.iter_mut()) {
        process.connected();
    }
    let start = Instant::now();
    for process in server.iter_mut().chain(store.iter_mut()) {
        process.window_started();
    }
    let _ = go_tx.send(true);
    let joins = tokio::spawn(join_during(
        config.clone(),
        totals.clone(),
        live,
        start + config.duration,
        stop.clone(),
    ));
    tokio::time::sleep(config.duration).await;
    let elapsed = start.elapsed();
    for process in server.iter_mut().chain(store.iter_mut()) {
        process.window_ended();
    }
    let _ = stop_tx.send(true);
    let mut connections = 0;
    for session in sessions {
        connections += session.await.unwrap_or(0);
    }
    let _ = joins.await;
    if connections == 0 {
        return Err(LoadError::NothingConnected(config.server.clone()));
    }
    let secs = elapsed.as_secs_f64();
    let mb = |b: u64| b as f64 / 1_000_000.0;
    let ingested = totals.ingested_bytes.load(Ordering::SeqCst);
    let cost = |process: Option<ProcWatch>| process?.cost(config.sessions, mb(ingested), secs);
    let take = |m: &Mutex<Vec<u64>>| std::mem::take(&mut *m.lock().expect("lock"));
    Ok(Report {
        target: config.server.clone(),
        sessions: config.sessions,
        watched_sessions: watched,
        agents_per_session: config.agents_per_session,
        duration_s: secs,
        connections,
        connect_failures: totals.failures.load(Ordering::SeqCst) as usize,
        events_sent: totals.sent.load(Ordering::SeqCst),
        tracker_batches_per_s: totals.batches.load(Ordering::SeqCst) as f64 / secs,
        events_acked: totals.acked.load(Ordering::SeqCst),
        ingested_events_per_s: totals.acked.load(Ordering::SeqCst) as f64 / secs,
        ingested_mb_per_s: mb(ingested) / secs,
        delivered_events_per_s: totals.delivered.load(Ordering::SeqCst) as f64 / secs,
        delivered_mb_per_s: mb(totals.delivered_bytes.load(Ordering::SeqCst)) / secs,
        end_to_end_ms: Percentiles::from_micros(take(&totals.latencies)),
        ack_ms: Percentiles::from_micros(take(&totals.ack_latencies)),
        lost: totals.lost.load(Ordering::SeqCst),
        duplicated: totals.duplicated.load(Ordering::SeqCst),
        initial_join_ms: Percentiles::from_micros(take(&totals.initial_joins)),
        join_ms: Percentiles::from_micros(take(&totals.joins)),
        joins: config.joins,
        joins_timed_out: totals.joins_timed_out.load(Ordering::SeqCst),
        joins_failed: totals.joins_failed.load(Ordering::SeqCst),
        server: cost(server),
        store: cost(store),
    })
}

/// How many of `sessions` are watched at `fraction`.
fn watched_sessions(sessions: usize, fraction: f64) -> usize {
    ((sessions as f64 * fraction.clamp(0.0, 1.0)).round() as usize).min(sessions)
}

/// Whether session `index` is one of the `watched` of `sessions`: exactly `watched` of them are,
/// spread evenly over the indices (and so over the connect order).
pub(super) fn is_watched(index: usize, sessions: usize, watched: usize) -> bool {
    sessions > 0 && (index * watched) % sessions < watched
}

/// A batch sent and not yet acknowledged.
struct InFlight {
    last_seq: u64,
    sent: Instant,
    events: u64,
    bytes: u64,
}

struct Session {
    index: usize,
    /// Agents following it from the start: 0 for an unwatched session.
    agents: usize,
    config: Arc<LoadConfig>,
    totals: Arc<Totals>,
    /// Ids of the connected sessions, for agents joining during the window.
    live: Arc<Mutex<Vec<String>>>,
}

impl Session {
    /// Returns the connections it held.
    async fn run(
        self,
        gate: Arc<Semaphore>,
        mut go: watch::Receiver<bool>,
        stop: watch::Receiver<bool>,
    ) -> usize {
        let permit = gate.acquire_owned().await.expect("never closed");
        let Some((tracker, session_id)) =
            open_tracker(&self.config.server, &self.config.project_key, self.index).await
        else {
            self.totals.failures.fetch_add(1, Ordering::SeqCst);
            return 0;
        };
        let mut agents = Vec::new();
        for _ in 0..self.agents {
            match open_agent(&self.config.server, &self.config.agent_token, &session_id).await {
                Some(agent) => agents.push(agent),
                None => {
                    self.totals.failures.fetch_add(1, Ordering::SeqCst);
                    return 0;
                }
            }
        }
        drop(permit);
        self.live.lock().expect("lock").push(session_id);
        self.totals.ready.fetch_add(1, Ordering::SeqCst);
        let _ = go.wait_for(|go| *go).await;
        // The tracker sends its first snapshot now: the agents' join is timed from here.
        let window_start = now_micros();
        let acked_through = Arc::new(AtomicU64::new(0));
        let tracker_done = Arc::new(AtomicBool::new(false));
        let agent_tasks: Vec<_> = agents
            .into_iter()
            .map(|ws| {
                tokio::spawn(follow(
                    ws,
                    self.totals.clone(),
                    Progress {
                        acked_through: acked_through.clone(),
                        tracker_done: tracker_done.clone(),
                        joined: window_start,
                    },
                    stop.clone(),
                ))
            })
            .collect();
        let held = 1 + agent_tasks.len();
        self.track(tracker, acked_through, stop).await;
        tracker_done.store(true, Ordering::SeqCst);
        for task in agent_tasks {
            let _ = task.await;
        }
        held
    }

    /// Sends the snapshot, then events at the configured rate until told to stop, answering
    /// `resync` with the snapshot again; then waits for the last acknowledgement.
    async fn track(
        &self,
        ws: Socket,
        acked_through: Arc<AtomicU64>,
        mut stop: watch::Receiver<bool>,
    ) {
        let (mut sink, mut stream) = ws.split();
        let in_flight: Arc<Mutex<VecDeque<InFlight>>> = Default::default();
        let resync = Arc::new(AtomicBool::new(true));
        let watched = Arc::new(AtomicBool::new(true));
        let acked = Arc::new(Notify::new());
        let resynced = Arc::new(Notify::new());
        let reader = {
            let (in_flight, resync, watched, totals, acked_through, notify, resynced) = (
                in_flight.clone(),
                resync.clone(),
                watched.clone(),
                self.totals.clone(),
                acked_through.clone(),
                acked.clone(),
                resynced.clone(),
            );
            tokio::spawn(async move {
                // Pings (the server's idle check) are answered by the socket as it is read;
                // only a close or an error ends the tracker.
                while let Some(Ok(message)) = stream.next().await {
                    let b = match message {
                        Message::Binary(b) => b,
                        Message::Close(_) => break,
                        _ => continue,
                    };
                    match rmp_serde::from_slice::<ServerMessage>(&b) {
                        Ok(ServerMessage::Ack { seq }) => {
                            let mut queue = in_flight.lock().expect("lock");
                            while queue.front().is_some_and(|b| b.last_seq <= seq) {
                                let batch = queue.pop_front().expect("checked");
                                totals.acked.fetch_add(batch.events, Ordering::SeqCst);
                                totals
                                    .ingested_bytes
                                    .fetch_add(batch.bytes, Ordering::SeqCst);
                                totals
                                    .ack_latencies
                                    .lock()
                                    .expect("lock")
                                    .push(batch.sent.elapsed().as_micros() as u64);
                            }
                            acked_through.store(seq, Ordering::SeqCst);
                            notify.notify_one();
                        }
                        Ok(ServerMessage::Resync) => {
                            resync.store(true, Ordering::SeqCst);
                            resynced.notify_one();
                        }
                        Ok(ServerMessage::Watching { agents, .. }) => {
                            watched.store(agents > 0, Ordering::SeqCst);
                        }
                        _ => {}
                    }
                }
            })
        };
        let sending = self.config.sending;
        let tick_every = match sending {
            Sending::Burst => BATCH_INTERVAL,
            Sending::Timer | Sending::OnAck => STEADY_TICK,
        };
        let per_tick = self.config.events_per_sec as f64 * tick_every.as_secs_f64();
        let mix = &self.config.mix;
        let mut seq = 0u64;
        let mut next = self.index * 7 % mix.incremental.len();
        let mut tick = tokio::time::interval(tick_every);
        let mut events: Vec<TrackerEvent> = Vec::new();
        let mut bytes = 0u64;
        let mut credit = 0.0;
        // When the first event now waiting was made.
        let mut waiting_since: Option<tokio::time::Instant> = None;
        loop {
            let watching = watched.load(Ordering::SeqCst);
            let delay = match (watching, sending) {
                (false, _) => Some(UNWATCHED_DELAY),
                (true, Sending::Timer) => Some(BATCH_INTERVAL),
                (true, Sending::Burst | Sending::OnAck) => None,
            };
            let due = waiting_since.zip(delay).map(|(since, delay)| since + delay);
            // Whether this wake-up is a tick, when the page makes its next events.
            let ticked = tokio::select! {
                _ = stop.changed() => break,
                _ = tick.tick() => true,
                // The tracker takes the snapshot as soon as it is asked, not at the next tick.
                _ = resynced.notified() => false,
                _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => false,
                _ = acked.notified(), if sending == Sending::OnAck => false,
            };
            let mut bodies: Vec<&Vec<u8>> = Vec::new();
            if resync.swap(false, Ordering::SeqCst) {
                bodies.extend(&mix.snapshot);
            }
            if ticked {
                let count = match sending {
                    Sending::Burst => per_tick.max(1.0),
                    Sending::Timer | Sending::OnAck => {
                        credit += per_tick;
                        let whole = credit.floor();
                        credit -= whole;
                        whole
                    }
                };
                for _ in 0..count as usize {
                    bodies.push(&mix.incremental[next]);
                    next = (next + 1) % mix.incremental.len();
                }
            }
            if !bodies.is_empty() && waiting_since.is_none() {
                waiting_since = Some(tokio::time::Instant::now());
            }
            bytes += bodies.iter().map(|b| b.len() as u64).sum::<u64>();
            events.extend(bodies.into_iter().map(|body| {
                seq += 1;
                TrackerEvent {
                    seq,
                    ts: now_micros(),
                    kind: TrackerEventKind::Rrweb,
                    data: ByteBuf::from(body.clone()),
                }
            }));
            let now = tokio::time::Instant::now();
            let send = !events.is_empty()
                && match (watched.load(Ordering::SeqCst), sending) {
                    (true, Sending::Burst) => true,
                    (true, Sending::OnAck) => in_flight.lock().expect("lock").is_empty(),
                    (false, _) => waiting_since.is_some_and(|t| now >= t + UNWATCHED_DELAY),
                    (true, Sending::Timer) => {
                        waiting_since.is_some_and(|t| now >= t + BATCH_INTERVAL)
                    }
                };
            if !send {
                continue;
            }
            waiting_since = None;
            let events = std::mem::take(&mut events);
            let bytes = std::mem::take(&mut bytes);
            let count = events.len() as u64;
            in_flight.lock().expect("lock").push_back(InFlight {
                last_seq: seq,
                sent: Instant::now(),
                events: count,
                bytes,
            });
            self.totals.sent.fetch_add(count, Ordering::SeqCst);
            self.totals.batches.fetch_add(1, Ordering::SeqCst);
            if sink
                .send(binary(&TrackerMessage::Events { events }))
                .await
                .is_err()
            {
                break;
            }
        }
        // Events generated but not yet sent when the window closed were never offered.
        let last_sent = seq - events.len() as u64;
        let deadline = Instant::now() + DRAIN;
        while acked_through.load(Ordering::SeqCst) < last_sent && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        reader.abort();
        let _ = sink.close().await;
    }
}

/// A tracker's WebSocket past `welcome`, and its session's id.
pub(super) async fn open_tracker(
    server: &str,
    project_key: &str,
    index: usize,
) -> Option<(Socket, String)> {
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        project_key: project_key.to_string(),
        session_token: None,
        tab: format!("load-{}", index),
        page: PageInfo {
            url: format!("https://load.example/page/{}", index),
            referrer: None,
            title: Some("load".into()),
            user_agent: "cobrowse-load".into(),
            viewport: Viewport {
                width: 1280,
                height: 800,
            },
        },
        user_id: Some(format!("load-user-{}", index)),
        metadata: Default::default(),
        view: Default::default(),
    };
    open_tracker_with(server, hello).await
}

/// A tracker's WebSocket that said `hello`, past the server's `welcome`, and its session's id.
pub(super) async fn open_tracker_with(server: &str, hello: Hello) -> Option<(Socket, String)> {
    let url = format!("{}/api/v1/track", ws_base(server));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.ok()?;
    ws.send(binary(&TrackerMessage::Hello(Box::new(hello))))
        .await
        .ok()?;
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Binary(b) = message
            && let Ok(ServerMessage::Welcome { session_id, .. }) = rmp_serde::from_slice(&b)
        {
            return Some((ws, session_id.to_string()));
        }
    }
    None
}

pub(super) fn binary(message: &TrackerMessage) -> Message {
    Message::Binary(
        rmp_serde::to_vec_named(message)
            .expect("tracker messages serialize")
            .into(),
    )
}

pub(super) fn ws_base(server: &str) -> String {
    server
        .trim_end_matches('/')
        .replacen("http://", "ws://", 1)
        .replacen("https://", "wss://", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watched_share_is_spread_over_the_sessions() {
        assert_eq!(watched_sessions(1000, 0.05), 50);
        assert_eq!(watched_sessions(10, 1.0), 10);
        assert_eq!(watched_sessions(10, 0.0), 0);
        assert_eq!(watched_sessions(3, 0.5), 2);
        for (sessions, watched) in [(1000, 50), (10, 10), (10, 0), (7, 3), (1, 1), (0, 0)] {
            let which: Vec<usize> = (0..sessions)
                .filter(|&i| is_watched(i, sessions, watched))
                .collect();
            assert_eq!(which.len(), watched, "{watched} of {sessions}");
            if watched > 1 {
                // Evenly apart: no gap wider than the mean by more than one.
                let widest = which.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
                assert!(widest <= sessions.div_ceil(watched), "{which:?}");
            }
        }
    }
}
