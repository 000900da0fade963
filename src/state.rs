//! What every HTTP and WebSocket handler shares. Its own module, below the handlers and above the
//! session core, so that the handlers depend on it and the server that builds it depends on the
//! handlers, without a cycle between them.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

use crate::auth::{Agent, AgentGate, AuthError, Presented, Projects, SessionTokens};
use crate::codes::HelpCodes;
use crate::directory::Directory;
use crate::metrics::Metrics;
use crate::protocol::{AuditAction, AuditRecord, Limits, SessionId};
use crate::session::limits::{IngressLimits, SessionAdmission};
use crate::session::rooms::Rooms;
use crate::signal::SignalBus;
use crate::store::audit::AuditStream;
use crate::store::stream::{Store, StoreError};

/// Shared by every handler.
pub struct AppState {
    pub rooms: Arc<Rooms>,
    pub signals: Arc<SignalBus>,
    pub store: Store,
    /// Who read which recording (`cluster/audit`).
    pub audit: AuditStream,
    pub agents: Arc<AgentGate>,
    pub projects: Projects,
    pub session_tokens: SessionTokens,
    pub limits: Limits,
    /// What a tracker may cost before the server pushes back.
    pub ingress: IngressLimits,
    /// Whether a `hello` may start a new session (per address, per project key, in all).
    pub admission: Mutex<SessionAdmission>,
    pub metrics: Arc<Metrics>,
    pub shutdown: CancellationToken,
    /// Tracks upgraded WebSocket connections, which the HTTP server does not wait for itself.
    pub tasks: TaskTracker,
    /// Every session of the deployment, in memory: the session list and its search.
    pub directory: Directory,
    /// Help codes users read out to agents, known to every node.
    pub codes: HelpCodes,
    pub max_agents_per_room: usize,
    pub agent_send_timeout: Duration,
}

/// Why a read is refused when its audit record could not be written.
const AUDIT_UNAVAILABLE: &str = "audit_unavailable";

impl AppState {
    /// Writes that `agent` reads `session` as `action` says to the audit stream, and returns once
    /// it is durable. Fails closed: a read whose record cannot be written is refused (503), so no
    /// recording is read without a trace, at the cost of one S2 append before each read.
    pub async fn audit(
        &self,
        agent: &str,
        session: SessionId,
        action: AuditAction,
    ) -> Result<(), StoreError> {
        self.append_audit(agent, Some(session), action).await
    }

    /// Writes what `agent` did that concerns no one session (a wrong help code).
    pub async fn audit_agent(&self, agent: &str, action: AuditAction) -> Result<(), StoreError> {
        self.append_audit(agent, None, action).await
    }

    async fn append_audit(
        &self,
        agent: &str,
        session: Option<SessionId>,
        action: AuditAction,
    ) -> Result<(), StoreError> {
        let record = AuditRecord {
            session,
            agent: agent.to_string(),
            node: self.rooms.settings.node_id.clone(),
            action,
        };
        self.audit.append(&record).await.map_err(|e| {
            warn!(?session, agent, error = %e, "read refused: its audit record could not be written");
            self.metrics
                .rejected
                .with_label_values(&[AUDIT_UNAVAILABLE])
                .inc();
            StoreError::Unavailable(format!(
                "the read was refused because it could not be audited ({e}); retry"
            ))
        })
    }

    /// The agent behind a request from `client`; a refusal is counted in the metrics by kind.
    pub fn authenticate_agent(
        &self,
        client: IpAddr,
        presented: Presented<'_>,
    ) -> Result<Agent, AuthError> {
        self.agents
            .authenticate(client, presented)
            .inspect_err(|e| {
                self.metrics
                    .rejected
                    .with_label_values(&[e.metric_reason()])
                    .inc();
            })
    }
}
