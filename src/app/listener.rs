//! The accept loop: takes TCP connections, refuses an address past its share, and serves each
//! connection with a deadline for its request headers. `axum::serve` has neither, so a client
//! that sent one header byte every two seconds held a connection (and its task) for ever; two
//! hundred of them cost the server nothing to start and everything to keep. hyper's own header
//! timeout covers HTTP/1 requests only, so every connection, HTTP/2 included, must also complete
//! its first request within the same time or is dropped.
//!
//! Each request carries the connection's peer address (`ConnectInfo`, what session limits use:
//! the socket's own peer, not a forwarded-for header) and its [`ConnectionSlot`](crate::session::limits::ConnectionSlot), which a
//! WebSocket handler keeps for as long as its upgraded socket lives, so the count per address
//! covers WebSockets too.

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::session::limits::AddressCounts;

/// What the accept loop needs.
pub struct Listener {
    pub tcp: TcpListener,
    pub router: Router,
    /// Connections one client address may hold; more are closed as they are accepted.
    pub max_connections_per_address: usize,
    /// Time a client has to send a request's headers (every HTTP/1 request, and the first
    /// request of any connection, HTTP/2 included).
    pub header_read_timeout: Duration,
    /// A connection whose socket takes no bytes for this long is dropped, whatever it carries
    /// (a response, an SSE stream, a WebSocket): a reader that stopped reading cannot hold it.
    pub send_timeout: Duration,
    pub shutdown: CancellationToken,
}

impl Listener {
    /// Serves until shutdown, then lets open connections finish their requests.
    pub async fn run(self) {
        let counts = Arc::new(AddressCounts::default());
        let connections = TaskTracker::new();
        loop {
            let (tcp, peer) = tokio::select! {
                _ = self.shutdown.cancelled() => break,
                accepted = self.tcp.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, mostly: wait for some to close.
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let Some(slot) = counts.take(peer.ip(), self.max_connections_per_address) else {
                debug!(%peer, "refused: too many connections from this address");
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let router = self.router.clone();
            let shutdown = self.shutdown.clone();
            let header_read_timeout = self.header_read_timeout;
            let tcp = WriteDeadline::new(tcp, self.send_timeout);
            connections.spawn(async move {
                let requested = Arc::new(AtomicBool::new(false));
                let arrived = requested.clone();
                let service = TowerToHyperService::new(router.map_request(
                    move |request: Request<Incoming>| {
                        arrived.store(true, Ordering::Relaxed);
                        let mut request = request.map(axum::body::Body::new);
                        request.extensions_mut().insert(ConnectInfo(peer));
                        request.extensions_mut().insert(slot.clone());
                        request
                    },
                ));
                let mut builder = Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_read_timeout);
                builder.http2().enable_connect_protocol();
                let mut conn =
                    pin!(builder.serve_connection_with_upgrades(TokioIo::new(tcp), service));
                let mut first_request_due = pin!(tokio::time::sleep(header_read_timeout));
                let mut awaiting_first = true;
                let result = loop {
                    tokio::select! {
                        result = conn.as_mut() => break result,
                        () = shutdown.cancelled() => {
                            conn.as_mut().graceful_shutdown();
                            break conn.await;
                        }
                        () = &mut first_request_due, if awaiting_first => {
                            if !requested.load(Ordering::Relaxed) {
                                debug!(%peer, "dropped: no request within the header timeout");
                                return;
                            }
                            awaiting_first = false;
                        }
                    }
                };
                if let Err(e) = result {
                    debug!(%peer, error = %e, "connection ended");
                }
            });
        }
        connections.close();
        connections.wait().await;
    }
}

/// A socket whose writes fail with `TimedOut` once one has waited `limit` without the peer
/// taking a byte.
struct WriteDeadline {
    inner: TcpStream,
    limit: Duration,
    /// Started when a write first had to wait; cleared by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl WriteDeadline {
    fn new(inner: TcpStream, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            stalled: None,
        }
    }

    fn on_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the peer took nothing for {limit:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.on_write(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.on_write(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.on_write(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
