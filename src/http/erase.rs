//! `DELETE /api/v1/sessions/{id}`: erasing a session on request (the user's right to erasure).
//! Its stream, its call recordings and its entries in the session directory are deleted, so no
//! stream of the deployment holds what the session recorded about the user any more; who erased
//! it is written to the audit stream first, which outlives the session.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use tracing::info;

use super::access;
use super::agent_auth::BearerAgent;
use super::error::ApiError;
use crate::call::archive;
use crate::protocol::{AuditAction, Role, SessionId};
use crate::state::AppState;
use crate::store::stream::StoreError;

pub async fn erase_session(
    State(state): State<Arc<AppState>>,
    BearerAgent(agent): BearerAgent,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id.parse::<SessionId>()?;
    access::require(&state, &agent, Role::Admin, "erase sessions", Some(id)).await?;
    access::require_sees(&state, &agent, id, "erase sessions").await?;
    let known = state.directory.summary(id);
    if known.as_ref().is_some_and(|s| s.live) {
        return Err(ApiError::conflict(format!(
            "session {id} is live: it can be erased once it has ended"
        )));
    }
    state.audit(&agent.name, id, AuditAction::Erase).await?;
    let stream = state.store.delete_session(id).await?;
    let recordings = archive::delete_all(&state.store, id).await?;
    state
        .directory
        .erase(id)
        .await
        .map_err(|e| StoreError::Unavailable(format!("rewriting the session directory: {e}")))?;
    if !stream && known.is_none() {
        return Err(ApiError::not_found(format!("no session {id}")));
    }
    info!(session = %id, agent = %agent.name, recordings, "session erased");
    Ok(StatusCode::NO_CONTENT)
}
