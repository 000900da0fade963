//! Agents following a session: over a WebSocket (`GET /api/v1/sessions/{id}/live`, MessagePack
//! frames) here, or over Server-Sent Events (`GET /api/v1/sessions/{id}/events/stream`, resumable
//! with `Last-Event-ID`) in [`super::sse`]. Both start where the agent asks and then follow the
//! session live, through the agent's [`ViewGate`] (closed until the user lets it in, where the
//! session asks).
//!
//! A slow agent never slows anyone else: it reads from its own subscription to the room's shared
//! tail, and when it falls too far behind, or a send to it blocks too long, it is disconnected
//! with the sequence number to resume from.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::agent::subscription::{Subscription, TailError, TailItem};
use crate::agent::view_gate::{self, Pass, ViewAsk, ViewGate};
use crate::auth::agent::signal_needs;
use crate::auth::{Agent, Refusal};
use crate::clock::now_ms;
use crate::http::access;
use crate::http::agent_auth::LiveAgent;
use crate::http::error::ApiError;
use crate::protocol::SessionId;
use crate::protocol::{AgentMessage, DeliveredEvent, ViewConsentState, close};
use crate::protocol::{AgentRef, AuditAction, FollowVia, Signal, from_msgpack};
use crate::session::consent::view::account;
use crate::session::limits::TokenBucket;
use crate::session::rooms::Presence;
use crate::session::view_access;
use crate::signal::SignalBus;
use crate::state::AppState;
use crate::store::ReadFrom;
use crate::store::frame::StoredEvent;
use crate::store::stream::{StoreError, resolve_start};

/// How often an agent's node tells the session's tracker node the agent is still there.
const AGENT_HEARTBEAT: Duration = Duration::from_secs(15);
/// Agents send requests, input and strokes: small, and a few dozen a second at most.
const MAX_AGENT_FRAME: usize = 64 * 1024;
const AGENT_FRAMES_PER_SEC: u32 = 50;
const AGENT_FRAMES_BURST: u32 = 100;
/// Read buffer of an agent's WebSocket: a larger frame still arrives whole, over several reads.
const AGENT_READ_BUFFER_BYTES: usize = 4 * 1024;

/// Where an agent starts reading.
#[derive(Debug, Default, Deserialize)]
pub struct StartQuery {
    /// `beginning` (default) or `live`.
    pub from: Option<String>,
    pub from_seq: Option<u64>,
    /// Milliseconds since the Unix epoch.
    pub from_ts: Option<u64>,
}

impl StartQuery {
    pub(super) fn read_from(&self, last_event_id: Option<u64>) -> Result<ReadFrom, ApiError> {
        if let Some(id) = last_event_id {
            // An id no event can have (u64::MAX) must not wrap around to the first event.
            let next = id.checked_add(1).ok_or_else(|| {
                ApiError::bad_request("Last-Event-ID is past every sequence number")
            })?;
            return Ok(ReadFrom::SeqNum(next));
        }
        if let Some(seq) = self.from_seq {
            return Ok(ReadFrom::SeqNum(seq));
        }
        if let Some(ts) = self.from_ts {
            return Ok(ReadFrom::Timestamp(ts));
        }
        match self.from.as_deref() {
            None | Some("beginning") => Ok(ReadFrom::SeqNum(0)),
            Some("live") => Ok(ReadFrom::TailOffset(0)),
            Some(other) => Err(ApiError::bad_request(format!(
                "from={other} is not one of: beginning, live (or use from_seq / from_ts)"
            ))),
        }
    }
}

