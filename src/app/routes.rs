//! Which handler answers which route, and where the web parts are served from.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use tower_http::services::{ServeDir, ServeFile};
use tracing::warn;

use crate::agent::live;
use crate::http::agent_auth;
use crate::http::error::ApiError;
use crate::http::rest;
use crate::state::AppState;
use crate::tracker;

pub fn router(state: Arc<AppState>, web_root: &Path) -> Router {
    let console = web_root.join("agent-console/dist");
    let tracker = web_root.join("tracker-plugin/dist/cobrowse-tracker.js");
    for (part, path, build) in [
        ("agent console", console.join("index.html"), "agent-console"),
        ("tracker bundle", tracker.clone(), "tracker-plugin"),
    ] {
        if !path.exists() {
            warn!(
                path = %path.display(),
                "{part} not found: build it with `npm ci && npm run build` in {build}/ (or see --web-root)"
            );
        }
    }
    Router::new()
        .route_service("/tracker.js", ServeFile::new(tracker))
        .nest_service("/demo", ServeDir::new(web_root.join("demo")))
        .route(
            "/api/{*rest}",
            any(|| async { ApiError::not_found("no such route") }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/track", get(tracker::handle))
        .route("/api/v1/tickets", post(agent_auth::issue_ticket))
        .route("/api/v1/sessions", get(rest::list_sessions))
        .route("/api/v1/sessions/{id}", get(rest::get_session))
        .route("/api/v1/sessions/{id}/events", get(rest::export_events))
        .route("/api/v1/sessions/{id}/events/stream", get(live::sse))
        .route("/api/v1/sessions/{id}/live", get(live::websocket))
        .route(
            "/api/v1/sessions/{id}/recordings/{recording}/{file}",
            get(rest::get_recording),
        )
        .fallback_service(
            ServeDir::new(&console).fallback(ServeFile::new(console.join("index.html"))),
        )
        .with_state(state)
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}")).into_response(),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
