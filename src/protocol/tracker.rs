//! What a tracker and the server say to each other on `GET /api/v1/track`: the handshake, event
//! batches and their acknowledgements, the user's answers, and what agents ask of the page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use ts_rs::TS;

use super::SessionId;
use super::is_false;
use super::{
    AgentRef, CallOffer, ControlInput, DeclineReason, Grant, GrantKind, IceCandidate, RecordKind,
    Stroke,
};

/// Kinds a tracker may send in an `events` batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, TS)]
#[serde(rename_all = "snake_case")]
pub enum TrackerEventKind {
    #[default]
    Rrweb,
    Identify,
    Metadata,
}

impl From<TrackerEventKind> for RecordKind {
    fn from(kind: TrackerEventKind) -> Self {
        match kind {
            TrackerEventKind::Rrweb => RecordKind::Rrweb,
            TrackerEventKind::Identify => RecordKind::Identify,
            TrackerEventKind::Metadata => RecordKind::Metadata,
        }
    }
}

/// The page a tracker runs on, sent in `hello` and stored in `start` and `page` records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct PageInfo {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub title: Option<String>,
    #[serde(default)]
    pub user_agent: String,
    #[serde(default)]
    pub viewport: Viewport,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Viewport {
    pub width: u32,
    pub height: u32,
}

/// Whether the user knows, or decides, when an agent watches (the tracker's `view` option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ViewMode {
    /// Agents watch without the page showing it.
    Silent,
    /// The page shows who watches, while anyone does. What a tracker that does not say gets.
    #[default]
    Notify,
    /// The user is asked first, and the server sends an agent nothing of the page (live or
    /// stored) until the user accepted it.
    Ask,
}

impl ViewMode {
    fn is_notify(&self) -> bool {
        *self == Self::Notify
    }
}

/// Messages a tracker sends on `GET /api/v1/track`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TrackerMessage {
    /// Must be the first message of a connection.
    Hello(Box<Hello>),
    /// A batch of events of this connection's tab, in increasing `seq`.
    Events {
        events: Vec<TrackerEvent>,
    },
    /// The user (or the page) ends the session for good.
    End {
        #[serde(default)]
        #[ts(optional = nullable)]
        reason: Option<String>,
    },
    /// The user's answer to a `consent_request`.
    Consent {
        request_id: String,
        granted: bool,
        #[serde(default)]
        #[ts(optional = nullable)]
        reason: Option<DeclineReason>,
    },
    /// The user stopped a grant.
    Revoke {
        kind: GrantKind,
        agent_id: String,
    },
    /// The page could not perform an agent's input.
    Refused {
        agent_id: String,
        action: String,
        reason: String,
    },
    /// This tab is ready to send media: its microphone, camera and canvases.
    CallJoin {
        audio: bool,
        video: bool,
        #[serde(default)]
        canvases: Vec<u32>,
    },
    CallAnswer {
        sdp: String,
    },
    CallCandidate {
        candidate: IceCandidate,
    },
    /// The user ends the call for everyone.
    Hangup,
    /// The user asks for help: give this tab a code to read out to an agent.
    HelpRequest,
}

impl TrackerMessage {
    /// Every `type` a tracker may send, to tell an unknown type from a malformed message.
    pub const TYPES: [&'static str; 11] = [
        "hello",
        "events",
        "end",
        "consent",
        "revoke",
        "refused",
        "call_join",
        "call_answer",
        "call_candidate",
        "hangup",
        "help_request",
    ];
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct Hello {
    pub protocol: u32,
    pub project_key: String,
    /// Present when resuming: the token from an earlier `welcome`.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub session_token: Option<String>,
    /// The tab's id, chosen by the tracker (1–64 of `[A-Za-z0-9_-]`).
    pub tab: String,
    pub page: PageInfo,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// What the user sees of agents watching. Only a new session's `hello` sets it (it is kept
    /// in the `start` record); a resuming tab's is ignored, so every node agrees on it.
    #[serde(default, skip_serializing_if = "ViewMode::is_notify")]
    #[ts(as = "Option<ViewMode>", optional)]
    pub view: ViewMode,
}

/// One event of a batch. `seq` is the tab's client sequence: strictly increasing over the tab's
/// lifetime, across reconnects and reloads.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct TrackerEvent {
    pub seq: u64,
    /// When the tracker recorded it, ms since the Unix epoch.
    pub ts: u64,
    #[serde(default)]
    pub kind: TrackerEventKind,
    /// UTF-8 JSON.
    #[ts(type = "Uint8Array")]
    pub data: ByteBuf,
}

