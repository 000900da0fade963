//! Who an authenticated agent is and what it may do: its [`Role`] and the projects it sees. Every
//! way of signing in (a static token, a trusted proxy's header, OpenID Connect) ends in an
//! [`Agent`], and every route and every signal asks it before acting ([`Agent::require`],
//! [`Agent::sees`]), so the rules live here once.

use serde::{Deserialize, Serialize};

use crate::protocol::{GrantKind, Role, Signal, SignedInAgent};

/// How an agent proved who it is; a ticket or a session cookie names it so that the agent can be
/// looked up again (a static token removed from the file stops its tickets too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignedInVia {
    Token,
    Proxy,
    Oidc,
}

impl SignedInVia {
    pub fn as_str(self) -> &'static str {
        match self {
            SignedInVia::Token => "token",
            SignedInVia::Proxy => "proxy",
            SignedInVia::Oidc => "oidc",
        }
    }
}

/// The projects an agent sees sessions of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProjectScope {
    /// Every project of the deployment (serialized as `null`).
    #[default]
    All,
    /// Only these project keys.
    Only(Vec<String>),
}

impl ProjectScope {
    pub fn allows(&self, project: &str) -> bool {
        match self {
            ProjectScope::All => true,
            ProjectScope::Only(keys) => keys.iter().any(|k| k == project),
        }
    }

    /// `None` for every project, as `GET /api/v1/me` says it.
    pub fn keys(&self) -> Option<&[String]> {
        match self {
            ProjectScope::All => None,
            ProjectScope::Only(keys) => Some(keys),
        }
    }
}

/// An authenticated agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Stable and unique: audit records, grants and tickets name the agent by it.
    pub name: String,
    /// What people see: the user's consent prompt, the console's header.
    pub display_name: String,
    pub role: Role,
    #[serde(default, with = "scope_serde")]
    pub projects: ProjectScope,
    pub via: SignedInVia,
    /// The identity provider's own id for the person (the ID token's `sub`), when the name is not
    /// it: a provider lets a person change the `preferred_username` or email the name comes from,
    /// and may hand a freed one to someone else, so what is counted against or granted to a person
    /// follows this instead. `None` for tokens and the proxy, whose names are the identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// `null` or a list, both ways.
mod scope_serde {
    use super::ProjectScope;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(scope: &ProjectScope, s: S) -> Result<S::Ok, S::Error> {
        scope.keys().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ProjectScope, D::Error> {
        Ok(Option::<Vec<String>>::deserialize(d)?.map_or(ProjectScope::All, ProjectScope::Only))
    }
}

/// Why an agent may not do something: its message names the role it takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("agent {agent} is a {role} and may not {what}: that takes the {needs} role")]
pub struct Refusal {
    pub agent: String,
    pub role: Role,
    pub needs: Role,
    /// What was refused, in words (`request control`, `export a whole session`).
    pub what: String,
}

impl Agent {
    /// An agent of `role` over `projects`, shown by its name.
    pub fn new(name: &str, role: Role, projects: ProjectScope, via: SignedInVia) -> Self {
        Self {
            name: name.to_string(),
            display_name: name.to_string(),
            role,
            projects,
            via,
            subject: None,
        }
    }

    /// Whether the agent's role is `needs` or above; the refusal to report, if not.
    pub fn require(&self, needs: Role, what: &str) -> Result<(), Refusal> {
        if self.role >= needs {
            Ok(())
        } else {
            Err(Refusal {
                agent: self.name.clone(),
                role: self.role,
                needs,
                what: what.to_string(),
            })
        }
    }

    /// Who the agent is for what is granted to or counted against a person (a `view` grant, wrong
    /// help codes): its sign-in method and its provider's subject, else its name. A name is only
    /// unique within its method (an identity provider's `alice` need not be the static token
    /// `alice`), so what the user granted to one, or the guesses one made, never pass to the other.
    pub fn principal(&self) -> String {
        let who = self.subject.as_deref().unwrap_or(&self.name);
        format!("{}:{}", self.via.as_str(), who)
    }

    /// Whether the agent sees sessions of `project`.
    pub fn sees(&self, project: &str) -> bool {
        self.projects.allows(project)
    }

