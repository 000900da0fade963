//! What every HTTP and WebSocket handler shares. Its own module, below the handlers and above the
//! session core, so that the handlers depend on it and the server that builds it depends on the
//! handlers, without a cycle between them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::{AgentTokens, Projects, SessionTokens};
use crate::metrics::Metrics;
use crate::protocol::Limits;
use crate::session::limits::{IngressLimits, SessionAdmission};
use crate::session::rooms::Rooms;
use crate::signal::SignalBus;
use crate::store::stream::Store;

/// Shared by every handler.
pub struct AppState {
    pub rooms: Arc<Rooms>,
    pub signals: Arc<SignalBus>,
    pub store: Store,
    pub agents: AgentTokens,
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
    /// A session with no writer here counts as live if written to this recently (heartbeats
    /// keep a quiet live session inside it).
    pub live_window: Duration,
    pub max_agents_per_room: usize,
    pub agent_send_timeout: Duration,
}
