//! Tracker connections (`GET /api/v1/track`): the `handshake` (`hello`, the project key, the
//! session's writer), then the `connection`'s batches of events in and an acknowledgement out
//! for each batch once S2 has it; a connection ends with a `reject`'s close code and reason.
//! The WebSocket upgrade is done here rather than by axum so that the `first_frame` can be read
//! under its own, smaller limit before tungstenite takes the connection.

mod connection;
mod first_frame;
mod handshake;
pub mod help;
mod notes;
mod reject;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tracing::debug;

use crate::session::limits::ConnectionSlot;
use crate::state::AppState;
use connection::TrackerConnection;
use first_frame::{First, Refusal};

/// A tracker's WebSocket, on the connection hyper handed over.
type Socket = WebSocketStream<TokioIo<Upgraded>>;

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

pub async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let key = match upgrade_key(&request) {
        Ok(key) => key,
        Err(refusal) => return refusal.into_response(),
    };
    let extensions = request.extensions();
    // The socket's own peer: a proxy in front makes every tracker one address (see README).
    let address = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(a)| a.ip());
    // Counts this socket against its address for as long as it is open.
    let slot = extensions.get::<ConnectionSlot>().cloned();
    let origin = request
        .headers()
        .get("origin")
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let upgrade = hyper::upgrade::on(request);
    let tasks = state.tasks.clone();
    tokio::spawn(tasks.track_future(async move {
        let _slot = slot;
        match upgrade.await {
            Ok(upgraded) => serve(TokioIo::new(upgraded), state, address, origin).await,
            Err(e) => debug!(error = %e, "tracker upgrade failed"),
        }
    }));
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static("websocket")),
            (header::SEC_WEBSOCKET_ACCEPT, key),
        ],
    )
        .into_response()
}

/// Checks an HTTP/1.1 WebSocket upgrade request as axum's `WebSocketUpgrade` does, with its
/// statuses and texts; returns the `Sec-WebSocket-Accept` value.
fn upgrade_key(request: &Request) -> Result<HeaderValue, (StatusCode, &'static str)> {
    let headers = request.headers();
    if request.method() != Method::GET {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            "Request method must be `GET`",
        ));
    }
    let has_token = |name: HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value
                .as_bytes()
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    };
    if !has_token(header::CONNECTION, "upgrade") {
        return Err((
            StatusCode::BAD_REQUEST,
            "Connection header did not include 'upgrade'",
        ));
    }
    if !header_is(headers, header::UPGRADE, "websocket") {
        return Err((
            StatusCode::BAD_REQUEST,
            "`Upgrade` header did not include 'websocket'",
        ));
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "`Sec-WebSocket-Key` header missing",
        ));
    };
    if !header_is(headers, header::SEC_WEBSOCKET_VERSION, "13") {
        return Err((
            StatusCode::BAD_REQUEST,
            "`Sec-WebSocket-Version` header did not include '13'",
        ));
    }
    if request.extensions().get::<OnUpgrade>().is_none() {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "WebSocket request couldn't be upgraded since no upgrade state was present",
        ));
    }
    HeaderValue::from_str(&derive_accept_key(key.as_bytes())).map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            "`Sec-WebSocket-Key` header invalid",
        )
    })
}

fn header_is(headers: &HeaderMap, name: HeaderName, value: &str) -> bool {
    headers
        .get(name)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

/// Runs a tracker connection from its first frame, read within [`HELLO_TIMEOUT`].
async fn serve(
    mut io: TokioIo<Upgraded>,
    state: Arc<AppState>,
    address: IpAddr,
    origin: Option<String>,
) {
    let refusal = match tokio::time::timeout(HELLO_TIMEOUT, first_frame::read(&mut io)).await {
        Ok(Ok(First::Hello(hello))) => {
            // The socket takes frames up to twice the limit so that an oversize frame gets a
            // clear close code (1009) from `decode`; beyond that the connection is simply dropped.
            let limit = state.limits.max_frame_bytes.saturating_mul(2);
            let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config(limit)));
            let mut conn = TrackerConnection::new(socket.await, state, address);
            if let Err(reject) = conn.run(hello, origin).await {
                conn.close(reject).await;
            }
            return;
        }
        Ok(Ok(First::Refused(refusal))) => refusal,
        Err(_) => Refusal::Late,
        Ok(Ok(First::Dropped)) | Ok(Err(_)) => return,
    };
    // Only the close frame goes through this socket; nothing is read from it as frames.
    let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config(MAX_HELLO_BYTES)));
    TrackerConnection::new(socket.await, state, address)
        .refuse_first(refusal)
        .await;
}

fn config(max_frame_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(max_frame_bytes))
        .max_frame_size(Some(max_frame_bytes))
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(0)
}
