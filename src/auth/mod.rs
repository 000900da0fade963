//! Who may do what: agents present a static bearer token ([`tokens`]), or a short-lived
//! [`ticket`] fetched with it where a browser cannot send a header, and are refused for a while
//! after too many failures ([`throttle`]); each is an [`Agent`] with a role and the projects it
//! sees ([`agent`]). Trackers present a project key and then a session token the server signed,
//! which lets them write to their own session, in their own project, only.

pub mod agent;
pub mod cookie;
pub mod oidc;
pub mod proxy;
pub mod throttle;
pub mod ticket;
pub mod token_file;
pub mod tokens;

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use tracing::warn;

pub use self::agent::{Agent, ProjectScope, Refusal, SignedInVia};
use self::cookie::SignedCookies;
use self::oidc::Oidc;
use self::proxy::{ProxyAuth, ProxyIdentity};
use self::throttle::{AuthThrottle, Counted};
use self::ticket::{Ticket, Tickets};
use self::tokens::AgentTokens;
use crate::clock::now_ms;
use crate::protocol::SessionId;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error(
        "missing agent token: send 'Authorization: Bearer TOKEN' (a browser's WebSocket or \
         EventSource: ?ticket= from POST /api/v1/tickets)"
    )]
    MissingAgentToken,
    #[error("unknown agent token")]
    BadAgentToken,
    #[error(
        "agent {0} was signed in by the proxy, but no role header names a role and none of its \
         groups maps to one (--agent-role-map)"
    )]
    NoRole(String),
    #[error(
        "an agent token in the URL (?token=) is not accepted, since URLs are logged: send \
         'Authorization: Bearer TOKEN', or for a browser's WebSocket or EventSource a ?ticket= \
         from POST /api/v1/tickets"
    )]
    TokenInQuery,
    #[error("ticket is malformed or was not issued by this deployment")]
    BadTicket,
    #[error("ticket expired; fetch a new one just before connecting")]
    ExpiredTicket,
    #[error("ticket was used already; fetch one for each connection")]
    UsedTicket,
    #[error("too many failed authentications from this address; try again in {retry_after_s} s")]
    Throttled { retry_after_s: u64 },
    #[error("unknown project key '{0}'")]
    BadProjectKey(String),
    #[error("origin '{0}' is not allowed to record; add it with --allowed-origin")]
    ForbiddenOrigin(String),
    #[error(
        "session token is malformed, was not signed by this deployment, or is for another project"
    )]
    BadSessionToken,
    #[error("session token expired; start a new session")]
    ExpiredSessionToken,
}

impl AuthError {
    /// The `reason` label of `cobrowse_rejected_total` that counts it.
    pub fn metric_reason(&self) -> &'static str {
        match self {
            AuthError::MissingAgentToken | AuthError::TokenInQuery => "agent_auth_missing",
            AuthError::BadAgentToken
            | AuthError::NoRole(_)
            | AuthError::BadTicket
            | AuthError::ExpiredTicket
            | AuthError::UsedTicket => "agent_auth_failed",
            AuthError::Throttled { .. } => "agent_auth_throttled",
            AuthError::BadProjectKey(_)
            | AuthError::ForbiddenOrigin(_)
            | AuthError::BadSessionToken
            | AuthError::ExpiredSessionToken => "tracker_auth_failed",
        }
    }
}

/// What a request presents as an agent's identity.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    /// `Authorization: Bearer TOKEN`.
    pub bearer: Option<&'a str>,
    /// `?ticket=`, on the routes that take one (the live WebSocket and SSE).
    pub ticket: Option<&'a str>,
    /// The request carried `?token=`, which no route takes.
    pub token_in_query: bool,
    /// The request's headers, for a trusted proxy's.
    pub headers: Option<&'a HeaderMap>,
}

impl<'a> Presented<'a> {
    pub fn new(headers: &'a HeaderMap) -> Self {
        Self {
            bearer: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim),
            headers: Some(headers),
            ..Self::default()
        }
    }
}

/// The agents' way in: their tokens, the tickets issued for them, and the throttle on failures.
pub struct AgentGate {
    /// Replaced whole when the token file changes; a request reads the set in force when it
    /// arrived.
    tokens: RwLock<Arc<AgentTokens>>,
    tickets: Tickets,
    throttle: AuthThrottle,
    /// Set with `--agent-header`: agents a trusted proxy signed in.
    proxy: Option<ProxyAuth>,
    /// Set with `--oidc-issuer`: agents the identity provider signed in, by their cookie.
    pub oidc: Option<Arc<Oidc>>,
    pub cookies: SignedCookies,
}

