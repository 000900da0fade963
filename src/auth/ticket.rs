//! Tickets: what a browser puts in the URL of a live WebSocket or EventSource instead of the
//! agent's token (neither API can set a header, and URLs end up in proxy and server logs).
//!
//! A ticket is fetched with the token (`POST /api/v1/tickets`), names its agent, lasts
//! [`TICKET_TTL_MS`] and opens one socket. It is `base64url(json {expires_ms, nonce, agent})
//! "." base64url(hmac)` under the deployment's secret, the agent with its role and projects, so any node can check one another node
//! issued (no sticky routing, nothing shared but the secret); each node remembers the nonces it
//! redeemed until they expire, so a ticket opens at most one socket per node, and only within its
//! lifetime: a ticket lifted from a log is stale long before anyone reads the log. Pure code:
//! time comes in as arguments.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use serde::{Deserialize, Serialize};

use super::{Agent, AuthError};

type HmacSha256 = Hmac<Sha256>;

/// How long a ticket opens a socket: enough for a console to fetch one and connect.
pub const TICKET_TTL_MS: u64 = 30_000;
/// Keeps a ticket's MAC from being valid as any other HMAC under the same secret.
const LABEL: &[u8] = b"cobrowse/ticket\0";

/// A ticket just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub ticket: String,
    pub expires_ms: u64,
}

/// What a ticket says.
#[derive(Serialize, Deserialize)]
struct Claims {
    expires_ms: u64,
    nonce: String,
    agent: Agent,
}

/// Issues and redeems tickets.
pub struct Tickets {
    mac: HmacSha256,
    /// Nonces redeemed on this node, with when their ticket expires (after which it is refused
    /// anyway, so it is forgotten).
    redeemed: Mutex<HashMap<String, u64>>,
}

impl Tickets {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            mac: HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length"),
            redeemed: Mutex::new(HashMap::new()),
        }
    }

    fn tag(&self, claims: &[u8]) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(LABEL);
        mac.update(claims);
        mac
    }

    /// A ticket for `agent`, valid from `now_ms` for [`TICKET_TTL_MS`].
    pub fn issue(&self, agent: &Agent, now_ms: u64) -> Ticket {
        let expires_ms = now_ms + TICKET_TTL_MS;
        let claims = serde_json::to_vec(&Claims {
            expires_ms,
            nonce: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
            agent: agent.clone(),
        })
        .expect("claims serialize");
        let tag = self.tag(&claims).finalize().into_bytes();
        Ticket {
            ticket: format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(claims),
                URL_SAFE_NO_PAD.encode(tag)
            ),
            expires_ms,
        }
    }

    /// The agent a ticket names, if a node of this deployment issued it, it has not expired and
    /// it was not redeemed on this node before.
    pub fn redeem(&self, ticket: &str, now_ms: u64) -> Result<Agent, AuthError> {
        let (claims, tag) = ticket.split_once('.').ok_or(AuthError::BadTicket)?;
        let claims = URL_SAFE_NO_PAD
            .decode(claims)
            .map_err(|_| AuthError::BadTicket)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| AuthError::BadTicket)?;
        self.tag(&claims)
            .verify_slice(&tag)
            .map_err(|_| AuthError::BadTicket)?;
        let Claims {
            expires_ms,
            nonce,
            agent,
        } = serde_json::from_slice(&claims).map_err(|_| AuthError::BadTicket)?;
        if expires_ms < now_ms {
            return Err(AuthError::ExpiredTicket);
        }
        let mut redeemed = self.redeemed.lock().expect("lock");
        redeemed.retain(|_, expires| *expires >= now_ms);
        if redeemed.insert(nonce, expires_ms).is_some() {
            return Err(AuthError::UsedTicket);
        }
        Ok(agent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{ProjectScope, SignedInVia};
    use crate::protocol::Role;

    fn alice() -> Agent {
        Agent::new(
            "alice",
            Role::Helper,
            ProjectScope::Only(vec!["shop-a".into()]),
            SignedInVia::Token,
        )
    }

    #[test]
    fn a_ticket_opens_once_and_names_its_agent() {
        let tickets = Tickets::new(b"secret");
        let t = tickets.issue(&alice(), 1_000);
        assert_eq!(t.expires_ms, 1_000 + TICKET_TTL_MS);
        assert_eq!(tickets.redeem(&t.ticket, 2_000), Ok(alice()));
        assert_eq!(tickets.redeem(&t.ticket, 2_001), Err(AuthError::UsedTicket));
        let other = tickets.issue(&alice(), 1_000);
        assert_ne!(other.ticket, t.ticket, "every ticket is new");
        assert_eq!(tickets.redeem(&other.ticket, 2_000), Ok(alice()));
    }

    #[test]
    fn another_node_with_the_secret_redeems_it_and_others_do_not() {
        let issued = Tickets::new(b"secret").issue(&alice(), 1_000);
        assert_eq!(
            Tickets::new(b"secret").redeem(&issued.ticket, 1_500),
            Ok(alice())
        );
        assert_eq!(
            Tickets::new(b"another").redeem(&issued.ticket, 1_500),
            Err(AuthError::BadTicket)
        );
    }

    #[test]
    fn expired_altered_and_malformed_tickets_are_refused() {
        let tickets = Tickets::new(b"secret");
        let t = tickets.issue(&alice(), 1_000);
        assert_eq!(
            tickets.redeem(&t.ticket, 1_001 + TICKET_TTL_MS),
            Err(AuthError::ExpiredTicket)
        );
        let (claims, tag) = t.ticket.split_once('.').unwrap();
        let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        for (from, to) in [
            ("alice", "admin"),
            ("helper", "admin"),
            ("shop-a", "shop-b"),
        ] {
            let altered = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(claims.replace(from, to)));
            assert_eq!(tickets.redeem(&altered, 1_000), Err(AuthError::BadTicket));
        }
        for junk in ["", ".", "x.y", "nonsense"] {
            assert_eq!(tickets.redeem(junk, 1_000), Err(AuthError::BadTicket));
        }
    }

    #[test]
    fn redeemed_nonces_are_forgotten_once_their_ticket_expired() {
        let tickets = Tickets::new(b"secret");
        let t = tickets.issue(&alice(), 1_000);
        tickets.redeem(&t.ticket, 1_000).unwrap();
        let later = tickets.issue(&alice(), 100_000);
        tickets.redeem(&later.ticket, 100_000).unwrap();
        assert_eq!(tickets.redeemed.lock().unwrap().len(), 1);
    }
}
