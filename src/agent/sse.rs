//! Agents following a session over Server-Sent Events (`GET /api/v1/sessions/{id}/events/stream`,
//! resumable with `Last-Event-ID`): the same start, seat and [`ViewGate`] as the WebSocket of
//! [`super::live`], as text events a script can read with `curl`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;

use crate::agent::live::{Seat, StartQuery, delivered, open, tail_close};
use crate::agent::subscription::{Subscription, TailItem};
use crate::agent::view_gate::{self, Pass, ViewGate};
use crate::http::agent_auth::LiveAgent;
use crate::http::error::ApiError;
use crate::protocol::{DeliveredEvent, FollowVia, ViewConsentState};
use crate::state::AppState;

pub async fn sse(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<StartQuery>, QueryRejection>,
    headers: HeaderMap,
    agent: Result<LiveAgent, ApiError>,
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
    let agent = match agent {
        Ok(LiveAgent(agent)) => agent,
        Err(e) => return e.into_response(),
    };
    match open(&state, &id, &query, last_event_id, agent, FollowVia::Sse).await {
        Ok((seat, subscription, gate)) => Sse::new(sse_events(state, seat, subscription, gate))
            .keep_alive(KeepAlive::default())
            .into_response(),
        Err(e) => e.into_response(),
    }
}

struct SseState {
    state: Arc<AppState>,
    _seat: Seat,
    subscription: Subscription,
    gate: ViewGate,
    pending: std::collections::VecDeque<SseEvent>,
    done: bool,
}

fn sse_events(
    state: Arc<AppState>,
    seat: Seat,
    subscription: Subscription,
    gate: ViewGate,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let mut pending = std::collections::VecDeque::new();
    if gate.is_waiting() {
        pending.push_back(view_consent(ViewConsentState::Asking));
    }
    let initial = SseState {
        state,
        _seat: seat,
        subscription,
        gate,
        pending,
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
            let item = match item.map(|item| item.map(|item| s.gate.pass(item))) {
                Ok(Some(Pass::Send(item))) => Ok(Some(item)),
                Ok(Some(Pass::Withhold)) => continue,
                Ok(Some(Pass::Opened)) => {
                    if let Some(reopened) = s.gate.reopened() {
                        s.subscription = reopened;
                    }
                    s.pending.push_back(view_consent(ViewConsentState::Granted));
                    continue;
                }
                Ok(Some(Pass::Refused(refused))) => {
                    let (code, reason) = view_gate::refusal(refused);
                    let body = serde_json::json!({"code": code, "reason": reason});
                    s.pending.push_back(view_consent(refused));
                    s.pending
                        .push_back(SseEvent::default().event("error").data(body.to_string()));
                    s.done = true;
                    continue;
                }
                Ok(None) => Ok(None),
                Err(e) => Err(e),
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

/// Where the user's answer stands for this agent, in a session in `view: ask`.
fn view_consent(state: ViewConsentState) -> SseEvent {
    let body = serde_json::json!({ "state": state });
    SseEvent::default()
        .event("view_consent")
        .data(body.to_string())
}