impl AgentGate {
    /// Tickets are signed with `secret`, the same on every node.
    pub fn new(tokens: AgentTokens, secret: &[u8], proxy: Option<ProxyAuth>) -> Self {
        Self {
            tokens: RwLock::new(Arc::new(tokens)),
            tickets: Tickets::new(secret),
            throttle: AuthThrottle::default(),
            proxy,
            oidc: None,
            cookies: SignedCookies::new(secret),
        }
    }

    /// Lets agents sign in with the identity provider `oidc` too.
    pub fn with_oidc(mut self, oidc: Option<Oidc>) -> Self {
        self.oidc = oidc.map(Arc::new);
        self
    }

    /// The agent of an OpenID Connect session cookie, when sign-in by OIDC is on.
    fn signed_in_by_cookie(&self, headers: Option<&HeaderMap>, now: u64) -> Option<Agent> {
        self.oidc.as_ref()?;
        let header = headers?.get(header::COOKIE)?.to_str().ok()?;
        self.cookies
            .open_session(cookie::cookie(header, cookie::SESSION_COOKIE)?, now)
    }

    /// The agent a trusted proxy names in the request's headers, if it does.
    fn named_by_proxy(
        &self,
        client: IpAddr,
        headers: Option<&HeaderMap>,
    ) -> Result<Agent, AuthError> {
        let (Some(proxy), Some(headers)) = (&self.proxy, headers) else {
            return Err(AuthError::MissingAgentToken);
        };
        match proxy.identify(client, headers) {
            ProxyIdentity::Agent(agent) => Ok(agent),
            ProxyIdentity::NoRole(user) => Err(AuthError::NoRole(user)),
            ProxyIdentity::Absent => Err(AuthError::MissingAgentToken),
            ProxyIdentity::Untrusted => {
                warn!(%client, header = %proxy.user_header, "agent header from an address that is not a --trusted-proxy: ignored");
                Err(AuthError::MissingAgentToken)
            }
        }
    }

    fn tokens(&self) -> Arc<AgentTokens> {
        self.tokens.read().expect("lock").clone()
    }

    /// Puts `tokens` in force: the next request, and the next ticket redeemed, use them.
    pub fn replace_tokens(&self, tokens: AgentTokens) {
        *self.tokens.write().expect("lock") = Arc::new(tokens);
    }

    /// The agent a ticket names, as it is now: a static token's agent is looked up again, so a
    /// token removed (or its role changed) takes its tickets with it.
    fn redeem(&self, ticket: &str, now: u64) -> Result<Agent, AuthError> {
        let agent = self.tickets.redeem(ticket, now)?;
        match agent.via {
            SignedInVia::Token => self
                .tokens()
                .agent_named(&agent.name)
                .ok_or(AuthError::BadTicket),
            SignedInVia::Proxy | SignedInVia::Oidc => Ok(agent),
        }
    }

    /// The agent behind a request from `client`. Failures are logged without what was presented
    /// and counted against `client`, which is refused for a while after too many.
    pub fn authenticate(
        &self,
        client: IpAddr,
        presented: Presented<'_>,
    ) -> Result<Agent, AuthError> {
        let now = now_ms();
        self.check_throttle(client, now)?;
        if presented.token_in_query {
            return Err(AuthError::TokenInQuery);
        }
        let result = match (presented.bearer, presented.ticket) {
            (Some(token), _) => self.tokens().authenticate(Some(token)),
            (None, Some(ticket)) => self.redeem(ticket, now),
            (None, None) => match self.signed_in_by_cookie(presented.headers, now) {
                Some(agent) => Ok(agent),
                None => self.named_by_proxy(client, presented.headers),
            },
        };
        if let Err(e) = &result
            && *e != AuthError::MissingAgentToken
        {
            warn!(%client, reason = %e, "agent authentication failed");
            self.count_failure(client, now);
        }
        result
    }

    /// Refuses `client` while too many of its sign-ins failed: also before a sign-in that would
    /// cost a request to the identity provider (the OpenID Connect callback).
    pub fn check_throttle(&self, client: IpAddr, now: u64) -> Result<(), AuthError> {
        self.throttle
            .check(client, now)
            .map_err(|t| AuthError::Throttled {
                retry_after_s: t.retry_after_ms.div_ceil(1000),
            })
    }

    /// Counts a failed sign-in against `client`.
    pub fn count_failure(&self, client: IpAddr, now: u64) {
        if self.throttle.failed(client, now) == Counted::NowThrottled {
            warn!(
                %client,
                seconds = throttle::WINDOW_MS / 1000,
                "too many failed agent authentications: refusing this address for the rest of the window"
            );
        }
    }

    /// A ticket for `agent` (already authenticated with its token).
    pub fn issue_ticket(&self, agent: &Agent) -> Ticket {
        self.tickets.issue(agent, now_ms())
    }
}

