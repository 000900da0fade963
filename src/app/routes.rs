//! Which handler answers which route, and where the web parts are served from.
//!
//! The agent console renders pages recorded in visitors' browsers, so what those pages contain
//! is hostile input to the agent's browser. The console is served with [`console_csp`], and every
//! response with `nosniff` and `no-referrer`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};

use super::web::{WebParts, WebRoot};
use crate::agent::{live, sse};
use crate::http::agent_auth;
use crate::http::error::ApiError;
use crate::http::{codes, erase, oidc, rest, session_list};
use crate::state::AppState;
use crate::tracker;

/// The console's Content-Security-Policy. rrweb rebuilds a recorded page in an `about:blank`
/// iframe, which inherits this policy, so it governs the replayed page too:
///
/// - `default-src 'none'`: whatever is not listed below is refused.
/// - `script-src 'self'`: only the console's own bundle; no inline script, no `eval`. The
///   replay iframe's sandbox already forbids scripts; this is the second wall.
/// - `style-src 'self' 'unsafe-inline'`: recorded pages are rebuilt with inline `<style>`
///   elements and `style` attributes, and rrweb adds rules of its own; a stylesheet from
///   elsewhere than the asset origins (a recorded `<link>` or `@import`) is not fetched.
/// - `img-src 'self' data: blob:`, `font-src 'self' data:`: images and fonts a replayed page
///   names by URL (`<img src>`, CSS `url(...)`, `@font-face`) are fetched only from the
///   `asset_origins` (by default the origins allowed to record: the sites' own images), so a
///   recorded page cannot make the agent's browser call anywhere else; inlined ones still show.
/// - `media-src 'self' blob:`: recordings from this server (and the asset origins). Call and
///   canvas video arrive as `MediaStream`s, which CSP does not govern.
/// - `connect-src 'self'`: the API, and the live view's and calls' WebSockets (CSP 3 matches
///   `ws:`/`wss:` of the same host under `'self'`).
/// - `frame-src 'self'`, `worker-src 'self'`: nothing from elsewhere in frames or workers (the
///   replay iframe is `about:blank`, which these do not restrict).
/// - `object-src 'none'`, `base-uri 'none'`, `form-action 'self'`: no plugins, no `<base>`
///   re-pointing relative URLs, no form posting elsewhere.
/// - `frame-ancestors 'none'`: no site can frame the console to trick an agent into clicks.
pub fn console_csp(asset_origins: &[AssetOrigin]) -> String {
    let assets: String = asset_origins.iter().map(|o| format!(" {}", o.0)).collect();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'{assets}; \
         img-src 'self' data: blob:{assets}; font-src 'self' data:{assets}; \
         media-src 'self' blob:{assets}; connect-src 'self'; frame-src 'self'; \
         worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// An origin the console may load a replayed page's images, fonts, styles and media from:
/// `http(s)://host[:port]`, nothing else, so it cannot smuggle a directive into the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetOrigin(String);

/// Why a configured asset origin was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "'{0}' is not an origin the console can load assets from: give scheme://host[:port], http or https, nothing more"
)]
pub struct BadAssetOrigin(String);

impl std::str::FromStr for AssetOrigin {
    type Err = BadAssetOrigin;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadAssetOrigin(text.chars().take(200).collect());
        let url = url::Url::parse(text).map_err(|_| bad())?;
        let origin = url.origin();
        if !matches!(url.scheme(), "http" | "https") || !origin.is_tuple() {
            return Err(bad());
        }
        let serialized = origin.ascii_serialization();
        // `https://shop.example` and `https://shop.example/` name the origin; anything more
        // (a path, a query, credentials) is a mistake worth saying.
        if text.trim_end_matches('/') != serialized {
            return Err(bad());
        }
        Ok(Self(serialized))
    }
}

