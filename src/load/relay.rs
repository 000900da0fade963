//! The baseline: a plain WebSocket relay that speaks the same protocol but stores nothing. A
//! tracker's batch is acknowledged on arrival and fanned out to the session's agents at once, so
//! the same load run against it shows what the network, the encoding and this machine cost
//! without S2, and every cobrowse figure can be read against it.
//!
//! It speaks as much of the protocol as the load tool relies on: `welcome`, `ack`, `watching`
//! (so unwatched trackers batch as they do against the server) and `resync` when an agent joins;
//! `caught_up`, then `events`, to agents. `cobrowse load --baseline` runs it as a separate
//! process ([`RelayProcess`], `cobrowse relay`), so that the two ends of 10 000 sessions do not
//! share one process's open-file limit and its CPU is measured apart from the load tool's.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dashmap::DashMap;
use serde_bytes::ByteBuf;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use cobrowse::clock::now_ms;
use cobrowse::protocol::SessionId;
use cobrowse::protocol::{
    AgentMessage, DeliveredEvent, Limits, RecordKind, ServerMessage, TrackerMessage,
};

type Batch = Arc<Vec<DeliveredEvent>>;

struct RelaySession {
    events: broadcast::Sender<Batch>,
    resync: broadcast::Sender<()>,
    /// Agents connected, for the tracker's `watching`.
    agents: watch::Sender<u32>,
    next_seq: AtomicU64,
}

#[derive(Default)]
struct RelayState {
    sessions: DashMap<SessionId, Arc<RelaySession>>,
}

/// A running relay, in this process.
pub struct Relay {
    pub addr: SocketAddr,
    stop: CancellationToken,
}

impl Relay {
    /// Listens on `addr` (port 0 picks one).
    pub async fn start(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(RelayState::default());
        let app = Router::new()
            .route("/api/v1/track", get(track))
            .route("/api/v1/sessions/{id}/live", get(live))
            .with_state(state);
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await;
        });
        Ok(Self { addr, stop })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

fn encode<T: serde::Serialize>(message: &T) -> Message {
    Message::Binary(
        rmp_serde::to_vec_named(message)
            .expect("protocol messages serialize")
            .into(),
    )
}

async fn track(State(state): State<Arc<RelayState>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| relay_tracker(state, socket))
}

async fn relay_tracker(state: Arc<RelayState>, mut socket: WebSocket) {
    let Some(Ok(Message::Binary(first))) = socket.recv().await else {
        return;
    };
    let Ok(TrackerMessage::Hello(hello)) = rmp_serde::from_slice(&first) else {
        return;
    };
    let id = SessionId::new();
    let session = Arc::new(RelaySession {
        events: broadcast::channel(512).0,
        resync: broadcast::channel(16).0,
        agents: watch::channel(0).0,
        next_seq: AtomicU64::new(0),
    });
    state.sessions.insert(id, session.clone());
    let mut resync = session.resync.subscribe();
    let mut agents = session.agents.subscribe();
    let welcome = ServerMessage::Welcome {
        session_id: id,
        session_token: "relay".into(),
        tab: hello.tab.clone(),
        resumed: false,
        limits: Limits {
            max_frame_bytes: usize::MAX,
            max_event_bytes: usize::MAX,
            events_per_sec: u32::MAX,
            bytes_per_sec: u64::MAX,
        },
        help_codes: false,
        view: None,
    };
    let watching = ServerMessage::Watching {
        agents: *agents.borrow_and_update(),
        watchers: Vec::new(),
    };
    if socket.send(encode(&welcome)).await.is_err() || socket.send(encode(&watching)).await.is_err()
    {
        state.sessions.remove(&id);
        return;
    }
    loop {
        tokio::select! {
            Ok(()) = agents.changed() => {
                let watching = ServerMessage::Watching { agents: *agents.borrow_and_update(), watchers: Vec::new() };
                if socket.send(encode(&watching)).await.is_err() {
                    break;
                }
            }
            _ = resync.recv() => {
                if socket.send(encode(&ServerMessage::Resync)).await.is_err() {
                    break;
                }
            }
            message = socket.recv() => {
                let Some(Ok(Message::Binary(data))) = message else { break };
                let Ok(TrackerMessage::Events { events }) = rmp_serde::from_slice(&data) else {
                    continue;
                };
                let Some(last) = events.iter().map(|e| e.seq).max() else { continue };
                let now = now_ms();
                let batch: Vec<DeliveredEvent> = events
                    .into_iter()
                    .map(|e| DeliveredEvent {
                        seq_num: session.next_seq.fetch_add(1, Ordering::Relaxed),
                        ts: now,
                        kind: RecordKind::Rrweb,
                        tab: hello.tab.clone(),
                        client_seq: e.seq,
                        client_ts: e.ts,
                        data: ByteBuf::from(e.data.into_vec()),
                    })
                    .collect();
                let _ = session.events.send(Arc::new(batch));
                if socket.send(encode(&ServerMessage::Ack { seq: last })).await.is_err() {
                    break;
                }
            }
        }
    }
    state.sessions.remove(&id);
}

async fn live(
    State(state): State<Arc<RelayState>>,
    Path(id): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let session = id
        .parse::<SessionId>()
        .ok()
        .and_then(|id| state.sessions.get(&id).map(|s| s.clone()));
    let Some(session) = session else {
        return StatusCode::NOT_FOUND.into_response();
    };
    ws.on_upgrade(move |socket| relay_agent(session, socket))
}

async fn relay_agent(session: Arc<RelaySession>, mut socket: WebSocket) {
    let mut events = session.events.subscribe();
    session.agents.send_modify(|n| *n += 1);
    let _ = session.resync.send(());
    let caught_up = AgentMessage::CaughtUp {
        seq_num: session.next_seq.load(Ordering::Relaxed),
    };
    if socket.send(encode(&caught_up)).await.is_ok() {
        while let Ok(batch) = events.recv().await {
            let message = AgentMessage::Events {
                events: batch.as_ref().clone(),
            };
            if socket.send(encode(&message)).await.is_err() {
                break;
            }
        }
    }
    session.agents.send_modify(|n| *n = n.saturating_sub(1));
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("cannot start the relay process ({0})")]
    Spawn(std::io::Error),
    #[error("the relay process did not say where it listens")]
    NoAddress,
}

/// The relay in a child process (`cobrowse relay`), stopped when dropped.
pub struct RelayProcess {
    child: Child,
    url: String,
}

impl RelayProcess {
    /// Starts `cobrowse relay` from this executable on a free loopback port, and waits for the
    /// URL it prints.
    pub async fn spawn() -> Result<Self, RelayError> {
        let exe = std::env::current_exe().map_err(RelayError::Spawn)?;
        let mut child = Command::new(exe)
            .args(["relay", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(RelayError::Spawn)?;
        let stdout = child.stdout.take().ok_or(RelayError::NoAddress)?;
        let line = BufReader::new(stdout)
            .lines()
            .next_line()
            .await
            .map_err(RelayError::Spawn)?
            .ok_or(RelayError::NoAddress)?;
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .ok_or(RelayError::NoAddress)?
            .to_string();
        Ok(Self { child, url })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its pid, for its RSS and CPU.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}
