//! `POST /api/v1/codes`: an agent types the help code a user read out and learns the session and
//! tab to open. Any role may (a viewer watches); the code resolves only within the agent's
//! projects, a wrong one counts towards the agent's and its projects' lock-out (`crate::codes`),
//! and each use is written to the audit stream and, by the node writing the session, to the
//! session's own stream. Wrong codes and lock-outs are audited too: `cluster/codes` forgets them
//! within hours, and guessing must leave a trace that lasts as long as the reads it could lead to.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use bytes::Bytes;
use tracing::info;

use super::access;
use super::agent_auth::BearerAgent;
use super::error::ApiError;
use crate::codes::{CodeError, Resolver, scope_of};
use crate::protocol::codes::{CodeRequest, CodeResolved};
use crate::protocol::{AgentRef, AuditAction, CodeRefusal, Role};
use crate::session::consent::view::account;
use crate::state::AppState;

/// Largest body taken: `{"code":"123 456"}` is 20 bytes.
const MAX_BODY_BYTES: usize = 256;

impl From<CodeError> for ApiError {
    fn from(e: CodeError) -> Self {
        let message = e.to_string();
        match e {
            CodeError::Malformed => ApiError::bad_request(message),
            CodeError::NotFound => ApiError::not_found(message),
            CodeError::Expired => ApiError::gone("expired", message),
            CodeError::Used => ApiError::gone("used", message),
            CodeError::Locked { retry_after_s, .. } => {
                ApiError::too_many(message).retry_after(retry_after_s)
            }
            CodeError::Unavailable(_) => ApiError::not_ready(message, 1),
        }
    }
}

pub async fn resolve(
    State(state): State<Arc<AppState>>,
    BearerAgent(agent): BearerAgent,
    body: Bytes,
) -> Result<Json<CodeResolved>, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::bad_request(format!(
            "the body is larger than {MAX_BODY_BYTES} bytes; send {{\"code\":\"123456\"}}"
        )));
    }
    let request: CodeRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("send {{\"code\":\"123456\"}} ({e})")))?;
    access::require(&state, &agent, Role::Viewer, "use a help code", None).await?;
    // The session's records name the agent as its other records do: by its display name, and
    // (having no connection to name) by its account, the digest a `view` grant names, never by
    // its stable name (docs/protocol.md §9.5). Wrong codes count against its principal, so a
    // token and an identity provider's user of the same name do not share a lock-out.
    let principal = agent.principal();
    let resolver = Resolver {
        agent: AgentRef {
            id: account(&principal),
            name: agent.display_name.clone(),
        },
        name: principal,
        scope: scope_of(agent.projects.keys()),
    };
    let resolved = match state.codes.resolve(&resolver, &request.code).await {
        Ok(resolved) => resolved,
        Err(e) => {
            audit_refusal(&state, &agent.name, &resolver.name, &e).await;
            return Err(e.into());
        }
    };
    info!(agent = %agent.name, session = %resolved.session_id, tab = %resolved.tab, "help code used");
    let action = AuditAction::Code {
        tab: resolved.tab.clone(),
    };
    state
        .audit(&agent.name, resolved.session_id, action)
        .await?;
    Ok(Json(resolved))
}

/// Writes a wrong code, and the first refusal of each lock-out, to the audit stream. Both are
/// bounded: wrong codes by the lock-out, refusals to one per lock-out and node. Refused anyway if
/// the record cannot be written: refusing gives nothing away. `principal` is what the lock-out is
/// counted under, `agent` the stable name the audit stream names agents by.
async fn audit_refusal(state: &AppState, agent: &str, principal: &str, error: &CodeError) {
    let reason = match error {
        CodeError::NotFound => CodeRefusal::NotFound,
        CodeError::Expired => CodeRefusal::Expired,
        CodeError::Used => CodeRefusal::Used,
        CodeError::Locked { retry_after_s, .. } => {
            state
                .metrics
                .rejected
                .with_label_values(&["help_code_locked"])
                .inc();
            if !state.codes.first_refusal(principal, *retry_after_s) {
                return;
            }
            CodeRefusal::Locked
        }
        CodeError::Malformed | CodeError::Unavailable(_) => return,
    };
    let _ = state
        .audit_agent(agent, AuditAction::CodeRefused { reason })
        .await;
}