/// The routes. `/demo/` is served only when `demo` is set (`--demo`): a public deployment has
/// no reason to host a page that records whoever opens it. `/metrics` is left out when
/// `public_metrics` is not set: it is served on a private listener instead ([`metrics_router`]).
pub fn router(
    state: Arc<AppState>,
    web_root: &WebRoot,
    demo: bool,
    public_metrics: bool,
    asset_origins: &[AssetOrigin],
) -> Router {
    let web = WebParts::new(web_root);
    let console = web.console.clone();
    let console_service = SetResponseHeader::overriding(
        any(move |uri: Uri| {
            let console = console.clone();
            async move { console.serve_or(uri.path(), Some("index.html")).await }
        }),
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&console_csp(asset_origins))
            .expect("asset origins are ASCII origins, so the policy is a valid header value"),
    );
    let tracker = web.tracker.clone();
    let router = Router::new().route(
        "/tracker.js",
        get(move || {
            let tracker = tracker.clone();
            async move { tracker.tracker_bundle().await }
        }),
    );
    let router = if demo {
        let files = web.demo.clone();
        router
            .route("/demo", get(|| async { Redirect::permanent("/demo/") }))
            .route(
                "/demo/{*path}",
                get(move |Path(path): Path<String>| {
                    let files = files.clone();
                    async move { files.serve(&path).await }
                }),
            )
            .route(
                "/demo/",
                get(move || {
                    let files = web.demo.clone();
                    async move { files.serve("index.html").await }
                }),
            )
    } else {
        // Claimed, so that the console's fallback does not answer for it.
        let off = || async { (StatusCode::NOT_FOUND, "the demo page is off; see --demo") };
        router
            .route("/demo", any(off))
            .route("/demo/", any(off))
            .route("/demo/{*rest}", any(off))
    };
    // Not left to the console's fallback either, which would answer 200 with its page.
    let router = if public_metrics {
        router.route("/metrics", get(metrics))
    } else {
        router.route("/metrics", any(|| async { StatusCode::NOT_FOUND }))
    };
    router
        .route(
            "/api/{*rest}",
            any(|| async { ApiError::not_found("no such route") }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/api/v1/track", get(tracker::handle))
        .route("/api/v1/tickets", post(agent_auth::issue_ticket))
        .route("/api/v1/me", get(agent_auth::me))
        .route("/api/v1/sign-in", get(oidc::options))
        .route("/api/v1/oidc/login", get(oidc::login))
        .route("/api/v1/oidc/callback", get(oidc::callback))
        .route("/api/v1/oidc/logout", post(oidc::logout))
        .route("/api/v1/sessions", get(session_list::list))
        .route("/api/v1/sessions/watch", get(session_list::watch))
        .route("/api/v1/audit", get(rest::get_audit))
        .route("/api/v1/codes", post(codes::resolve))
        .route(
            "/api/v1/sessions/{id}",
            get(rest::get_session).delete(erase::erase_session),
        )
        .route("/api/v1/sessions/{id}/events", get(rest::export_events))
        .route("/api/v1/sessions/{id}/events/stream", get(sse::sse))
        .route("/api/v1/sessions/{id}/live", get(live::websocket))
        .route(
            "/api/v1/sessions/{id}/recordings/{recording}/{file}",
            get(rest::get_recording),
        )
        .fallback_service(console_service)
        .layer(compression())
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}

/// gzip or Brotli, as the client accepts: a long session's export and the console's bundle are
/// text that shrinks several times over. Not for streams the reader must get as they are written
/// (Server-Sent Events; WebSocket upgrades have no body), nor for media already compressed (call
/// recordings, images).
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new().compress_when(
        DefaultPredicate::new()
            .and(NotForContentType::const_new("video/"))
            .and(NotForContentType::const_new("audio/")),
    )
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match readiness(&state).await {
        Ok(()) => "ready".into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}")).into_response(),
    }
}

/// Why the node is not ready, if it is not: `/readyz`, and `cobrowse_ready` in the metrics.
async fn readiness(state: &AppState) -> Result<(), String> {
    if !state.directory.is_ready() {
        return Err("loading the session directory".to_string());
    }
    state.store.ping().await.map_err(|e| e.to_string())
}

/// `/metrics` alone, for `--metrics-listen`.
pub fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    // The directory's size is read when asked for: one read lock, no bookkeeping on its hot path.
    let directory = state.directory.stats();
    let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let m = &state.metrics;
    m.directory_sessions.set(gauge(directory.sessions));
    m.directory_live.set(gauge(directory.live));
    m.directory_entries.set(gauge(directory.entries));
    m.directory_heap_bytes.set(gauge(directory.heap_bytes));
    m.ready.set(i64::from(readiness(&state).await.is_ok()));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_asset_origin_is_a_scheme_a_host_and_a_port_and_nothing_more() {
        let ok: AssetOrigin = "https://cdn.example:8443/".parse().unwrap();
        assert_eq!(ok.0, "https://cdn.example:8443");
        for bad in [
            "cdn.example",
            "ftp://cdn.example",
            "https://cdn.example/path",
            "https://user:pw@cdn.example",
            "https://cdn.example; img-src *",
            "data:",
        ] {
            assert!(bad.parse::<AssetOrigin>().is_err(), "{bad}");
        }
    }

    #[test]
    fn replayed_pages_load_assets_from_the_asset_origins_only() {
        let cdn: AssetOrigin = "https://cdn.example".parse().unwrap();
        let csp = console_csp(&[cdn]);
        assert!(
            csp.contains("img-src 'self' data: blob: https://cdn.example;"),
            "{csp}"
        );
        assert!(
            csp.contains("font-src 'self' data: https://cdn.example;"),
            "{csp}"
        );
        assert!(
            csp.contains("script-src 'self';"),
            "scripts never from elsewhere: {csp}"
        );
        assert!(console_csp(&[]).contains("img-src 'self' data: blob:;"));
    }
}
