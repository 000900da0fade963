//! The tracker's side of help codes: a tab's `help_request` is answered with a code from
//! [`crate::codes`], and a code's use, wherever it was resolved, becomes an `agent` record in the
//! session's stream on the node that writes the session.
//!
//! Giving a code takes S2 round trips (catching up with `cluster/codes`, appending, waiting for
//! the append to be folded), seconds when the store is slow. The tab's connection must not wait
//! for them: its acks, the room's signals and the user's Stop go on meanwhile. So the answer is
//! worked out in a task of its own, within [`HELP_TIMEOUT`], which the connection awaits beside
//! its other work and aborts when it closes.

use std::future::pending;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::{debug, warn};

use crate::codes::HelpCodes;
use crate::protocol::codes::format_code;
use crate::protocol::{AgentAction, AgentRecord, ServerMessage, SessionId};
use crate::session::rooms::Rooms;
use crate::state::AppState;

/// The longest a tab waits for its code: the sync (5 s at most) and one issue, with room for a
/// retry; past it the tab is told to ask again (a code issued meanwhile comes back then).
pub const HELP_TIMEOUT: Duration = Duration::from_secs(10);

/// A tab's help request being answered apart from its connection. Dropping it (the connection
/// closed) stops the work.
pub(super) type Asking = AbortOnDropHandle<ServerMessage>;

/// Starts answering `tab`'s help request.
pub(super) fn ask(
    state: Arc<AppState>,
    session: SessionId,
    tab: String,
    project: String,
) -> Asking {
    AbortOnDropHandle::new(tokio::spawn(async move {
        match tokio::time::timeout(HELP_TIMEOUT, issue(&state, session, &tab, &project)).await {
            Ok(message) => message,
            Err(_) => {
                warn!(%session, %tab, "no help code within {} s", HELP_TIMEOUT.as_secs());
                unavailable(format!(
                    "no code could be given within {} s; ask again",
                    HELP_TIMEOUT.as_secs()
                ))
            }
        }
    }))
}

/// The answer to send once it is ready; never ready while nothing is asked.
pub(super) async fn answered(asking: &mut Option<Asking>) -> ServerMessage {
    let Some(asking) = asking else {
        return pending().await;
    };
    asking
        .await
        .unwrap_or_else(|_| unavailable("the server stopped working on the code; ask again".into()))
}

fn unavailable(reason: String) -> ServerMessage {
    ServerMessage::HelpUnavailable { reason }
}

/// What to send a tab that asked for help: its code, or why there is none.
async fn issue(state: &AppState, session: SessionId, tab: &str, project: &str) -> ServerMessage {
    match state.codes.issue(session, tab, project).await {
        Ok(issued) => {
            debug!(%session, %tab, "help code given");
            ServerMessage::HelpCode {
                code: format_code(issued.code),
                expires_at: issued.expires_ms,
            }
        }
        Err(e) => {
            warn!(%session, error = %e, "no help code could be given");
            unavailable(e.to_string())
        }
    }
}

/// Until `shutdown`, writes each use of a code into its session, if this node writes it.
pub fn record_uses(codes: &HelpCodes, rooms: Arc<Rooms>, shutdown: CancellationToken) {
    let mut uses = codes.uses();
    tokio::spawn(async move {
        loop {
            let used = tokio::select! {
                used = uses.recv() => used,
                _ = shutdown.cancelled() => return,
            };
            match used {
                Ok(used) => {
                    // Only the node that writes the session records it; the others' rooms (if
                    // any) only watch.
                    if let Some(room) = rooms.get(used.session).filter(|r| r.holds_session()) {
                        room.record(vec![AgentRecord {
                            agent: used.agent,
                            action: AgentAction::Code { tab: used.tab },
                        }]);
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    warn!(missed, "help code uses were not recorded in their sessions");
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}
