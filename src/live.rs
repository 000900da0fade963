//! Agents following a session: over a WebSocket (`GET /api/v1/sessions/{id}/live`, MessagePack
//! frames) or over Server-Sent Events (`GET /api/v1/sessions/{id}/events/stream`, resumable with
//! `Last-Event-ID`). Both start where the agent asks and then follow the session live.
//!
//! A slow agent never slows anyone else: it reads from its own subscription to the room's shared
//! tail, and when it falls too far behind, or a send to it blocks too long, it is disconnected
//! with the sequence number to resume from.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use s2_sdk::types::ReadFrom;
use serde::Deserialize;

use crate::api::{ApiError, authenticate, parse_session};
use crate::frame::StoredEvent;
use crate::ingest::SOCKET_BUFFER_BYTES;
use crate::protocol::{AgentMessage, DeliveredEvent, close};
use crate::room::Presence;
use crate::server::AppState;
use crate::session::now_ms;
use crate::stream::{StoreError, resolve_start};
use crate::tail::{Subscription, TailError, TailItem};

/// Where an agent starts reading.
#[derive(Debug, Default, Deserialize)]
pub struct StartQuery {
    /// `beginning` (default) or `live`.
    pub from: Option<String>,
    pub from_seq: Option<u64>,
    /// Milliseconds since the Unix epoch.
    pub from_ts: Option<u64>,
    pub token: Option<String>,
}

