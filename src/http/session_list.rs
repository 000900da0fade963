//! The session list: `GET /api/v1/sessions` answers a page from the node's session directory, in
//! memory, and `GET /api/v1/sessions/watch` tells a console, as Server-Sent Events, about every
//! session that starts, changes or ends among those its query asks for. No S2 read on either path.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::agent_auth::{BearerAgent, LiveAgent};
use super::error::ApiError;
use crate::auth::Agent;
use crate::clock::now_ms;
use crate::directory::index::Change;
use crate::directory::query::{MAX_QUERY_BYTES, Query as ListQuery, Status};
use crate::protocol::{SessionGone, SessionId, SessionPage, SessionSummary};
use crate::state::AppState;

/// How long a request waits for a node that just started to finish loading the directory.
const LOAD_WAIT: Duration = Duration::from_secs(5);

/// The query parameters of the list and of its watch (docs/protocol.md §9).
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    limit: Option<usize>,
    cursor: Option<String>,
    /// `true`: live sessions only (as `status=live`).
    live: Option<bool>,
    /// `live` or `ended`.
    status: Option<String>,
    /// Case-insensitive substring of the user id, a metadata value, a visited URL or the id.
    q: Option<String>,
    /// Case-insensitive prefix of the user id.
    user: Option<String>,
    /// Case-insensitive substring of a visited URL.
    url: Option<String>,
    /// Started at or after, ms since the epoch.
    from: Option<u64>,
    /// Started at or before, ms since the epoch.
    to: Option<u64>,
    browser: Option<String>,
    /// `true`: only sessions whose page logged a console error.
    errors: Option<bool>,
    project: Option<String>,
}

impl ListParams {
    /// The query `agent` asked for, narrowed to the projects it sees.
    fn query(self, agent: &Agent) -> Result<ListQuery, ApiError> {
        for (name, value) in [
            ("q", &self.q),
            ("user", &self.user),
            ("url", &self.url),
            ("browser", &self.browser),
            ("project", &self.project),
        ] {
            if value.as_ref().is_some_and(|v| v.len() > MAX_QUERY_BYTES) {
                return Err(ApiError::bad_request(format!(
                    "{name} is longer than {MAX_QUERY_BYTES} bytes"
                )));
            }
        }
        let status = match (self.status.as_deref(), self.live) {
            (Some("live"), _) | (None, Some(true)) => Status::Live,
            (Some("ended"), _) => Status::Ended,
            (Some("any") | None, _) => Status::Any,
            (Some(other), _) => {
                return Err(ApiError::bad_request(format!(
                    "status must be live, ended or any, not {other:?}"
                )));
            }
        };
        let after = self
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(str::parse::<SessionId>)
            .transpose()?;
        Ok(ListQuery {
            text: self.q,
            user: self.user,
            url: self.url,
            status,
            from_ms: self.from,
            to_ms: self.to,
            browser: self.browser,
            errors: self.errors.unwrap_or(false),
            project: self.project,
            scope: agent.projects.keys().map(<[String]>::to_vec),
            limit: self.limit.unwrap_or(50),
            after,
        }
        .normalize())
    }
}

async fn loaded(state: &AppState) -> Result<(), ApiError> {
    if state.directory.wait_ready(LOAD_WAIT).await {
        Ok(())
    } else {
        Err(ApiError::not_ready(
            "this node is still loading the session directory; retry in a moment",
            1,
        ))
    }
}

/// What this node adds to a summary: whether a call runs (only the node holding it knows).
fn local(state: &AppState, mut summary: SessionSummary) -> SessionSummary {
    if let Some(room) = state.rooms.get(summary.id) {
        summary.call = room.call_running();
    }
    summary
}

/// `GET /api/v1/sessions`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    BearerAgent(agent): BearerAgent,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<SessionPage>, ApiError> {
    let Query(params) = params?;
    let query = params.query(&agent)?;
    loaded(&state).await?;
    let mut page = state.directory.page(&query);
    page.sessions = page
        .sessions
        .into_iter()
        .map(|s| local(&state, s))
        .collect();
    Ok(Json(page))
}

/// `GET /api/v1/sessions/watch`: `ready` once subscribed (fetch the list after it, and nothing
/// is missed), then `session` (a summary that matches the query, new or changed) and `gone` (a
/// session that matched and no longer does, or was erased); `reset` if the console fell too far
/// behind (fetch the list again). Opened with the bearer header, or `?ticket=` from a browser's
/// `EventSource`.
pub async fn watch(
    State(state): State<Arc<AppState>>,
    params: Result<Query<ListParams>, QueryRejection>,
    agent: Result<LiveAgent, ApiError>,
) -> Response {
    let result = async {
        let Query(params) = params?;
        let LiveAgent(agent) = agent?;
        let mut query = params.query(&agent)?;
        query.after = None;
        loaded(&state).await?;
        Ok::<_, ApiError>(query)
    }
    .await;
    match result {
        Ok(query) => Sse::new(changes(state, query))
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
            .into_response(),
        Err(e) => e.into_response(),
    }
}

fn changes(
    state: Arc<AppState>,
    query: ListQuery,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let receiver = state.directory.watch();
    let ready = SseEvent::default()
        .event("ready")
        .data(format!("{{\"now_ms\":{}}}", now_ms()));
    let first = futures::stream::once(async move { Ok(ready) });
    let rest = futures::stream::unfold(
        (state, query, receiver),
        |(state, query, mut receiver)| async move {
            loop {
                let change = tokio::select! {
                    _ = state.shutdown.cancelled() => return None,
                    change = receiver.recv() => change,
                };
                let event = match change {
                    Ok(change) => match watched(&state, &query, &change) {
                        Some(event) => event,
                        None => continue,
                    },
                    Err(RecvError::Lagged(_)) => SseEvent::default().event("reset").data("{}"),
                    Err(RecvError::Closed) => return None,
                };
                return Some((Ok(event), (state, query, receiver)));
            }
        },
    );
    futures::StreamExt::chain(first, rest)
}

/// What a watcher of `query` hears of `change`: the summary if it matches now, `gone` if it
/// matched before and no longer does, nothing otherwise.
fn watched(state: &AppState, query: &ListQuery, change: &Change) -> Option<SseEvent> {
    if let Some(after) = change.after.as_ref().filter(|a| query.matches(a)) {
        let summary = local(state, after.summary(now_ms()));
        let data = serde_json::to_string(&summary).expect("summaries serialize");
        return Some(SseEvent::default().event("session").data(data));
    }
    let before = change.before.as_ref().filter(|b| query.matches(b))?;
    let data = serde_json::to_string(&SessionGone { id: before.id }).expect("ids serialize");
    Some(SseEvent::default().event("gone").data(data))
}
