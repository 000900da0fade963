//! The agents' REST API: session list, one session, and a session's events for replay. Every
//! route needs an agent token, in the `Authorization` header; every error is JSON.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use serde::Deserialize;

use super::agent_auth::BearerAgent;
use super::error::ApiError;
use crate::call::archive;
use crate::http::listing::{self, ListQuery};
use crate::protocol::SessionId;
use crate::protocol::{RecordKind, SessionDetail};
use crate::state::AppState;
use crate::store::stream::{StoreError, read_all};

#[derive(Debug, Deserialize)]
pub struct ListParams {
    limit: Option<usize>,
    cursor: Option<String>,
    live: Option<bool>,
    q: Option<String>,
}

pub async fn list_sessions(
    State(state): State<Arc<AppState>>,
    _agent: BearerAgent,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let after = params
        .cursor
        .as_deref()
        .map(str::parse::<SessionId>)
        .transpose()?;
    let query = ListQuery {
        limit: params.limit.unwrap_or(50),
        after,
        live_only: params.live.unwrap_or(false),
        search: params.q.filter(|q| !q.trim().is_empty()),
    };
    let page = listing::list(&state.rooms, &query, state.live_window).await?;
    Ok(Json(page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SessionParams {
    /// `false` leaves `activity` empty: it reads the whole stream, which a caller refreshing a
    /// session's summary (the session list, the grid) does not need.
    #[serde(default = "yes")]
    activity: bool,
}

fn yes() -> bool {
    true
}

pub async fn get_session(
    State(state): State<Arc<AppState>>,
    _agent: BearerAgent,
    Path(id): Path<String>,
    params: Result<Query<SessionParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let id = id.parse::<SessionId>()?;
    let summary = listing::summarize(&state.rooms, id, state.live_window).await?;
    let (activity, recordings) = if params.activity {
        (
            listing::activity(&state.store.session(id)).await?,
            archive::list(&state.store, id).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Json(SessionDetail {
        summary,
        activity,
        recordings,
    })
    .into_response())
}

/// One file of a call recording, as stored so far.
pub async fn get_recording(
    State(state): State<Arc<AppState>>,
    _agent: BearerAgent,
    Path((id, recording, file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let id = id.parse::<SessionId>()?;
    let Some(body) = archive::read(&state.store, id, &recording, &file).await? else {
        return Err(ApiError::not_found(format!(
            "session {id} has no recorded file {recording}/{file}"
        )));
    };
    let content_type = if file.ends_with(".ogg") {
        "audio/ogg"
    } else {
        "video/x-ivf"
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{recording}-{file}\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct ExportParams {
    format: Option<String>,
    tab: Option<String>,
}

/// The whole session as a JSON array of rrweb events (`format=rrweb`, the default), in stream
/// order, deduplicated, optionally of one tab. Streamed, so long sessions cost no server memory.
pub async fn export_events(
    State(state): State<Arc<AppState>>,
    _agent: BearerAgent,
    Path(id): Path<String>,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let id = id.parse::<SessionId>()?;
    match params.format.as_deref() {
        None | Some("rrweb") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format={other} is not supported; use format=rrweb"
            )));
        }
    }
    let stream = state.store.session(id);
    let events = read_all(&stream, 0).await?;
    let tab = params.tab;
    let mut dedup = crate::store::frame::Dedup::new();
    let mut first = true;
    let bodies = events.filter_map(move |item| {
        let chunk = match item {
            Ok(stored)
                if stored.event.kind == RecordKind::Rrweb
                    && tab.as_ref().is_none_or(|t| *t == stored.event.tab)
                    && dedup.admit(&stored.event) =>
            {
                let sep: &[u8] = if first { b"" } else { b"," };
                first = false;
                Some(Ok::<Bytes, StoreError>(Bytes::from(
                    [sep, &stored.event.body[..]].concat(),
                )))
            }
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        };
        futures::future::ready(chunk)
    });
    let body = futures::stream::once(futures::future::ready(Ok(Bytes::from_static(b"["))))
        .chain(bodies)
        .chain(futures::stream::once(futures::future::ready(Ok(
            Bytes::from_static(b"]"),
        ))));
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}