/// Finds the session and its start, writes the read to the audit stream, and joins the room: all
/// before the upgrade, so a refusal is a plain HTTP error with a JSON body.
pub(super) async fn open(
    state: &Arc<AppState>,
    id: &str,
    query: &StartQuery,
    last_event_id: Option<u64>,
    agent: Agent,
    via: FollowVia,
) -> Result<(Seat, Subscription, ViewGate), ApiError> {
    let id = id.parse::<SessionId>()?;
    let from = query.read_from(last_event_id)?;
    access::require_sees(state, &agent, id, "watch a session").await?;
    let stream = state.store.session(id);
    // Also how a missing session is told apart, whatever the start.
    let tail = stream.tail().await?;
    let start = resolve_start(&stream, from).await?;
    let asks = view_access::asks(&stream, tail.seq_num).await?;
    // Join first, then count: two agents arriving together cannot both slip under the limit.
    let presence = state.rooms.join_agent(id);
    if presence.room().agent_count() > state.max_agents_per_room {
        return Err(ApiError::too_many(format!(
            "session {id} already has the most agents watching it ({})",
            state.max_agents_per_room
        )));
    }
    // The session's records and the user's prompts name the agent as people know it (the
    // identity provider's `name`); the audit stream has its stable name.
    let agent_ref = AgentRef {
        id: uuid::Uuid::new_v4().to_string(),
        name: agent.display_name.clone(),
    };
    // A replay of an ended session writes nothing to the session's stream (it is sealed), and
    // a live follow's `joined` reaches it only where a node holds the session: the audit stream
    // has every follow.
    let action = AuditAction::Follow {
        via,
        agent_id: agent_ref.id.clone(),
        from_seq: start,
    };
    state.audit(&agent.name, id, action).await?;
    let room = presence.room();
    let subscription = Subscription::new(room.stream().clone(), room.feed().clone(), start);
    let gate = if asks {
        let reopen = (room.stream().clone(), room.feed().clone(), start);
        ViewGate::waiting(agent_ref.id.clone(), account(&agent.principal()), reopen)
    } else {
        ViewGate::open(agent_ref.id.clone())
    };
    let seat = Seat::take(state, presence, agent_ref, agent, gate.ask());
    Ok((seat, subscription, gate))
}

/// An agent's place in a session. Taking it tells the session's tracker node that the agent
/// joined (which asks the page for a fresh snapshot); heartbeats follow while the agent stays, and
/// dropping it says the agent left, which ends its grants.
pub(super) struct Seat {
    agent: AgentRef,
    /// Who it is and what its role allows: every signal it sends is checked against it.
    signed_in: Agent,
    _presence: Presence,
    session: SessionId,
    signals: Arc<SignalBus>,
    /// Stops the heartbeats; cancelled before `left` is sent.
    heartbeat: CancellationToken,
}

impl Seat {
    /// `view` is what the session's tracker node hears, with `joined` and each heartbeat, while
    /// the session asks the user before anyone watches.
    fn take(
        state: &Arc<AppState>,
        presence: Presence,
        agent: AgentRef,
        signed_in: Agent,
        view: Option<Arc<ViewAsk>>,
    ) -> Self {
        let session = presence.room().id;
        state.signals.publish(session, &agent, Signal::Joined);
        let ask = move |signals: &SignalBus, agent: &AgentRef| {
            if let Some(view) = &view {
                signals.publish(session, agent, view.signal());
            }
        };
        ask(&state.signals, &agent);
        let stop = CancellationToken::new();
        let heartbeat = {
            let (stop, shutdown) = (stop.clone(), state.shutdown.clone());
            let (signals, agent) = (state.signals.clone(), agent.clone());
            async move {
                let mut beat = tokio::time::interval_at(
                    tokio::time::Instant::now() + AGENT_HEARTBEAT,
                    AGENT_HEARTBEAT,
                );
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = shutdown.cancelled() => return,
                        _ = beat.tick() => {
                            signals.publish(session, &agent, Signal::Heartbeat);
                            ask(&signals, &agent);
                        }
                    }
                }
            }
        };
        tokio::spawn(heartbeat);
        Self {
            agent,
            signed_in,
            _presence: presence,
            session,
            signals: state.signals.clone(),
            heartbeat: stop,
        }
    }

    /// Where call messages for this connection arrive (WebSocket agents only: SSE cannot answer).
    fn inbox(&self) -> tokio::sync::mpsc::Receiver<AgentMessage> {
        self.signals.inbox(&self.agent.id)
    }

    /// Checks a frame the agent sent and passes its signal on; why not, if not.
    fn take_frame(&self, message: Message, limiter: &mut TokenBucket) -> Option<FrameRefused> {
        let error = |error: &str, message: String| {
            Some(FrameRefused::Invalid(AgentMessage::Error {
                error: error.to_string(),
                message,
            }))
        };
        let data = match message {
            Message::Binary(data) => data,
            Message::Text(_) => {
                return error(
                    "malformed",
                    "send binary MessagePack frames, not text".into(),
                );
            }
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => return None,
        };
        if data.len() > MAX_AGENT_FRAME {
            return error(
                "too_big",
                format!(
                    "frame of {} bytes is over the {MAX_AGENT_FRAME}-byte limit",
                    data.len()
                ),
            );
        }
        if !limiter.try_take(1.0, Instant::now()) {
            return error(
                "rate_limited",
                format!("more than {AGENT_FRAMES_PER_SEC} frames a second; this one was dropped"),
            );
        }
        let signal: Signal = match from_msgpack(&data) {
            Ok(signal) => signal,
            Err(e) => return error("malformed", format!("not a message of this protocol: {e}")),
        };
        if !signal.from_agent() {
            return error(
                "malformed",
                format!("agents may send only {:?}", Signal::AGENT_TYPES),
            );
        }
        if let Err(reason) = signal.validate() {
            return error("malformed", reason);
        }
        let (needs, what) = signal_needs(&signal);
        if let Err(refusal) = self.signed_in.require(needs, what) {
            return Some(FrameRefused::Forbidden(refusal));
        }
        self.signals.publish(self.session, &self.agent, signal);
        None
    }

    /// Tells the agent, the session's stream (through its holding node) and the audit stream that
    /// the agent's role does not allow what it asked.
    async fn refuse(&self, state: &AppState, refusal: Refusal) -> AgentMessage {
        let forbidden = Signal::Forbidden {
            what: refusal.what.clone(),
            role: refusal.role,
            needs: refusal.needs,
        };
        self.signals.publish(self.session, &self.agent, forbidden);
        access::record_refusal(state, &refusal, Some(self.session)).await;
        AgentMessage::Error {
            error: "forbidden".to_string(),
            message: refusal.to_string(),
        }
    }
}