impl StartQuery {
    fn read_from(&self, last_event_id: Option<u64>) -> Result<ReadFrom, ApiError> {
        if let Some(id) = last_event_id {
            return Ok(ReadFrom::SeqNum(id + 1));
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

/// Finds the session and its start, and joins the room: all before the upgrade, so a refusal is
/// a plain HTTP error with a JSON body.
async fn open(
    state: &Arc<AppState>,
    id: &str,
    query: &StartQuery,
    last_event_id: Option<u64>,
) -> Result<(Presence, Subscription), ApiError> {
    let id = parse_session(id)?;
    let from = query.read_from(last_event_id)?;
    let stream = state.store.session(id);
    // Also how a missing session is told apart, whatever the start.
    stream.tail().await?;
    let start = resolve_start(&stream, from).await?;
    // Join first, then count: two agents arriving together cannot both slip under the limit.
    let presence = state.rooms.join_agent(id);
    if presence.room().agent_count() > state.max_agents_per_room {
        return Err(ApiError::too_many(format!(
            "session {id} already has the most agents watching it ({})",
            state.max_agents_per_room
        )));
    }
    presence.room().request_resync();
    let subscription = Subscription::new(presence.room().clone(), start);
    Ok((presence, subscription))
}

pub async fn websocket(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<StartQuery>, QueryRejection>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let opened = async {
        let Query(query) = query.map_err(ApiError::from)?;
        authenticate(&state, &headers, query.token.as_deref())?;
        let ws = ws.map_err(|e| {
            ApiError::bad_request(format!("this route needs a WebSocket upgrade: {e}"))
        })?;
        Ok::<_, ApiError>((ws, open(&state, &id, &query, None).await?))
    };
    let (ws, (presence, subscription)) = match opened.await {
        Ok(opened) => opened,
        Err(e) => return e.into_response(),
    };
    let tasks = state.tasks.clone();
    // Small read buffer (agents send next to nothing); frames are written as they are sent.
    ws.read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            tasks.track_future(follow_over_websocket(state, socket, presence, subscription))
        })
}

async fn follow_over_websocket(
    state: Arc<AppState>,
    mut socket: WebSocket,
    _presence: Presence,
    mut subscription: Subscription,
) {
    // Where this agent should resume: just after the last event it was sent.
    let mut resume_from = subscription.next_seq();
    let (code, reason) = loop {
        let item = tokio::select! {
            _ = state.shutdown.cancelled() => break (close::GOING_AWAY, "server is shutting down; reconnect".to_string()),
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
            item = subscription.next() => item,
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
        let bytes = rmp_serde::to_vec_named(&message).expect("agent messages serialize");
        match tokio::time::timeout(
            state.agent_send_timeout,
            socket.send(Message::Binary(bytes.into())),
        )
        .await
        {
            Ok(Ok(())) => resume_from = sent_through,
            Ok(Err(_)) => return,
            Err(_) => {
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

fn tail_close(e: TailError) -> (u16, String) {
    let code = match &e {
        TailError::TooSlow { .. } => close::TOO_SLOW,
        TailError::Store(StoreError::NotFound(_)) => close::NOT_FOUND,
        TailError::Store(_) | TailError::FeedClosed { .. } => close::INTERNAL,
    };
    (code, e.to_string())
}

fn delivered(state: &AppState, events: Vec<StoredEvent>) -> Vec<DeliveredEvent> {
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

pub async fn sse(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<StartQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let Query(query) = match query {
        Ok(query) => query,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let last_event_id = match headers.get("last-event-id").map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => match v.trim().parse::<u64>() {
            Ok(id) => Some(id),
            Err(_) => {
                return ApiError::bad_request("Last-Event-ID must be a sequence number")
                    .into_response();
            }
        },
        Some(Err(_)) => {
            return ApiError::bad_request("Last-Event-ID must be a sequence number")
                .into_response();
        }
    };
    if let Err(e) = authenticate(&state, &headers, query.token.as_deref()) {
        return e.into_response();
    }
    match open(&state, &id, &query, last_event_id).await {
        Ok((presence, subscription)) => Sse::new(sse_events(state, presence, subscription))
            .keep_alive(KeepAlive::default())
            .into_response(),
        Err(e) => e.into_response(),
    }
}

struct SseState {
    state: Arc<AppState>,
    _presence: Presence,
    subscription: Subscription,
    pending: std::collections::VecDeque<SseEvent>,
    done: bool,
}

fn sse_events(
    state: Arc<AppState>,
    presence: Presence,
    subscription: Subscription,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let initial = SseState {
        state,
        _presence: presence,
        subscription,
        pending: Default::default(),
        done: false,
    };
    futures::stream::unfold(initial, |mut s| async move {
        loop {
            if let Some(event) = s.pending.pop_front() {
                return Some((Ok(event), s));
            }
            if s.done {
                return None;
            }
            let item = tokio::select! {
                _ = s.state.shutdown.cancelled() => {
                    s.done = true;
                    continue;
                }
                item = s.subscription.next() => item,
            };
            match item {
                Ok(Some(TailItem::Events(events))) => {
                    let delivered = delivered(&s.state, events);
                    s.pending.extend(delivered.iter().map(sse_event));
                }
                Ok(Some(TailItem::CaughtUp { next_seq })) => s.pending.push_back(
                    SseEvent::default()
                        .event("caught_up")
                        .data(format!("{{\"seq_num\":{}}}", next_seq.saturating_sub(1))),
                ),
                Ok(None) => s.done = true,
                Err(e) => {
                    let (code, reason) = tail_close(e);
                    let body = serde_json::json!({"code": code, "reason": reason});
                    s.pending
                        .push_back(SseEvent::default().event("error").data(body.to_string()));
                    s.done = true;
                }
            }
        }
    })
}

/// One event as SSE: the id is the sequence number to resume after; the data is a JSON object
/// whose `data` field is the event's own JSON, inserted as is.
fn sse_event(e: &DeliveredEvent) -> SseEvent {
    let data = String::from_utf8_lossy(&e.data);
    let body = format!(
        "{{\"seq_num\":{},\"ts\":{},\"kind\":\"{}\",\"tab\":{},\"client_seq\":{},\"client_ts\":{},\"data\":{}}}",
        e.seq_num,
        e.ts,
        e.kind.as_str(),
        serde_json::Value::String(e.tab.clone()),
        e.client_seq,
        e.client_ts,
        data
    );
    SseEvent::default()
        .id(e.seq_num.to_string())
        .event(e.kind.as_str())
        .data(body)
}
