//! The access log: one line per request at INFO (`tower_http::trace`), in a span carrying the
//! request's id, method, path (never the query: a ticket may be in it) and client address, so
//! that what a handler logs carries the same id. The id is the client's `x-request-id` when it
//! sent one (a proxy's), else a new UUID, and is returned in the response's `x-request-id`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// `router` with the access log and request ids around it.
pub fn around(router: Router) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let client = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.to_string())
                .unwrap_or_default();
            tracing::info_span!(
                "request",
                id,
                method = %request.method(),
                path = request.uri().path(),
                client,
            )
        })
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    // The last layer added runs first: the id is set, then the span opened with it, then the
    // response given it.
    router
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace)
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
