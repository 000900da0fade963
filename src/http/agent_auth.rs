//! Who an agent request is from, as extractors every agent route takes: [`BearerAgent`] (the
//! REST API and the ticket route: `Authorization: Bearer TOKEN` only) and [`LiveAgent`] (the live
//! WebSocket and SSE, which a browser opens without headers: the bearer header or a `?ticket=`).
//! A `?token=` in the URL is refused on every route: proxies and servers log URLs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::Extensions;
use axum::http::request::Parts;
use serde::Deserialize;

use super::error::ApiError;
use crate::auth::{Agent, Presented};
use crate::protocol::{SignedInAgent, TicketResponse};
use crate::state::AppState;

/// The query parameters that carry credentials.
#[derive(Deserialize)]
struct Credentials {
    token: Option<String>,
    ticket: Option<String>,
}

/// An agent authenticated by its bearer token.
pub struct BearerAgent(pub Agent);

/// An agent authenticated by its bearer token or a ticket.
pub struct LiveAgent(pub Agent);

/// The address a request came from, which failed sign-ins are counted against. Requests come
/// through `into_make_service_with_connect_info`; were one not to, every client would share the
/// unspecified address's failure count, which errs on the safe side.
pub fn client_address(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

async fn authenticate(
    parts: &mut Parts,
    state: &Arc<AppState>,
    tickets: bool,
) -> Result<Agent, ApiError> {
    let Query(credentials) = Query::<Credentials>::try_from_uri(&parts.uri)?;
    let client = client_address(&parts.extensions);
    let presented = Presented {
        ticket: credentials.ticket.as_deref().filter(|_| tickets),
        token_in_query: credentials.token.is_some(),
        ..Presented::new(&parts.headers)
    };
    Ok(state.authenticate_agent(client, presented)?)
}

impl FromRequestParts<Arc<AppState>> for BearerAgent {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state, false).await.map(Self)
    }
}

impl FromRequestParts<Arc<AppState>> for LiveAgent {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state, true).await.map(Self)
    }
}

/// `POST /api/v1/tickets`: a ticket for the live WebSocket or SSE, fetched with the bearer token
/// so the token itself never goes in a URL.
pub async fn issue_ticket(
    State(state): State<Arc<AppState>>,
    BearerAgent(agent): BearerAgent,
) -> Json<TicketResponse> {
    let ticket = state.agents.issue_ticket(&agent);
    Json(TicketResponse {
        ticket: ticket.ticket,
        expires_ms: ticket.expires_ms,
    })
}

/// `GET /api/v1/me`: who the caller is signed in as, its role and projects, for the console to
/// show only what the role allows.
pub async fn me(BearerAgent(agent): BearerAgent) -> Json<SignedInAgent> {
    Json(agent.signed_in())
}
