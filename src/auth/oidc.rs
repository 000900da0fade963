//! OpenID Connect sign-in for agents, done by the server (authorization code flow with PKCE): the
//! console sends the browser to `GET /api/v1/oidc/login`, which redirects to the identity
//! provider with a fresh `state`, `nonce` and PKCE challenge kept in a short-lived signed cookie;
//! the provider sends the browser back to `GET /api/v1/oidc/callback`, where the server exchanges
//! the code for an ID token, verifies it against the issuer's JWKS (signature, `iss`, `aud`,
//! `exp`, `nonce`), and gives the browser an HttpOnly, SameSite=Strict session cookie signed with
//! `--secret`. No agent credential is ever readable by the console's scripts.
//!
//! The discovery document and the JWKS are fetched when first needed and cached; a token signed
//! with a key the cache does not know makes the JWKS be fetched again (key rotation), at most once
//! a second.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::agent::{Agent, ProjectScope, SignedInVia};
use super::proxy::RoleMap;
use crate::protocol::Role;

/// How an operator configured the identity provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// `iss` of the provider; its discovery document is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Where the provider sends the browser back: this server's `/api/v1/oidc/callback`, as
    /// browsers reach it (`https://cobrowse.example.com/api/v1/oidc/callback`).
    pub redirect_url: String,
    /// The claim holding the agent's groups (a list of strings, or one string).
    pub role_claim: String,
    pub role_map: RoleMap,
    /// The role of an agent none of whose groups maps to one; `None` refuses it.
    pub default_role: Option<Role>,
    /// The claim holding the project keys the agent sees; absent: every project.
    pub projects_claim: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider could not be reached or answered nonsense: {0}")]
    Provider(String),
    #[error("the sign-in was not started here or took too long; sign in again")]
    BadState,
    #[error("the ID token was refused: {0}")]
    BadToken(String),
    #[error("{0} signed in, but none of its groups maps to a role (--oidc-role-map)")]
    NoRole(String),
}

/// What `/api/v1/oidc/login` keeps for the callback, in a signed cookie.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
}

/// The claims read from an ID token.
#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    nonce: Option<String>,
    name: Option<String>,
    preferred_username: Option<String>,
    email: Option<String>,
    #[serde(flatten)]
    rest: HashMap<String, serde_json::Value>,
}

struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
}

/// The provider, as this server talks to it.
pub struct Oidc {
    pub config: OidcConfig,
    http: reqwest::Client,
    discovery: Mutex<Option<Discovery>>,
    keys: Mutex<Keys>,
}

/// Least time between two JWKS fetches caused by unknown keys.
const REFETCH: Duration = Duration::from_secs(1);

/// The JSON answer to `request`, a success status or an error naming `what` was asked.
async fn json_of<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<T, OidcError> {
    let fail = |e: reqwest::Error| OidcError::Provider(format!("{what}: {e}"));
    request
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)
}

fn random_text() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Self {
        Self {
            config,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a client with a timeout builds"),
            discovery: Mutex::new(None),
            keys: Mutex::new(Keys {
                by_kid: HashMap::new(),
                fetched: None,
            }),
        }
    }

    async fn discovery(&self) -> Result<Discovery, OidcError> {
        let mut cached = self.discovery.lock().await;
        if let Some(d) = cached.as_ref() {
            return Ok(d.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let found: Discovery = self.get_json(&url).await?;
        if found.issuer != self.config.issuer {
            return Err(OidcError::Provider(format!(
                "the discovery document names issuer {}, not {}",
                found.issuer, self.config.issuer
            )));
        }
        *cached = Some(found.clone());
        Ok(found)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        json_of(self.http.get(url), url).await
    }

    /// Where to send the browser to sign in, and what to keep for the callback.
    pub async fn login(&self) -> Result<(String, PendingLogin), OidcError> {
        let discovery = self.discovery().await?;
        let pending = PendingLogin {
            state: random_text(),
            nonce: random_text(),
            verifier: random_text(),
        };
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
        let mut url = url::Url::parse(&discovery.authorization_endpoint)
            .map_err(|e| OidcError::Provider(format!("authorization_endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_url)
            .append_pair("scope", "openid profile email")
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok((url.into(), pending))
    }

    /// Finishes a sign-in: the callback's `code` and `state`, with what `login` kept.
    pub async fn callback(
        &self,
        code: &str,
        state: &str,
        pending: &PendingLogin,
    ) -> Result<Agent, OidcError> {
        if state != pending.state {
            return Err(OidcError::BadState);
        }
        let discovery = self.discovery().await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.config.redirect_url.as_str()),
            ("client_id", self.config.client_id.as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ];
        if let Some(secret) = &self.config.client_secret {
            form.push(("client_secret", secret));
        }
        let request = self.http.post(&discovery.token_endpoint).form(&form);
        let token: TokenResponse = json_of(request, "the token endpoint").await?;
        self.verify(&token.id_token, &pending.nonce).await
    }

    /// The agent an ID token names, if it is the issuer's, for this client, unexpired, and carries
    /// `nonce`.
    pub async fn verify(&self, id_token: &str, nonce: &str) -> Result<Agent, OidcError> {
        let bad = |e: &dyn std::fmt::Display| OidcError::BadToken(e.to_string());
        let header = decode_header(id_token).map_err(|e| bad(&e))?;
        let kid = header.kid.clone().unwrap_or_default();
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        let claims = decode::<IdClaims>(id_token, &key, &validation)
            .map_err(|e| bad(&e))?
            .claims;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(OidcError::BadToken(
                "its nonce is not this sign-in's".into(),
            ));
        }
        self.agent(claims)
    }

    /// The key `kid` names, fetching the JWKS again if it is not known (at most once a second).
    async fn key(&self, kid: &str) -> Result<DecodingKey, OidcError> {
        let mut keys = self.keys.lock().await;
        if let Some(key) = keys.by_kid.get(kid) {
            return Ok(key.clone());
        }
        if keys.fetched.is_some_and(|at| at.elapsed() < REFETCH) {
            return Err(OidcError::BadToken(format!(
                "no key '{kid}' in the issuer's JWKS"
            )));
        }
        let discovery = self.discovery().await?;
        let set: JwkSet = self.get_json(&discovery.jwks_uri).await?;
        keys.fetched = Some(Instant::now());
        keys.by_kid = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect();
        keys.by_kid
            .get(kid)
            .cloned()
            .ok_or_else(|| OidcError::BadToken(format!("no key '{kid}' in the issuer's JWKS")))
    }

    fn agent(&self, claims: IdClaims) -> Result<Agent, OidcError> {
        let name = claims
            .preferred_username
            .clone()
            .or_else(|| claims.email.clone())
            .unwrap_or_else(|| claims.sub.clone());
        let strings = |claim: &str| -> Vec<String> {
            match claims.rest.get(claim) {
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
                Some(serde_json::Value::String(one)) => vec![one.clone()],
                _ => Vec::new(),
            }
        };
        let groups = strings(&self.config.role_claim);
        let role = self
            .config
            .role_map
            .role_of(groups.iter().map(String::as_str))
            .or(self.config.default_role)
            .ok_or_else(|| OidcError::NoRole(name.clone()))?;
        let projects = match &self.config.projects_claim {
            Some(claim) if claims.rest.contains_key(claim) => ProjectScope::Only(strings(claim)),
            _ => ProjectScope::All,
        };
        let mut agent = Agent::new(&name, role, projects, SignedInVia::Oidc);
        agent.display_name = claims.name.unwrap_or(name);
        agent.subject = Some(claims.sub);
        Ok(agent)
    }
}