/// Why a frame from an agent was not passed on.
enum FrameRefused {
    /// Malformed, too big or too many: the error to send back.
    Invalid(AgentMessage),
    /// Well-formed, but the agent's role does not allow it.
    Forbidden(Refusal),
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.heartbeat.cancel();
        self.signals.close_inbox(&self.agent.id);
        self.signals
            .publish(self.session, &self.agent, Signal::Left);
    }
}

pub async fn websocket(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<StartQuery>, QueryRejection>,
    agent: Result<LiveAgent, ApiError>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let opened = async {
        let Query(query) = query.map_err(ApiError::from)?;
        let LiveAgent(agent) = agent?;
        let ws = ws.map_err(|e| {
            ApiError::bad_request(format!("this route needs a WebSocket upgrade: {e}"))
        })?;
        Ok::<_, ApiError>((
            ws,
            open(&state, &id, &query, None, agent, FollowVia::Websocket).await?,
        ))
    };
    let (ws, (seat, subscription, gate)) = match opened.await {
        Ok(opened) => opened,
        Err(e) => return e.into_response(),
    };
    let tasks = state.tasks.clone();
    // Small read buffer (agents send a few small signals); frames are written as they are sent.
    ws.read_buffer_size(AGENT_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(MAX_AGENT_FRAME * 4)
        .on_upgrade(move |socket| {
            tasks.track_future(follow_over_websocket(
                state,
                socket,
                seat,
                subscription,
                gate,
            ))
        })
}

async fn follow_over_websocket(
    state: Arc<AppState>,
    mut socket: WebSocket,
    seat: Seat,
    mut subscription: Subscription,
    mut gate: ViewGate,
) {
    // Where this agent should resume: just after the last event it was sent.
    let mut resume_from = subscription.next_seq();
    let mut limiter = TokenBucket::new(
        f64::from(AGENT_FRAMES_PER_SEC),
        f64::from(AGENT_FRAMES_BURST),
        Instant::now(),
    );
    let joined = AgentMessage::Joined {
        agent: seat.agent.clone(),
    };
    if send_message(&state, &mut socket, &joined).await.is_err() {
        return;
    }
    let consent = |state| AgentMessage::ViewConsent { state };
    if gate.is_waiting()
        && send_message(&state, &mut socket, &consent(ViewConsentState::Asking))
            .await
            .is_err()
    {
        return;
    }
    let mut inbox = seat.inbox();
    let (code, reason) = loop {
        let item = tokio::select! {
            _ = state.shutdown.cancelled() => break (close::GOING_AWAY, "server is shutting down; reconnect".to_string()),
            Some(message) = inbox.recv() => {
                if !gate.passes_call() {
                    state.metrics.rejected.with_label_values(&["view_withheld"]).inc();
                    continue;
                }
                match send_message(&state, &mut socket, &message).await {
                    Ok(()) => continue,
                    Err(_) => return,
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(message)) => {
                    let error = match seat.take_frame(message, &mut limiter) {
                        None => None,
                        Some(FrameRefused::Invalid(error)) => {
                            state.metrics.rejected.with_label_values(&["agent_frame"]).inc();
                            Some(error)
                        }
                        Some(FrameRefused::Forbidden(refusal)) => Some(seat.refuse(&state, refusal).await),
                    };
                    if let Some(error) = error
                        && send_message(&state, &mut socket, &error).await.is_err()
                    {
                        return;
                    }
                    continue;
                }
            },
            item = subscription.next() => item,
        };
        let item = match item.map(|item| item.map(|item| gate.pass(item))) {
            Ok(Some(Pass::Send(item))) => Ok(Some(item)),
            Ok(Some(Pass::Withhold)) => continue,
            Ok(Some(Pass::Opened)) => {
                if let Some(reopened) = gate.reopened() {
                    subscription = reopened;
                    resume_from = subscription.next_seq();
                }
                let granted = consent(ViewConsentState::Granted);
                match send_message(&state, &mut socket, &granted).await {
                    Ok(()) => continue,
                    Err(_) => return,
                }
            }
            Ok(Some(Pass::Refused(refused))) => {
                let _ = send_message(&state, &mut socket, &consent(refused)).await;
                break view_gate::refusal(refused);
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let (message, sent_through) = match item {
            Ok(Some(TailItem::Events(events))) => {
                let last = events.last().map_or(resume_from, |e| e.seq_num + 1);
                let events = delivered(&state, events);
                (AgentMessage::Events { events }, last)
            }
            Ok(Some(TailItem::CaughtUp { next_seq })) => (
                AgentMessage::CaughtUp {
                    seq_num: next_seq.saturating_sub(1),
                },
                next_seq,
            ),
            Ok(None) => break (1000, "session ended".to_string()),
            Err(e) => break tail_close(e),
        };
        match send_message(&state, &mut socket, &message).await {
            Ok(()) => resume_from = sent_through,
            Err(SendFailure::Closed) => return,
            Err(SendFailure::TimedOut) => {
                state
                    .metrics
                    .rejected
                    .with_label_values(&["slow_agent"])
                    .inc();
                break (
                    close::TOO_SLOW,
                    format!(
                        "agent did not read for {:?}; reconnect with from_seq={resume_from}",
                        state.agent_send_timeout,
                    ),
                );
            }
        }
    };
    let close = socket.send(Message::Close(Some(CloseFrame {
        code,
        reason: close::reason(&reason).into(),
    })));
    // An agent that stopped reading cannot take the close frame either; give up on it.
    let _ = tokio::time::timeout(state.agent_send_timeout, close).await;
}

enum SendFailure {
    Closed,
    TimedOut,
}

/// Sends one message, giving up on an agent that does not read within `--agent-send-timeout`.
async fn send_message(
    state: &AppState,
    socket: &mut WebSocket,
    message: &AgentMessage,
) -> Result<(), SendFailure> {
    let bytes = rmp_serde::to_vec_named(message).expect("agent messages serialize");
    match tokio::time::timeout(
        state.agent_send_timeout,
        socket.send(Message::Binary(bytes.into())),
    )
    .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(SendFailure::Closed),
        Err(_) => Err(SendFailure::TimedOut),
    }
}

pub(super) fn tail_close(e: TailError) -> (u16, String) {
    let code = match &e {
        TailError::TooSlow { .. } => close::TOO_SLOW,
        TailError::Store(StoreError::NotFound(_)) => close::NOT_FOUND,
        TailError::Store(_) | TailError::FeedClosed { .. } => close::INTERNAL,
    };
    (code, e.to_string())
}

pub(super) fn delivered(state: &AppState, events: Vec<StoredEvent>) -> Vec<DeliveredEvent> {
    let now = now_ms();
    state.metrics.events_delivered.inc_by(events.len() as u64);
    events
        .into_iter()
        .map(|e| {
            state
                .metrics
                .agent_lag
                .observe(now.saturating_sub(e.timestamp) as f64 / 1000.0);
            DeliveredEvent::from(e)
        })
        .collect()
}