/// Project keys and the origins allowed to record with them.
#[derive(Debug, Clone)]
pub struct Projects {
    keys: Vec<String>,
    /// Empty means any origin.
    allowed_origins: Vec<String>,
}

impl Projects {
    pub fn new(keys: Vec<String>, allowed_origins: Vec<String>) -> Self {
        Self {
            keys,
            allowed_origins,
        }
    }

    /// Checks a tracker's project key and its page's `Origin` header (absent for non-browser
    /// clients, which can claim any origin anyway).
    pub fn check(&self, key: &str, origin: Option<&str>) -> Result<(), AuthError> {
        if !self
            .keys
            .iter()
            .any(|k| constant_time_eq(k.as_bytes(), key.as_bytes()))
        {
            return Err(AuthError::BadProjectKey(key.chars().take(64).collect()));
        }
        match origin {
            Some(origin)
                if !self.allowed_origins.is_empty()
                    && !self.allowed_origins.iter().any(|o| o == origin) =>
            {
                Err(AuthError::ForbiddenOrigin(
                    origin.chars().take(200).collect(),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// A session token that checked out: the session it resumes, and when it stops resuming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumableSession {
    pub session: SessionId,
    /// Fixed when the session started; a token issued on resume carries it unchanged.
    pub expires_ms: u64,
}

/// Signs and checks session tokens: `base64url(session_id "." expiry_ms) "." base64url(hmac)`,
/// where the HMAC also covers the project key the session was started with (not carried in the
/// token: the tracker presents it in its `hello` anyway). So a token resumes only in its own
/// project, and only until `ttl` after the session started: a resume hands out a token with the
/// same expiry, so a tracker that stays connected cannot keep a token alive for ever.
/// Every node of a deployment must share the secret so a tracker can resume on any of them.
#[derive(Clone)]
pub struct SessionTokens {
    secret: Vec<u8>,
    ttl_ms: u64,
}

/// Keeps a session token's MAC from being valid as any other HMAC under the same secret.
const SESSION_TOKEN_LABEL: &[u8] = b"cobrowse/session\0";

impl SessionTokens {
    pub fn new(secret: &[u8], ttl_ms: u64) -> Self {
        Self {
            secret: secret.to_vec(),
            ttl_ms,
        }
    }

    /// The token of a session that starts now in project `project_key`.
    pub fn issue(&self, session: SessionId, project_key: &str) -> String {
        self.issue_until(session, project_key, now_ms() + self.ttl_ms)
    }

    /// A token for a session that resumed: the same session, project and expiry.
    pub fn reissue(&self, resumed: ResumableSession, project_key: &str) -> String {
        self.issue_until(resumed.session, project_key, resumed.expires_ms)
    }

    fn issue_until(&self, session: SessionId, project_key: &str, expires_ms: u64) -> String {
        let claims = format!("{session}.{expires_ms}");
        let signature = self.sign(project_key, claims.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(claims),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// Checks a token presented with `project_key`: a token of another project, or one signed
    /// with another secret, is [`AuthError::BadSessionToken`].
    pub fn verify(&self, token: &str, project_key: &str) -> Result<ResumableSession, AuthError> {
        let (claims, signature) = token.split_once('.').ok_or(AuthError::BadSessionToken)?;
        let claims = URL_SAFE_NO_PAD
            .decode(claims)
            .map_err(|_| AuthError::BadSessionToken)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AuthError::BadSessionToken)?;
        self.mac(project_key, &claims)
            .verify_slice(&signature)
            .map_err(|_| AuthError::BadSessionToken)?;
        let claims = String::from_utf8(claims).map_err(|_| AuthError::BadSessionToken)?;
        let (session, expires) = claims.split_once('.').ok_or(AuthError::BadSessionToken)?;
        let expires_ms: u64 = expires.parse().map_err(|_| AuthError::BadSessionToken)?;
        if expires_ms < now_ms() {
            return Err(AuthError::ExpiredSessionToken);
        }
        Ok(ResumableSession {
            session: session.parse().map_err(|_| AuthError::BadSessionToken)?,
            expires_ms,
        })
    }

    fn mac(&self, project_key: &str, claims: &[u8]) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.secret).expect("HMAC accepts keys of any length");
        mac.update(SESSION_TOKEN_LABEL);
        // Length first, so no split of key and claims is valid as another.
        mac.update(&(project_key.len() as u64).to_be_bytes());
        mac.update(project_key.as_bytes());
        mac.update(claims);
        mac
    }

    fn sign(&self, project_key: &str, claims: &[u8]) -> Vec<u8> {
        self.mac(project_key, claims)
            .finalize()
            .into_bytes()
            .to_vec()
    }
}

/// The least strength, in bits, of a secret a server reachable beyond loopback accepts.
pub const MIN_SECRET_BITS: usize = 128;
/// Fewer different characters than this is a pattern, not a random secret, whatever its length.
const MIN_DISTINCT_CHARS: usize = 10;

/// Whether `secret` carries at least [`MIN_SECRET_BITS`], estimated as if each character were
/// drawn at random from the smallest usual alphabet holding all of them: hex digits (4 bits a
/// character, so 32 of them), base64 or base64url (6 bits, so 22), any other printable text
/// (log2 95, about 6.57 bits, so 20). A secret with fewer than 10 different characters is weak at
/// any length. This over-estimates a secret a person chose, which is why the rule is only a floor:
/// the ones to use come from `openssl rand -hex 32` or the server's own generator.
pub fn is_strong_secret(secret: &str) -> bool {
    let hex = secret.bytes().all(|b| b.is_ascii_hexdigit());
    let base64 = secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'='));
    // Thousandths of a bit per character.
    let per_char = if hex {
        4_000
    } else if base64 {
        6_000
    } else {
        6_570
    };
    let mut distinct: Vec<char> = secret.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    secret.chars().count() * per_char >= MIN_SECRET_BITS * 1_000
        && distinct.len() >= MIN_DISTINCT_CHARS
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tokens_verify_and_resist_tampering() {
        let tokens = SessionTokens::new(b"secret", 60_000);
        let id = SessionId::new();
        let token = tokens.issue(id, "pk");
        assert_eq!(tokens.verify(&token, "pk").unwrap().session, id);

        let other = SessionTokens::new(b"other", 60_000);
        assert_eq!(other.verify(&token, "pk"), Err(AuthError::BadSessionToken));

        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(format!("{}.{}", SessionId::new(), u64::MAX)),
            token.split_once('.').unwrap().1
        );
        assert_eq!(
            tokens.verify(&forged, "pk"),
            Err(AuthError::BadSessionToken)
        );
        assert_eq!(
            tokens.verify("nonsense", "pk"),
            Err(AuthError::BadSessionToken)
        );
    }

    #[test]
    fn a_session_token_resumes_only_in_its_own_project() {
        let tokens = SessionTokens::new(b"secret", 60_000);
        let token = tokens.issue(SessionId::new(), "shop-a");
        assert!(tokens.verify(&token, "shop-a").is_ok());
        assert_eq!(
            tokens.verify(&token, "shop-b"),
            Err(AuthError::BadSessionToken)
        );
        assert_eq!(
            tokens.verify(&token, "shop-a\0"),
            Err(AuthError::BadSessionToken)
        );
    }

    #[test]
    fn a_resumed_session_s_token_keeps_its_first_expiry() {
        let tokens = SessionTokens::new(b"secret", 60_000);
        let first = tokens.issue_until(SessionId::new(), "pk", now_ms() + 5_000);
        let resumed = tokens.verify(&first, "pk").unwrap();
        let again = tokens.verify(&tokens.reissue(resumed, "pk"), "pk").unwrap();
        assert_eq!(again, resumed, "the same session and the same expiry");
    }

    #[test]
    fn expired_session_tokens_are_refused() {
        let tokens = SessionTokens::new(b"secret", 60_000);
        let token = tokens.issue_until(SessionId::new(), "pk", now_ms() - 1);
        assert_eq!(
            tokens.verify(&token, "pk"),
            Err(AuthError::ExpiredSessionToken)
        );
    }

    #[test]
    fn secrets_under_128_bits_are_weak() {
        for strong in [
            "0123456789abcdef0123456789abcdef",
            "Zm9vYmFyYmF6cXV4cXV1eA",
            "correct horse battery!",
        ] {
            assert!(is_strong_secret(strong), "{strong}");
        }
        for weak in [
            "",
            "bench",
            "test-agent-secret",
            "0123456789abcdef0123456789abcde",
            "Zm9vYmFyYmF6cXV4cXV1e",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "abababababababababababababababababab",
        ] {
            assert!(!is_strong_secret(weak), "{weak}");
        }
    }

    #[test]
    fn projects_check_key_and_origin() {
        let p = Projects::new(vec!["pk".into()], vec!["https://shop.example".into()]);
        assert!(p.check("pk", Some("https://shop.example")).is_ok());
        assert!(p.check("pk", None).is_ok());
        assert!(matches!(
            p.check("pk", Some("https://evil.example")),
            Err(AuthError::ForbiddenOrigin(_))
        ));
        assert!(matches!(
            p.check("nope", None),
            Err(AuthError::BadProjectKey(_))
        ));
    }
}
