//! Tracker connections (`GET /api/v1/track`): the `handshake` (`hello`, the project key, the
//! session's writer), then the `connection`'s batches of events in and an acknowledgement out
//! for each batch once S2 has it; a connection ends with a `reject`'s close code and reason.

mod connection;
mod handshake;
mod reject;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::state::AppState;
use connection::TrackerConnection;

/// Batches a tracker may have unacknowledged before the server stops reading its socket.
pub const MAX_IN_FLIGHT: usize = 64;
pub(super) const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Canvases a page may stream at once.
pub(super) const MAX_CANVASES: usize = 8;
/// Read buffer of each WebSocket. Tungstenite's default (128 KiB) is most of an idle session's
/// memory; larger frames still arrive whole, the buffer just fills more than once.
pub const SOCKET_BUFFER_BYTES: usize = 16 * 1024;

pub async fn handle(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let origin = headers
        .get("origin")
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let tasks = state.tasks.clone();
    // The socket takes frames up to twice the limit so that an oversize frame gets a clear
    // close code (1009) from `decode`; beyond that the connection is simply dropped.
    let socket_limit = state.limits.max_frame_bytes.saturating_mul(2);
    ws.max_message_size(socket_limit)
        .max_frame_size(socket_limit)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            tasks.track_future(async move {
                let mut conn = TrackerConnection::new(socket, state);
                if let Err(reject) = conn.run(origin).await {
                    conn.close(reject).await;
                }
            })
        })
}
