//! The agents' REST API: session list, one session, a session's events for replay, recordings,
//! and the audit of reads. Every route needs an agent token, in the `Authorization` header; every
//! error is JSON. Every read of a recording is written to the audit stream before it is served
//! (`AppState::audit`).

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

use super::access;
use super::agent_auth::BearerAgent;
use super::error::ApiError;
use crate::call::archive;
use crate::http::stream_summary;
use crate::protocol::{AuditAction, AuditEntry, AuditPage, AuditRecord, RecordKind, SessionDetail};
use crate::protocol::{Role, SessionId};
use crate::state::AppState;
use crate::store::stream::{StoreError, read_all};

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
    BearerAgent(agent): BearerAgent,
    Path(id): Path<String>,
    params: Result<Query<SessionParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let id = id.parse::<SessionId>()?;
    access::require_sees(&state, &agent, id, "open a session").await?;
    // The directory's summary, which knows every tab; the stream's, for a session it does not
    // know (written before the directory existed).
    let summary = match state.directory.summary(id) {
        Some(mut summary) => {
            if let Some(room) = state.rooms.get(id) {
                summary.call = room.call_running();
            }
            summary.records = state.store.session(id).tail().await?.seq_num;
            summary
        }
        None => stream_summary::summarize(&state.rooms, id).await?,
    };
    // Without `activity` the answer is what the session list shows, which consoles poll: only
    // the detail that reads the recording is audited.
    let (activity, recordings) = if params.activity {
        let read = (
            stream_summary::activity(&state.store.session(id)).await?,
            archive::list(&state.store, id).await?,
        );
        state.audit(&agent.name, id, AuditAction::Detail).await?;
        read
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
    BearerAgent(agent): BearerAgent,
    Path((id, recording, file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let id = id.parse::<SessionId>()?;
    let what = "read call recordings";
    access::require(&state, &agent, Role::Admin, what, Some(id)).await?;
    access::require_sees(&state, &agent, id, what).await?;
    // A call recording of a live session in `view: ask` shows the user (and the page's canvases):
    // only to an agent the user let in, like its events.
    access::require_let_in(&state, &agent, id, "its recordings are open").await?;
    let Some(body) = archive::read(&state.store, id, &recording, &file).await? else {
        return Err(ApiError::not_found(format!(
            "session {id} has no recorded file {recording}/{file}"
        )));
    };
    let action = AuditAction::Recording {
        recording: recording.clone(),
        file: file.clone(),
    };
    state.audit(&agent.name, id, action).await?;
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
    BearerAgent(agent): BearerAgent,
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
    // One tab's events are what the console replays, which viewers may; the whole session at once
    // is an export (`cobrowse sessions export`), an admin's.
    if params.tab.is_none() {
        let what = "export a whole session";
        access::require(&state, &agent, Role::Admin, what, Some(id)).await?;
    }
    access::require_sees(&state, &agent, id, "replay a session").await?;
    let stream = state.store.session(id);
    // A live session in `view: ask` is the user's to show: only to an agent they let in.
    access::require_let_in(&state, &agent, id, "its replay is open").await?;
    let events = read_all(&stream, 0).await?;
    // Audited before the first byte of the body is sent.
    let action = AuditAction::Export {
        tab: params.tab.clone(),
    };
    state.audit(&agent.name, id, action).await?;
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

/// Records of the audit stream examined per request at most: a page of a filtered audit may hold
/// fewer than `limit` entries, and `next_seq` says where to go on.
const AUDIT_SCAN: u64 = 10_000;

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    /// Only reads of this session.
    session: Option<String>,
    /// Where to start in the audit stream (the previous page's `next_seq`); 0 by default.
    from_seq: Option<u64>,
    /// Entries per page, clamped to 1–1000; 100 by default.
    limit: Option<usize>,
}

/// The audit of reads, oldest first, optionally of one session.
pub async fn get_audit(
    State(state): State<Arc<AppState>>,
    BearerAgent(agent): BearerAgent,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let session = params
        .session
        .as_deref()
        .map(str::parse::<SessionId>)
        .transpose()?;
    access::require(&state, &agent, Role::Admin, "read the audit", session).await?;
    let limit = params.limit.unwrap_or(100).clamp(1, 1000);
    let start = params.from_seq.unwrap_or(0);
    let mut next = start;
    let mut entries = Vec::new();
    while entries.len() < limit && next < start.saturating_add(AUDIT_SCAN) {
        let records = state.audit.read(next, 1000).await?;
        if records.is_empty() {
            return Ok(Json(AuditPage {
                entries,
                next_seq: None,
            })
            .into_response());
        }
        for record in records {
            next = record.seq_num + 1;
            let Ok(audit) = serde_json::from_slice::<AuditRecord>(&record.body) else {
                continue;
            };
            if session.is_none_or(|s| audit.session == Some(s)) {
                entries.push(AuditEntry {
                    seq_num: record.seq_num,
                    ts: record.timestamp,
                    record: audit,
                });
                if entries.len() == limit {
                    break;
                }
            }
        }
    }
    Ok(Json(AuditPage {
        entries,
        next_seq: Some(next),
    })
    .into_response())
}
