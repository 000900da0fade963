//! The records of a session stream: their kinds and the JSON bodies the server writes (a session's
//! start and end, each tab's page, and the agents' audit trail).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::SessionId;
use super::is_false;
use super::{AgentRef, DeclineReason, GrantKind, PageInfo, Role, Stroke, ViewMode};

/// What a record in a session stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// First record of a session: who, where, when ([`SessionStart`]).
    Start,
    /// A tracker connection (a tab, or a tab after a navigation) joined ([`PageRecord`]).
    Page,
    /// One rrweb event, as the tracker recorded it.
    Rrweb,
    /// The tracker identified the user (`{"user_id": ...}`).
    Identify,
    /// The tracker set custom metadata (`{"metadata": {...}}`).
    Metadata,
    /// Written by the owning node when nothing else was written for a while, so readers can tell
    /// a quiet live session from an abandoned one.
    Heartbeat,
    /// What an agent asked, did or was answered ([`AgentRecord`]): the session's audit trail.
    Agent,
    /// Last record of a session ([`SessionEnd`]); the stream is sealed right after it.
    End,
}

impl RecordKind {
    /// Kinds that come from a tracker with a client sequence number, and so are deduplicated.
    pub fn is_tracker_event(self) -> bool {
        matches!(self, Self::Rrweb | Self::Identify | Self::Metadata)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Page => "page",
            Self::Rrweb => "rrweb",
            Self::Identify => "identify",
            Self::Metadata => "metadata",
            Self::Heartbeat => "heartbeat",
            Self::Agent => "agent",
            Self::End => "end",
        }
    }
}

/// Body of the `start` record.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SessionStart {
    pub session_id: SessionId,
    pub project_key: String,
    pub created_ms: u64,
    pub tab: String,
    pub page: PageInfo,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The session's `view` mode, from its first `hello`, for its whole life; absent: `notify`.
    #[serde(default)]
    #[ts(as = "Option<ViewMode>", optional)]
    pub view: ViewMode,
}

/// Body of a `page` record.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PageRecord {
    pub tab: String,
    pub page: PageInfo,
    /// The node that holds the tracker connection.
    pub node: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The tracker sent `end`.
    Ended,
    /// No tracker was connected for the idle timeout.
    Idle,
}

/// Body of the `end` record.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SessionEnd {
    pub reason: EndReason,
    pub ended_ms: u64,
}

/// Why an agent left a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LeftReason {
    /// Its connection closed.
    Closed,
    /// Its node went silent.
    Lost,
}

/// Body of an `agent` record: who, and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AgentRecord {
    pub agent: AgentRef,
    #[serde(flatten)]
    pub action: AgentAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AgentAction {
    Joined {
        watchers: Vec<AgentRef>,
    },
    Left {
        reason: LeftReason,
        watchers: Vec<AgentRef>,
    },
    Requested {
        kind: GrantKind,
        request_id: String,
        #[serde(default, skip_serializing_if = "is_false")]
        video: bool,
    },
    Busy {
        kind: GrantKind,
        holder: AgentRef,
    },
    Granted {
        kind: GrantKind,
        request_id: String,
        /// For a call: with video.
        #[serde(default, skip_serializing_if = "is_false")]
        video: bool,
        /// For `view`: whom the grant lets in for the rest of the session, a digest of the
        /// signed-in agent's sign-in method and stable name (`session::consent::view::account`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        account: Option<String>,
    },
    Declined {
        kind: GrantKind,
        request_id: String,
        reason: DeclineReason,
    },
    Withdrawn {
        kind: GrantKind,
        request_id: String,
    },
    Revoked {
        kind: GrantKind,
    },
    Released {
        kind: GrantKind,
    },
    Ended {
        kind: GrantKind,
        reason: String,
    },
    Control {
        tab: String,
        /// The input as `ControlInput::audit` keeps it.
        #[ts(type = "unknown")]
        input: serde_json::Value,
    },
    Stroke {
        tab: String,
        stroke: Stroke,
    },
    Dropped {
        what: String,
        reason: String,
        count: u32,
    },
    /// The page could not perform an input; `input` is its action (`click`, `navigate`, …).
    Refused {
        tab: String,
        input: String,
        reason: String,
    },
    /// The agent found the session by the help code the user read out to it, for the tab `tab`
    /// (`POST /api/v1/codes`).
    Code {
        tab: String,
    },
    /// The agent started or stopped receiving the page's canvases as video.
    Canvas {
        on: bool,
    },
    /// The agent asked for what its role does not allow (`what`, which takes `needs`); its node
    /// refused it and told it so.
    Forbidden {
        what: String,
        role: Role,
        needs: Role,
    },
    /// The server started or stopped recording the call.
    Recording {
        recording: String,
        state: RecordingState,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    Started,
    Stopped,
}