    /// What `GET /api/v1/me` answers.
    pub fn signed_in(&self) -> SignedInAgent {
        SignedInAgent {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            projects: self.projects.keys().map(<[String]>::to_vec),
            via: self.via.as_str().to_string(),
        }
    }
}

/// The role a signal from an agent takes, and what it is in words: watching (a fresh snapshot,
/// the page's canvases, letting go of a grant) is a viewer's; asking the user for anything and
/// acting on the page is a helper's; recording a call is an admin's.
pub fn signal_needs(signal: &Signal) -> (Role, &'static str) {
    match signal {
        Signal::Request { kind, .. } => match kind {
            GrantKind::Control => (Role::Helper, "request control"),
            GrantKind::Annotate => (Role::Helper, "request to annotate"),
            GrantKind::Call => (Role::Helper, "call the user"),
            GrantKind::Record => (Role::Admin, "record the call"),
            GrantKind::View => (Role::Viewer, "watch"),
        },
        Signal::Control { .. } => (Role::Helper, "control the page"),
        Signal::Stroke { .. } => (Role::Helper, "annotate the page"),
        Signal::CallJoin { .. } | Signal::CallAnswer { .. } | Signal::CallCandidate { .. } => {
            (Role::Helper, "take part in a call")
        }
        Signal::Release { .. }
        | Signal::Resync
        | Signal::Canvas { .. }
        | Signal::Joined
        | Signal::View { .. }
        | Signal::Left
        | Signal::Heartbeat
        | Signal::ToAgent { .. }
        | Signal::Forbidden { .. } => (Role::Viewer, "watch"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(role: Role, projects: ProjectScope) -> Agent {
        Agent::new("alice", role, projects, SignedInVia::Token)
    }

    #[test]
    fn each_role_may_what_the_one_below_may_and_more() {
        let viewer = agent(Role::Viewer, ProjectScope::All);
        let refused = viewer.require(Role::Helper, "request control").unwrap_err();
        assert_eq!(
            refused.to_string(),
            "agent alice is a viewer and may not request control: that takes the helper role"
        );
        assert!(viewer.require(Role::Viewer, "watch").is_ok());
        let helper = agent(Role::Helper, ProjectScope::All);
        assert!(helper.require(Role::Helper, "annotate").is_ok());
        assert!(helper.require(Role::Admin, "erase").is_err());
        assert!(
            agent(Role::Admin, ProjectScope::All)
                .require(Role::Admin, "erase")
                .is_ok()
        );
    }

    #[test]
    fn one_name_signed_in_by_two_methods_is_two_principals() {
        let token = agent(Role::Helper, ProjectScope::All);
        let oidc = Agent::new("alice", Role::Helper, ProjectScope::All, SignedInVia::Oidc);
        let proxy = Agent::new("alice", Role::Helper, ProjectScope::All, SignedInVia::Proxy);
        assert_eq!(token.principal(), "token:alice");
        assert_ne!(token.principal(), oidc.principal());
        assert_ne!(oidc.principal(), proxy.principal());
        assert_eq!(
            token.principal(),
            agent(Role::Viewer, ProjectScope::All).principal()
        );
    }

    #[test]
    fn a_provider_account_is_its_subject_whatever_name_it_shows() {
        let signed_in = |name: &str, sub: &str| Agent {
            subject: Some(sub.to_string()),
            ..Agent::new(name, Role::Helper, ProjectScope::All, SignedInVia::Oidc)
        };
        assert_eq!(signed_in("alice", "u-1").principal(), "oidc:u-1");
        assert_eq!(
            signed_in("alice", "u-1").principal(),
            signed_in("alice.renamed", "u-1").principal()
        );
        assert_ne!(
            signed_in("alice", "u-1").principal(),
            signed_in("alice", "u-2").principal()
        );
    }

    #[test]
    fn signals_take_the_role_of_what_they_do() {
        let request = |kind| Signal::Request { kind, video: false };
        assert_eq!(signal_needs(&request(GrantKind::Control)).0, Role::Helper);
        assert_eq!(signal_needs(&request(GrantKind::Call)).0, Role::Helper);
        assert_eq!(signal_needs(&request(GrantKind::Record)).0, Role::Admin);
        assert_eq!(signal_needs(&Signal::Resync).0, Role::Viewer);
        assert_eq!(
            signal_needs(&Signal::Release {
                kind: GrantKind::Control
            })
            .0,
            Role::Viewer
        );
    }

    #[test]
    fn a_scoped_agent_sees_its_projects_only_and_says_so() {
        let scoped = agent(Role::Helper, ProjectScope::Only(vec!["shop-a".into()]));
        assert!(scoped.sees("shop-a"));
        assert!(!scoped.sees("shop-b"));
        assert!(agent(Role::Viewer, ProjectScope::All).sees("shop-b"));
        let json = serde_json::to_value(&scoped).unwrap();
        assert_eq!(json["projects"], serde_json::json!(["shop-a"]));
        let back: Agent = serde_json::from_value(json).unwrap();
        assert_eq!(back, scoped);
        let all: Agent = serde_json::from_value(
            serde_json::to_value(agent(Role::Admin, ProjectScope::All)).unwrap(),
        )
        .unwrap();
        assert_eq!(all.projects, ProjectScope::All);
    }
}