/// An agent as the page is told it watches: its name only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Watcher {
    pub name: String,
}

/// Limits the server applies to this connection, announced in `welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct Limits {
    pub max_frame_bytes: usize,
    pub max_event_bytes: usize,
    pub events_per_sec: u32,
    /// Bytes of events per second one session may write (`--bytes-per-sec`); a tracker paces
    /// what it can defer (canvas frames) within it. 0 from an older server: unknown.
    #[serde(default)]
    pub bytes_per_sec: u64,
}

/// Messages the server sends a tracker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome {
        session_id: SessionId,
        session_token: String,
        tab: String,
        /// True when the handshake continued an existing session.
        resumed: bool,
        limits: Limits,
        /// The server answers `help_request` (absent from an older server, which would close
        /// the connection on it: a tracker sends it only when this is true).
        #[serde(default, skip_serializing_if = "is_false")]
        help_codes: bool,
        /// The session's `view` mode, which the first `hello` set: what the page shows and asks
        /// follows it, not the `view` this tab's page was started with (a later page of the same
        /// session may say another). Absent from an older server: the tracker goes by its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        view: Option<ViewMode>,
    },
    /// Every event of this tab with `seq <= ack` is durable; the tracker may forget it.
    Ack {
        seq: u64,
    },
    /// An agent joined: take a fresh full snapshot (rrweb `takeFullSnapshot`) so its view
    /// starts from the page as it is now.
    Resync,
    /// The event `seq` was refused for good (too large, not JSON); resending it will not help.
    /// It counts as handled: a later `ack` covers it.
    Rejected {
        seq: u64,
        reason: String,
    },
    /// Ask the user: may this agent control the page, or draw on it?
    ConsentRequest {
        request_id: String,
        kind: GrantKind,
        agent: AgentRef,
        /// For a call: whether the agent asks for video.
        #[serde(default, skip_serializing_if = "is_false")]
        video: bool,
    },
    /// That request is no longer pending: answered in another tab, withdrawn, or the agent left.
    ConsentCancel {
        request_id: String,
    },
    /// The session's grants now; sent after `welcome` and on every change.
    Grants {
        grants: Vec<Grant>,
    },
    /// How many agents watch the session, and who of them sees the page; sent after `welcome`
    /// and on every change. While none watches, a tracker may batch less often.
    Watching {
        agents: u32,
        /// The agents that see the page: every watcher, or in `view: ask` those the user let
        /// in. Absent from an older server.
        #[serde(default)]
        watchers: Vec<Watcher>,
    },
    /// Input from an agent that holds a `control` grant, for the tab `tab`.
    Control {
        agent_id: String,
        tab: String,
        input: ControlInput,
    },
    /// A stroke from an agent that holds an `annotate` grant, for the tab `tab`.
    Stroke {
        agent_id: String,
        tab: String,
        stroke: Stroke,
    },
    /// Call negotiation for the tab in the call.
    CallOffer {
        tab: String,
        #[serde(flatten)]
        offer: CallOffer,
    },
    CallCandidate {
        tab: String,
        candidate: IceCandidate,
    },
    CallClosed {
        tab: String,
        reason: String,
    },
    /// Whether any agent wants the page's canvases as video.
    Canvas {
        on: bool,
    },
    /// The answer to `help_request`: six digits for the user to read out, valid until
    /// `expires_at` (ms since the Unix epoch). Asking again while it is valid gives it again.
    HelpCode {
        code: String,
        expires_at: u64,
    },
    /// No code could be given now (the store is unavailable); the page may ask again.
    HelpUnavailable {
        reason: String,
    },
}
