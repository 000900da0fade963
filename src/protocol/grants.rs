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
