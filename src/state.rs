//! What every HTTP and WebSocket handler shares. Its own module, below the handlers and above the
//! session core, so that the handlers depend on it and the server that builds it depends on the
//! handlers, without a cycle between them.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::{Agent, AgentGate, AuthError, Presented, Projects, SessionTokens};
use crate::metrics::Metrics;
use crate::protocol::Limits;
use crate::session::rooms::Rooms;
use crate::signal::SignalBus;
use crate::store::stream::Store;

/// Shared by every handler.
pub struct AppState {
    pub rooms: Arc<Rooms>,
    pub signals: Arc<SignalBus>,
    pub store: Store,
    pub agents: AgentGate,
    pub projects: Projects,
    pub session_tokens: SessionTokens,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    pub shutdown: CancellationToken,
    /// Tracks upgraded WebSocket connections, which the HTTP server does not wait for itself.
    pub tasks: TaskTracker,
    /// A session with no writer here counts as live if written to this recently (heartbeats
    /// keep a quiet live session inside it).
    pub live_window: Duration,
    pub max_agents_per_room: usize,
    pub agent_send_timeout: Duration,
}

impl AppState {
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
