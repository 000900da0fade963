//! `serve`'s flags for how agents sign in: static tokens (on the command line or in a file re-read
//! on change), a trusted proxy's headers, and OpenID Connect; and what they come to in the
//! server's configuration.

use std::path::PathBuf;

use axum::http::HeaderName;
use clap::Args;

use cobrowse::app::server::{ServerConfig, random_secret};
use cobrowse::auth::oidc::OidcConfig;
use cobrowse::auth::proxy::{BadRoleMap, ProxyAuth, RoleMap, parse_trusted};
use cobrowse::auth::tokens::{BadToken, StaticToken, parse_token_list};
use cobrowse::protocol::Role;

#[derive(Debug, Args)]
pub struct SignInArgs {
    /// Agent token as NAME:SECRET:ROLE[:PROJECT,...] with ROLE viewer, helper or admin (viewer
    /// when left out; every project when none are given); repeatable. None given (and no
    /// other way to sign in): an admin one is generated and printed.
    #[arg(
        long = "agent-token",
        env = "COBROWSE_AGENT_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub agent_tokens: Vec<String>,
    /// A file of agent tokens, one NAME:SECRET:ROLE[:PROJECTS] a line (# comments), re-read when
    /// it changes: tokens are added and revoked without a restart.
    #[arg(long, env = "COBROWSE_AGENT_TOKENS_FILE")]
    pub agent_tokens_file: Option<PathBuf>,
    /// Trusted-proxy sign-in: the header a proxy in front (oauth2-proxy) names the agent in,
    /// e.g. X-Auth-Request-User; believed only from --trusted-proxy addresses.
    #[arg(long, env = "COBROWSE_AGENT_HEADER", requires = "trusted_proxies")]
    pub agent_header: Option<HeaderName>,
    /// The proxy's header carrying the agent's role (viewer, helper or admin).
    #[arg(long, env = "COBROWSE_AGENT_ROLE_HEADER", requires = "agent_header")]
    pub agent_role_header: Option<HeaderName>,
    /// The proxy's header carrying the agent's groups, comma-separated, mapped to a role by
    /// --agent-role-map (e.g. X-Auth-Request-Groups).
    #[arg(long, env = "COBROWSE_AGENT_GROUPS_HEADER", requires = "agent_header")]
    pub agent_groups_header: Option<HeaderName>,
    /// The proxy's header carrying the project keys the agent sees, comma-separated (absent:
    /// every project).
    #[arg(
        long,
        env = "COBROWSE_AGENT_PROJECTS_HEADER",
        requires = "agent_header"
    )]
    pub agent_projects_header: Option<HeaderName>,
    /// Which group makes which role, ROLE=GROUP (repeatable, comma-separated): e.g.
    /// admin=cobrowse-admins,helper=support.
    #[arg(long, env = "COBROWSE_AGENT_ROLE_MAP", value_delimiter = ',')]
    pub agent_role_map: Vec<String>,
    /// The role of a proxy-signed-in agent no header or group gives one; default: refused.
    #[arg(long, env = "COBROWSE_AGENT_DEFAULT_ROLE", requires = "agent_header")]
    pub agent_default_role: Option<Role>,
    /// Addresses or CIDR networks of the proxy whose --agent-header is believed (repeatable).
    #[arg(
        long = "trusted-proxy",
        env = "COBROWSE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// OpenID Connect sign-in: the identity provider's issuer URL (its discovery document is at
    /// ISSUER/.well-known/openid-configuration).
    #[arg(long, env = "COBROWSE_OIDC_ISSUER", requires_all = ["oidc_client_id", "oidc_redirect_url"])]
    pub oidc_issuer: Option<String>,
    /// This server's client id at the identity provider.
    #[arg(long, env = "COBROWSE_OIDC_CLIENT_ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// The client secret, for a confidential client (PKCE is used either way).
    #[arg(
        long,
        env = "COBROWSE_OIDC_CLIENT_SECRET",
        hide_env_values = true,
        requires = "oidc_issuer"
    )]
    pub oidc_client_secret: Option<String>,
    /// Where the provider sends browsers back: https://YOUR-HOST/api/v1/oidc/callback.
    #[arg(long, env = "COBROWSE_OIDC_REDIRECT_URL", requires = "oidc_issuer")]
    pub oidc_redirect_url: Option<String>,
    /// The ID token claim holding the agent's groups.
    #[arg(long, env = "COBROWSE_OIDC_ROLE_CLAIM", default_value = "groups")]
    pub oidc_role_claim: String,
    /// Which group makes which role, ROLE=GROUP (repeatable, comma-separated):
    /// admin=cobrowse-admins,helper=support.
    #[arg(long, env = "COBROWSE_OIDC_ROLE_MAP", value_delimiter = ',')]
    pub oidc_role_map: Vec<String>,
    /// The role of an agent none of whose groups maps to one; default: refused.
    #[arg(long, env = "COBROWSE_OIDC_DEFAULT_ROLE", requires = "oidc_issuer")]
    pub oidc_default_role: Option<Role>,
    /// The ID token claim holding the project keys the agent sees (absent: every project).
    #[arg(long, env = "COBROWSE_OIDC_PROJECTS_CLAIM", requires = "oidc_issuer")]
    pub oidc_projects_claim: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("--agent-token: {0}")]
    AgentToken(#[from] BadToken),
    #[error("--agent-role-map: {0}")]
    RoleMap(#[from] BadRoleMap),
    #[error("{0}")]
    TrustedProxy(String),
}

impl SignInArgs {
    /// Puts the sign-in settings in `config`; the agent token generated when there is no other
    /// way to sign in.
    pub fn apply(self, config: &mut ServerConfig) -> Result<Option<String>, SignInError> {
        config.agent_tokens = parse_token_list(&self.agent_tokens)?;
        config.agent_tokens_file = self.agent_tokens_file;
        let role_map = RoleMap::parse(&self.agent_role_map)?;
        config.agent_proxy = match self.agent_header {
            Some(user_header) => Some(ProxyAuth {
                user_header,
                role_header: self.agent_role_header,
                groups_header: self.agent_groups_header,
                role_map,
                projects_header: self.agent_projects_header,
                default_role: self.agent_default_role,
                trusted: self
                    .trusted_proxies
                    .iter()
                    .map(|t| parse_trusted(t.trim()))
                    .collect::<Result<_, _>>()
                    .map_err(SignInError::TrustedProxy)?,
            }),
            None => None,
        };
        config.oidc = match (
            self.oidc_issuer,
            self.oidc_client_id,
            self.oidc_redirect_url,
        ) {
            (Some(issuer), Some(client_id), Some(redirect_url)) => Some(OidcConfig {
                issuer,
                client_id,
                client_secret: self.oidc_client_secret,
                redirect_url,
                role_claim: self.oidc_role_claim,
                role_map: RoleMap::parse(&self.oidc_role_map)?,
                default_role: self.oidc_default_role,
                projects_claim: self.oidc_projects_claim,
            }),
            _ => None,
        };
        if config.agent_tokens.is_empty()
            && config.agent_tokens_file.is_none()
            && config.agent_proxy.is_none()
            && config.oidc.is_none()
        {
            let secret = random_secret();
            config.agent_tokens = vec![StaticToken::new("agent", &secret, Role::Admin)];
            return Ok(Some(secret));
        }
        Ok(None)
    }
}
