//! Who an agent is and what the user may grant it: the vocabulary that trackers, agents and the
//! audit trail share.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::is_false;

/// An agent connection as signals and records name it: `id` is given by the agent's node to each
/// connection, `name` is the authenticated agent's, so no agent can speak for another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub struct AgentRef {
    pub id: String,
    pub name: String,
}

/// What an agent may do, each role all the one below it may and more; the server checks it on
/// every request and every signal (`auth::Agent::may`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Watch sessions live and replay them.
    Viewer,
    /// Also ask the user for control, annotation and calls, and use them once granted.
    Helper,
    /// Also record calls, read recordings, export whole sessions, erase them and read the audit.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Helper, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Helper => "helper",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| format!("'{text}' is not a role: viewer, helper or admin"))
    }
}

/// What an agent may be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    Control,
    Annotate,
    /// Take part in a call with the user.
    Call,
    /// Record the call on the server.
    Record,
    /// See the page at all, in a session whose tracker said `view: ask`: asked for by the agent's
    /// node when the agent opens the session (never by the agent itself), and what the server
    /// checks before it sends that agent anything of the page.
    View,
}

/// A grant the user gave, as the holding node keeps it and trackers are told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Grant {
    pub kind: GrantKind,
    pub agent: AgentRef,
    /// For a call: the user accepted video.
    #[serde(default, skip_serializing_if = "is_false")]
    pub video: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    Declined,
    Timeout,
}
