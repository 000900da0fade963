//! The two cookies of an OpenID Connect sign-in, signed with `--secret` so any node reads what
//! another set: `cobrowse_login` (the `state`, `nonce` and PKCE verifier of a sign-in under way,
//! 10 minutes) and `cobrowse_session` (the signed-in agent, [`SESSION_TTL_MS`]). Each is
//! `base64url(json) "." base64url(hmac(label ‖ json))`, the label keeping one kind from passing
//! for the other or for a ticket.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::agent::Agent;
use super::oidc::PendingLogin;

type HmacSha256 = Hmac<Sha256>;

pub const SESSION_COOKIE: &str = "cobrowse_session";
pub const LOGIN_COOKIE: &str = "cobrowse_login";
/// How long a sign-in lasts before the identity provider is asked again.
pub const SESSION_TTL_MS: u64 = 8 * 3600 * 1000;
/// How long a sign-in may take at the identity provider.
pub const LOGIN_TTL_MS: u64 = 10 * 60 * 1000;

#[derive(Serialize, Deserialize)]
struct Sealed<T> {
    expires_ms: u64,
    value: T,
}

/// Signs and opens the cookies.
pub struct SignedCookies {
    mac: HmacSha256,
}

impl SignedCookies {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            mac: HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length"),
        }
    }

    fn tag(&self, label: &str, body: &[u8]) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(b"cobrowse/cookie/");
        mac.update(label.as_bytes());
        mac.update(b"\0");
        mac.update(body);
        mac
    }

    fn seal<T: Serialize>(&self, label: &str, value: T, expires_ms: u64) -> String {
        let body = serde_json::to_vec(&Sealed { expires_ms, value }).expect("serializes");
        let tag = self.tag(label, &body).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&body),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    fn open<T: DeserializeOwned>(&self, label: &str, text: &str, now_ms: u64) -> Option<T> {
        let (body, tag) = text.split_once('.')?;
        let body = URL_SAFE_NO_PAD.decode(body).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.tag(label, &body).verify_slice(&tag).ok()?;
        let sealed: Sealed<T> = serde_json::from_slice(&body).ok()?;
        (sealed.expires_ms >= now_ms).then_some(sealed.value)
    }

    pub fn session(&self, agent: &Agent, now_ms: u64) -> String {
        self.seal(SESSION_COOKIE, agent, now_ms + SESSION_TTL_MS)
    }

    pub fn open_session(&self, text: &str, now_ms: u64) -> Option<Agent> {
        self.open(SESSION_COOKIE, text, now_ms)
    }

    pub fn login(&self, pending: &PendingLogin, now_ms: u64) -> String {
        self.seal(LOGIN_COOKIE, pending, now_ms + LOGIN_TTL_MS)
    }

    pub fn open_login(&self, text: &str, now_ms: u64) -> Option<PendingLogin> {
        self.open(LOGIN_COOKIE, text, now_ms)
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{ProjectScope, SignedInVia};
    use crate::protocol::Role;

    #[test]
    fn a_session_cookie_opens_with_the_secret_until_it_expires_and_not_as_a_login() {
        let cookies = SignedCookies::new(b"secret");
        let agent = Agent::new("ada", Role::Helper, ProjectScope::All, SignedInVia::Oidc);
        let sealed = cookies.session(&agent, 1_000);
        assert_eq!(cookies.open_session(&sealed, 2_000), Some(agent));
        assert_eq!(cookies.open_session(&sealed, 1_001 + SESSION_TTL_MS), None);
        assert!(
            SignedCookies::new(b"other")
                .open_session(&sealed, 2_000)
                .is_none()
        );
        assert!(cookies.open_login(&sealed, 2_000).is_none());
        assert_eq!(
            cookie("a=1; cobrowse_session=xyz; b=2", SESSION_COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie("a=1", SESSION_COOKIE), None);
    }
}
