//! Tracker connections (`GET /api/v1/track`): the `handshake` (`hello`, the project key, the
//! session's writer), then the `connection`'s batches of events in and an acknowledgement out
//! for each batch once S2 has it; a connection ends with a `reject`'s close code and reason.

mod connection;
mod handshake;
mod reject;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::session::limits::ConnectionSlot;
use crate::state::AppState;
use connection::TrackerConnection;

/// Batches a tracker may have unacknowledged before the server stops reading its socket.
pub const MAX_IN_FLIGHT: usize = 64;
pub(super) const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest first frame (`hello`), which arrives before the project key is checked: whatever
/// anyone on the internet sends is decoded at this size at most. A real `hello` is a few KiB.
pub const MAX_HELLO_BYTES: usize = 64 * 1024;
/// How long a closing connection keeps reading (and discarding) what the tracker still sends,
/// so that its close frame and the acks before it are not lost to a TCP reset.
pub(super) const CLOSE_LINGER: Duration = Duration::from_secs(2);
/// Canvases a page may stream at once.
pub(super) const MAX_CANVASES: usize = 8;
/// Read buffer of each WebSocket. Tungstenite's default (128 KiB) is most of an idle session's
/// memory; larger frames still arrive whole, the buffer just fills more than once.
pub const SOCKET_BUFFER_BYTES: usize = 16 * 1024;

pub async fn handle(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    slot: Option<Extension<ConnectionSlot>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // The socket's own peer: a proxy in front makes every tracker one address (see README).
    let address = peer.map_or(IpAddr::from([0, 0, 0, 0]), |Extension(ConnectInfo(a))| {
        a.ip()
    });
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
                // Counts this socket against its address for as long as it is open.
                let _slot = slot;
                let mut conn = TrackerConnection::new(socket, state, address);
                if let Err(reject) = conn.run(origin).await {
                    conn.close(reject).await;
                }
            })
        })
}
