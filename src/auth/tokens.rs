//! Static agent tokens, for scripts, the CLI and small deployments: `NAME:SECRET:ROLE[:PROJECTS]`
//! from `--agent-token` or a token file ([`super::token_file`]), one per line.

use std::collections::HashMap;

use super::agent::{Agent, ProjectScope, SignedInVia};
use super::{AuthError, constant_time_eq};
use crate::protocol::Role;

/// One configured token: who it signs in, as what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticToken {
    pub name: String,
    pub secret: String,
    pub role: Role,
    pub projects: ProjectScope,
}

/// Why a token's text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "agent token '{name}…' must look like NAME:SECRET[:ROLE[:PROJECT,PROJECT…]] with ROLE one of \
     viewer, helper, admin ({reason})"
)]
pub struct BadToken {
    /// The name part only: the secret is never repeated in an error.
    pub name: String,
    pub reason: &'static str,
}

impl StaticToken {
    pub fn new(name: &str, secret: &str, role: Role) -> Self {
        Self {
            name: name.to_string(),
            secret: secret.to_string(),
            role,
            projects: ProjectScope::All,
        }
    }

    pub fn agent(&self) -> Agent {
        Agent::new(
            &self.name,
            self.role,
            self.projects.clone(),
            SignedInVia::Token,
        )
    }
}

impl std::str::FromStr for StaticToken {
    type Err = BadToken;

    /// `NAME:SECRET` (a viewer of every project), `NAME:SECRET:ROLE`, or
    /// `NAME:SECRET:ROLE:PROJECTS` with the project keys comma-separated. The role and projects
    /// are taken from the right, so a secret may hold a colon.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |reason| BadToken {
            name: text
                .split(':')
                .next()
                .unwrap_or("")
                .chars()
                .take(64)
                .collect(),
            reason,
        };
        let (name, rest) = text.split_once(':').ok_or_else(|| bad("no ':'"))?;
        let parts: Vec<&str> = rest.rsplitn(3, ':').collect();
        let (secret, role, projects) = match parts.as_slice() {
            [last, role, secret] if role.parse::<Role>().is_ok() => {
                (*secret, role.parse().ok(), Some(*last))
            }
            [last, _, ..] if last.parse::<Role>().is_ok() => (
                &rest[..rest.len() - last.len() - 1],
                last.parse().ok(),
                None,
            ),
            _ => (rest, None, None),
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(bad("empty name or a space in it"));
        }
        if secret.is_empty() {
            return Err(bad("empty secret"));
        }
        let projects = match projects {
            None => ProjectScope::All,
            Some(list) => {
                let keys: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(String::from)
                    .collect();
                if keys.is_empty() {
                    return Err(bad("an empty project list"));
                }
                ProjectScope::Only(keys)
            }
        };
        Ok(Self {
            name: name.to_string(),
            secret: secret.to_string(),
            role: role.unwrap_or(Role::Viewer),
            projects,
        })
    }
}

/// Parses `--agent-token` values as clap hands them over: split at every comma (the environment
/// variable lists tokens comma-separated), so a piece without a `:` is one more project of the
/// token before it (`alice:pw:helper:shop-a,shop-b`), never a token of its own.
pub fn parse_token_list(pieces: &[String]) -> Result<Vec<StaticToken>, BadToken> {
    let mut joined: Vec<String> = Vec::new();
    for piece in pieces {
        match joined.last_mut() {
            Some(last) if !piece.contains(':') => {
                last.push(',');
                last.push_str(piece);
            }
            _ => joined.push(piece.clone()),
        }
    }
    joined.iter().map(|t| t.parse()).collect()
}

/// The static tokens in force, by secret.
#[derive(Debug, Clone, Default)]
pub struct AgentTokens {
    by_secret: HashMap<String, StaticToken>,
}

impl AgentTokens {
    pub fn new(tokens: impl IntoIterator<Item = StaticToken>) -> Self {
        Self {
            by_secret: tokens.into_iter().map(|t| (t.secret.clone(), t)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.by_secret.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_secret.is_empty()
    }

    pub fn authenticate(&self, token: Option<&str>) -> Result<Agent, AuthError> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::MissingAgentToken)?;
        // Compare against every secret so the time taken does not reveal a partial match.
        let mut found = None;
        for (secret, configured) in &self.by_secret {
            if constant_time_eq(secret.as_bytes(), token.as_bytes()) {
                found = Some(configured);
            }
        }
        found
            .map(StaticToken::agent)
            .ok_or(AuthError::BadAgentToken)
    }

    /// The agent a token of that name signs in now, if one is configured.
    pub fn agent_named(&self, name: &str) -> Option<Agent> {
        self.by_secret
            .values()
            .find(|t| t.name == name)
            .map(StaticToken::agent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StaticToken, BadToken> {
        text.parse()
    }

    #[test]
    fn a_token_carries_a_role_and_projects_and_is_a_viewer_by_default() {
        let plain = parse("alice:s3cret").unwrap();
        assert_eq!(
            (plain.secret.as_str(), plain.role),
            ("s3cret", Role::Viewer)
        );
        assert_eq!(plain.projects, ProjectScope::All);
        let admin = parse("root:s3cret:admin").unwrap();
        assert_eq!((admin.secret.as_str(), admin.role), ("s3cret", Role::Admin));
        let scoped = parse("bob:pw:helper:shop-a, shop-b").unwrap();
        assert_eq!(scoped.role, Role::Helper);
        assert_eq!(
            scoped.projects,
            ProjectScope::Only(vec!["shop-a".into(), "shop-b".into()])
        );
        let colon = parse("carol:a:b:viewer").unwrap();
        assert_eq!((colon.secret.as_str(), colon.role), ("a:b", Role::Viewer));
        assert_eq!(parse("dave:x:y").unwrap().secret, "x:y");
    }

    #[test]
    fn a_comma_separated_list_keeps_each_token_s_projects() {
        let pieces: Vec<String> = "alice:pw:helper:shop-a,shop-b,bob:pw2,carol:pw3:admin"
            .split(',')
            .map(String::from)
            .collect();
        let tokens = parse_token_list(&pieces).unwrap();
        assert_eq!(tokens.len(), 3);
        assert_eq!(
            tokens[0].projects,
            ProjectScope::Only(vec!["shop-a".into(), "shop-b".into()])
        );
        assert_eq!(
            (tokens[1].name.as_str(), tokens[1].role),
            ("bob", Role::Viewer)
        );
        assert_eq!(tokens[2].role, Role::Admin);
    }

    #[test]
    fn malformed_tokens_are_refused_without_their_secret() {
        for bad in [
            "alice",
            ":s3cret",
            "alice:",
            "alice::admin",
            "alice:pw:helper:,",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let error = parse("alice::admin").unwrap_err().to_string();
        assert!(error.starts_with("agent token 'alice…'"), "{error}");
    }

    #[test]
    fn agent_tokens_name_their_agent_and_role() {
        let tokens = AgentTokens::new([parse("alice:s3cret:helper").unwrap()]);
        let alice = tokens.authenticate(Some("s3cret")).unwrap();
        assert_eq!((alice.name.as_str(), alice.role), ("alice", Role::Helper));
        assert_eq!(
            tokens.authenticate(Some("s3cre")),
            Err(AuthError::BadAgentToken)
        );
        assert_eq!(tokens.authenticate(None), Err(AuthError::MissingAgentToken));
        assert_eq!(tokens.agent_named("alice"), Some(alice));
        assert_eq!(tokens.agent_named("bob"), None);
    }
}
