//! The routes of an OpenID Connect sign-in (`auth::oidc` does the protocol): `GET
//! /api/v1/oidc/login` sends the browser to the identity provider, `GET /api/v1/oidc/callback`
//! finishes the sign-in and sets the session cookie, `POST /api/v1/oidc/logout` drops it, and
//! `GET /api/v1/sign-in` tells the console which ways to sign in are on. A failed sign-in is
//! logged (never a token or a code) and counted.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tracing::{info, warn};

use super::agent_auth::client_address;
use super::error::ApiError;
use crate::auth::cookie::{LOGIN_COOKIE, LOGIN_TTL_MS, SESSION_COOKIE, SESSION_TTL_MS, cookie};
use crate::auth::oidc::Oidc;
use crate::clock::now_ms;
use crate::state::AppState;

/// The `reason` label of `cobrowse_rejected_total` for a failed OpenID Connect sign-in.
pub const OIDC_FAILED: &str = "oidc_failed";

fn enabled(state: &AppState) -> Result<&Arc<Oidc>, ApiError> {
    state
        .agents
        .oidc
        .as_ref()
        .ok_or_else(|| ApiError::not_found("OpenID Connect sign-in is off (see --oidc-issuer)"))
}

/// A `Set-Cookie` value: HttpOnly always, `Secure` when the server is reached over https.
fn set_cookie(
    oidc: &Oidc,
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age_s: u64,
) -> String {
    let secure = if oidc.config.redirect_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite={same_site}; Max-Age={max_age_s}{secure}"
    )
}

/// `GET /api/v1/oidc/login`.
pub async fn login(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let oidc = enabled(&state)?;
    let (url, pending) = oidc.login().await.map_err(|e| {
        warn!(error = %e, "OpenID Connect sign-in could not start");
        ApiError::not_ready(e.to_string(), 5)
    })?;
    let sealed = state.agents.cookies.login(&pending, now_ms());
    // Lax: the provider brings the browser back with a top-level navigation from its own site.
    let login_cookie = set_cookie(
        oidc,
        LOGIN_COOKIE,
        &sealed,
        "/api/v1/oidc",
        "Lax",
        LOGIN_TTL_MS / 1000,
    );
    Ok((
        StatusCode::FOUND,
        [(header::LOCATION, url), (header::SET_COOKIE, login_cookie)],
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /api/v1/oidc/callback`.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    Query(params): Query<CallbackParams>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Result<Response, ApiError> {
    let oidc = enabled(&state)?;
    // Each callback may cost a request to the provider: an address whose sign-ins keep failing
    // is refused before that, as for tokens.
    let client = client_address(&extensions);
    let now = now_ms();
    state.agents.check_throttle(client, now)?;
    let refuse = |reason: String| {
        warn!(%client, reason, "OpenID Connect sign-in failed");
        state.agents.count_failure(client, now);
        state
            .metrics
            .rejected
            .with_label_values(&[OIDC_FAILED])
            .inc();
        ApiError::unauthorized(format!("sign-in failed: {reason}"))
    };
    if let Some(error) = params.error {
        return Err(refuse(format!(
            "the identity provider answered {}",
            error.chars().take(100).collect::<String>()
        )));
    }
    let pending = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| cookie(h, LOGIN_COOKIE))
        .and_then(|c| state.agents.cookies.open_login(c, now));
    let (Some(code), Some(returned), Some(pending)) = (params.code, params.state, pending) else {
        return Err(refuse(
            "the sign-in was not started here or took too long; sign in again".into(),
        ));
    };
    let agent = oidc
        .callback(&code, &returned, &pending)
        .await
        .map_err(|e| refuse(e.to_string()))?;
    info!(agent = agent.name, role = %agent.role, "agent signed in with OpenID Connect");
    let session = state.agents.cookies.session(&agent, now);
    let session_cookie = set_cookie(
        oidc,
        SESSION_COOKIE,
        &session,
        "/",
        "Strict",
        SESSION_TTL_MS / 1000,
    );
    let clear_login = set_cookie(oidc, LOGIN_COOKIE, "", "/api/v1/oidc", "Lax", 0);
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    // Appended, not inserted: a response sets both cookies.
    for cookie in [session_cookie, clear_login] {
        if let Ok(value) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// `POST /api/v1/oidc/logout`.
pub async fn logout(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let oidc = enabled(&state)?;
    let clear = set_cookie(oidc, SESSION_COOKIE, "", "/", "Strict", 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// `GET /api/v1/sign-in`: which ways to sign in the console should offer.
pub async fn options(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "oidc": state.agents.oidc.is_some() }))
}
