//! What every agent route asks before it acts: does the agent's role allow it, and is the session
//! in a project the agent sees. A refusal is written to the audit stream (naming the agent, the
//! session and what it asked), counted, and answered with an error that says what role it takes.
//! A session outside the agent's projects answers as if it did not exist, so a scoped agent learns
//! nothing of other projects' sessions. A live session in `view: ask` shows its page only to an
//! agent its user let in.

use tracing::warn;

use super::error::ApiError;
use crate::auth::{Agent, Refusal};
use crate::protocol::{AuditAction, Role, SessionId};
use crate::session::view_access;
use crate::state::AppState;
use crate::store::stream::StoreError;

/// The `reason` label of `cobrowse_rejected_total` for an agent refused by its role or scope.
pub const FORBIDDEN: &str = "agent_forbidden";

/// Refuses `agent` unless its role is `needs` or above; `what` says what it asked, in words.
pub async fn require(
    state: &AppState,
    agent: &Agent,
    needs: Role,
    what: &str,
    session: Option<SessionId>,
) -> Result<(), ApiError> {
    let Err(refusal) = agent.require(needs, what) else {
        return Ok(());
    };
    record_refusal(state, &refusal, session).await;
    Err(ApiError::forbidden(refusal.to_string()))
}

/// Refuses `agent` unless session `id` is in a project it sees. A session this deployment does
/// not have is left for the route to report.
pub async fn require_sees(
    state: &AppState,
    agent: &Agent,
    id: SessionId,
    what: &str,
) -> Result<(), ApiError> {
    if agent.projects.keys().is_none() {
        return Ok(());
    }
    match session_project(state, id).await {
        Ok(Some(project)) if agent.sees(&project) => Ok(()),
        Ok(_) => {
            let action = AuditAction::Refused {
                what: what.to_string(),
                role: agent.role,
                needs: None,
            };
            record(state, &agent.name, Some(id), action).await;
            Err(ApiError::not_found(format!("no session {id}")))
        }
        Err(StoreError::NotFound(_)) => Err(ApiError::not_found(format!("no session {id}"))),
        Err(e) => Err(e.into()),
    }
}

/// Refuses `agent` a read of session `id`'s page (its replay, its call recordings) while the
/// session is live in `view: ask` and its user has not let the agent in; `after_end` says what
/// opens once it ends ("its replay is open").
pub async fn require_let_in(
    state: &AppState,
    agent: &Agent,
    id: SessionId,
    after_end: &str,
) -> Result<(), ApiError> {
    if view_access::withholds(&state.store.session(id), &agent.principal()).await? {
        return Err(ApiError::forbidden(format!(
            "the user of session {id} has not let you watch it: open its live view and wait \
             for them to accept (once the session ends {after_end})"
        )));
    }
    Ok(())
}

/// Writes that `refusal` happened: to the audit stream when it concerns a session, to the log in
/// any case.
pub async fn record_refusal(state: &AppState, refusal: &Refusal, session: Option<SessionId>) {
    let action = AuditAction::Refused {
        what: refusal.what.clone(),
        role: refusal.role,
        needs: Some(refusal.needs),
    };
    record(state, &refusal.agent, session, action).await;
}

async fn record(state: &AppState, agent: &str, session: Option<SessionId>, action: AuditAction) {
    warn!(agent, session = ?session, refused = ?action, "agent refused by its role or projects");
    state.metrics.rejected.with_label_values(&[FORBIDDEN]).inc();
    if let Some(id) = session {
        // Refused anyway: a refusal that could not be audited is still a refusal.
        let _ = state.audit(agent, id, action).await;
    }
}

/// The project key session `id` was started with: from the directory, else from the session's
/// first record (a session the directory has not heard of yet). `None`: the stream has no start.
async fn session_project(state: &AppState, id: SessionId) -> Result<Option<String>, StoreError> {
    if let Some(summary) = state.directory.summary(id) {
        return Ok(Some(summary.project));
    }
    let stream = state.store.session(id);
    stream.tail().await?;
    Ok(stream.start().await?.map(|start| start.project_key))
}
