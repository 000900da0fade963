//! The wire protocol: every message a tracker, an agent or the server sends, and the JSON bodies
//! of the records stored in a session's stream. `docs/protocol.md` is the prose version of this
//! module; keep the two in step.
//!
//! WebSocket messages are MessagePack maps with a `type` field (`rmp_serde::to_vec_named`).
//! Event payloads (`data`) are UTF-8 JSON, carried as MessagePack `bin` so the server never
//! re-encodes them: what a tracker sends is byte for byte what an agent receives (raw CR and LF
//! whitespace aside, which become spaces so that a payload fits one SSE `data:` line).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

pub mod session_id;

pub use session_id::{InvalidSessionId, SessionId};

/// Version a tracker announces in its `hello`; the server refuses others with a clear reason.
pub const PROTOCOL_VERSION: u32 = 1;

/// What a record in a session stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// Kinds a tracker may send in an `events` batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageInfo {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub user_agent: String,
    #[serde(default)]
    pub viewport: Viewport,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Viewport {
    pub width: u32,
    pub height: u32,
}

/// Messages a tracker sends on `GET /api/v1/track`.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
        reason: Option<String>,
    },
    /// The user's answer to a `consent_request`.
    Consent {
        request_id: String,
        granted: bool,
        #[serde(default)]
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
}

impl TrackerMessage {
    /// Every `type` a tracker may send, to tell an unknown type from a malformed message.
    pub const TYPES: [&'static str; 10] = [
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
    ];
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub project_key: String,
    /// Present when resuming: the token from an earlier `welcome`.
    #[serde(default)]
    pub session_token: Option<String>,
    /// The tab's id, chosen by the tracker (1–64 of `[A-Za-z0-9_-]`).
    pub tab: String,
    pub page: PageInfo,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// One event of a batch. `seq` is the tab's client sequence: strictly increasing over the tab's
/// lifetime, across reconnects and reloads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrackerEvent {
    pub seq: u64,
    /// When the tracker recorded it, ms since the Unix epoch.
    pub ts: u64,
    #[serde(default)]
    pub kind: TrackerEventKind,
    /// UTF-8 JSON.
    pub data: ByteBuf,
}

/// Limits the server applies to this connection, announced in `welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub max_frame_bytes: usize,
    pub max_event_bytes: usize,
    pub events_per_sec: u32,
}

/// Messages the server sends a tracker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome {
        session_id: SessionId,
        session_token: String,
        tab: String,
        /// True when the handshake continued an existing session.
        resumed: bool,
        limits: Limits,
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
    /// How many agents watch the session; sent after `welcome` and on every change. While none
    /// does, a tracker may batch less often.
    Watching {
        agents: u32,
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
}

/// One event as an agent receives it: reassembled, deduplicated, in stream order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveredEvent {
    /// S2 sequence number of the event's last record; resume after it with `from_seq = seq_num + 1`.
    pub seq_num: u64,
    /// When S2 stored it, ms since the Unix epoch.
    pub ts: u64,
    pub kind: RecordKind,
    pub tab: String,
    /// The tracker's sequence number (0 for server records).
    pub client_seq: u64,
    /// When the tracker recorded it (or the server wrote it), ms since the Unix epoch.
    pub client_ts: u64,
    /// UTF-8 JSON.
    pub data: ByteBuf,
}

/// Messages the server sends an agent on `GET /api/v1/sessions/{id}/live`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentMessage {
    Events {
        events: Vec<DeliveredEvent>,
    },
    /// Everything stored up to `seq_num` has been sent; what follows is live.
    CaughtUp {
        seq_num: u64,
    },
    /// First message of a WebSocket connection: the id the session's records name this agent by.
    Joined {
        agent: AgentRef,
    },
    /// A frame this agent sent was dropped; the connection goes on.
    Error {
        error: String,
        message: String,
    },
    CallOffer(CallOffer),
    CallCandidate {
        candidate: IceCandidate,
    },
    CallClosed {
        reason: String,
    },
}

impl From<CallMessage> for AgentMessage {
    fn from(message: CallMessage) -> Self {
        match message {
            CallMessage::CallOffer(offer) => Self::CallOffer(offer),
            CallMessage::CallCandidate { candidate } => Self::CallCandidate { candidate },
            CallMessage::CallClosed { reason } => Self::CallClosed { reason },
        }
    }
}

impl CallMessage {
    /// The same message for the tracker of `tab`.
    pub fn for_tab(self, tab: String) -> ServerMessage {
        match self {
            Self::CallOffer(offer) => ServerMessage::CallOffer { tab, offer },
            Self::CallCandidate { candidate } => ServerMessage::CallCandidate { tab, candidate },
            Self::CallClosed { reason } => ServerMessage::CallClosed { tab, reason },
        }
    }
}

/// Body of the `start` record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionStart {
    pub session_id: SessionId,
    pub project_key: String,
    pub created_ms: u64,
    pub tab: String,
    pub page: PageInfo,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Body of a `page` record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageRecord {
    pub tab: String,
    pub page: PageInfo,
    /// The node that holds the tracker connection.
    pub node: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The tracker sent `end`.
    Ended,
    /// No tracker was connected for the idle timeout.
    Idle,
}

/// Body of the `end` record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionEnd {
    pub reason: EndReason,
    pub ended_ms: u64,
}

/// A session as the REST API and the CLI list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub id: SessionId,
    pub started_ms: u64,
    pub last_activity_ms: u64,
    pub url: String,
    pub user_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub user_agent: String,
    pub viewport: Viewport,
    /// Tabs known to be open (from the node holding the session), or the first tab.
    pub tabs: Vec<String>,
    pub live: bool,
    pub ended_ms: Option<u64>,
    pub end_reason: Option<EndReason>,
    /// Records in the stream.
    pub records: u64,
    /// A call runs (known to the node that holds the session).
    #[serde(default)]
    pub call: bool,
}

/// A page of sessions; pass `next_cursor` as `cursor` for the next one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionPage {
    pub sessions: Vec<SessionSummary>,
    pub next_cursor: Option<String>,
}

/// An agent connection as signals and records name it: `id` is given by the agent's node to each
/// connection, `name` is the authenticated agent's, so no agent can speak for another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AgentRef {
    pub id: String,
    pub name: String,
}

/// What an agent may be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub kind: GrantKind,
    pub agent: AgentRef,
    /// For a call: the user accepted video.
    #[serde(default, skip_serializing_if = "is_false")]
    pub video: bool,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// An ICE candidate as browsers give it (`RTCIceCandidateInit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IceCandidate {
    pub candidate: String,
    #[serde(rename = "sdpMid", default)]
    pub sdp_mid: Option<String>,
    #[serde(rename = "sdpMLineIndex", default)]
    pub sdp_mline_index: Option<u16>,
}

/// Someone in a call: an agent connection, or the page's user (id `"user"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Participant {
    pub id: String,
    pub name: String,
}

/// What flows on a media section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    Audio,
    Video,
    Canvas,
}

/// One media section of a `call_offer`, from the participant's side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub mid: String,
    /// True: the participant sends its own track on it.
    pub send: bool,
    pub media: Media,
    /// Whose media it carries, when the participant receives on it.
    pub from: Option<Participant>,
    /// The rrweb node id of the canvas, for `media: canvas`.
    pub canvas: Option<u32>,
    /// The tab the canvas is in (rrweb ids are per tab and page load), for `media: canvas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tab: Option<String>,
}

/// An ICE server as browsers take it (`RTCIceServer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallOffer {
    pub sdp: String,
    pub ice_servers: Vec<IceServer>,
    pub slots: Vec<Slot>,
}

/// What the server says to one participant of a call; agents and trackers get it in their own
/// message types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallMessage {
    CallOffer(CallOffer),
    CallCandidate { candidate: IceCandidate },
    CallClosed { reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    Declined,
    Timeout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NavigateTo {
    Back,
    Forward,
    Reload,
    Url,
}

/// One input of a controlling agent on the user's page. Coordinates are CSS pixels of the user's
/// viewport; `id` is the target's rrweb node id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ControlInput {
    Move {
        x: f64,
        y: f64,
    },
    Click {
        id: u64,
        x: f64,
        y: f64,
    },
    Dblclick {
        id: u64,
        x: f64,
        y: f64,
    },
    Scroll {
        #[serde(default)]
        id: Option<u64>,
        x: f64,
        y: f64,
    },
    Key {
        key: String,
        #[serde(default)]
        id: Option<u64>,
    },
    Input {
        id: u64,
        value: String,
    },
    Select {
        id: u64,
        value: String,
    },
    Focus {
        id: u64,
    },
    Navigate {
        to: NavigateTo,
        #[serde(default)]
        url: Option<String>,
    },
}

/// Named keys an agent may press; any single character is allowed too.
pub const NAMED_KEYS: [&str; 10] = [
    "Enter",
    "Tab",
    "Backspace",
    "Delete",
    "Escape",
    "ArrowLeft",
    "ArrowRight",
    "ArrowUp",
    "ArrowDown",
    " ",
];
pub const MAX_INPUT_CHARS: usize = 4096;
pub const MAX_URL_BYTES: usize = 2048;
pub const MAX_STROKE_POINTS: usize = 1000;

impl ControlInput {
    pub fn action(&self) -> &'static str {
        match self {
            Self::Move { .. } => "move",
            Self::Click { .. } => "click",
            Self::Dblclick { .. } => "dblclick",
            Self::Scroll { .. } => "scroll",
            Self::Key { .. } => "key",
            Self::Input { .. } => "input",
            Self::Select { .. } => "select",
            Self::Focus { .. } => "focus",
            Self::Navigate { .. } => "navigate",
        }
    }

    /// Checks what the server can check; the page checks the rest (targets, origins).
    pub fn validate(&self) -> Result<(), String> {
        let finite = |values: &[f64]| values.iter().all(|v| v.is_finite());
        match self {
            Self::Move { x, y }
            | Self::Click { x, y, .. }
            | Self::Dblclick { x, y, .. }
            | Self::Scroll { x, y, .. }
                if !finite(&[*x, *y]) =>
            {
                Err("coordinates must be finite numbers".into())
            }
            Self::Key { key, .. }
                if key.chars().count() != 1 && !NAMED_KEYS.contains(&key.as_str()) =>
            {
                Err(format!(
                    "key '{}' is not a single character or one of {NAMED_KEYS:?}",
                    key.chars().take(16).collect::<String>()
                ))
            }
            Self::Input { value, .. } | Self::Select { value, .. }
                if value.chars().count() > MAX_INPUT_CHARS =>
            {
                Err(format!("value is over {MAX_INPUT_CHARS} characters"))
            }
            Self::Navigate {
                to: NavigateTo::Url,
                url,
            } => match url {
                Some(url) if !url.is_empty() && url.len() <= MAX_URL_BYTES => Ok(()),
                _ => Err(format!(
                    "navigate to a url needs a url of 1-{MAX_URL_BYTES} bytes"
                )),
            },
            _ => Ok(()),
        }
    }

    /// The input as the audit trail keeps it: what was typed is not repeated there (inputs are
    /// masked in the recording too), only how much.
    pub fn audit(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("control inputs serialize");
        match self {
            Self::Input { value: typed, .. } => {
                value["value"] = serde_json::json!({"chars": typed.chars().count()});
            }
            // A typed character is kept as "a character"; named keys (Enter, Tab, …) as they are.
            Self::Key { key, .. } if !NAMED_KEYS.contains(&key.as_str()) || key == " " => {
                value["key"] = serde_json::json!({"chars": 1});
            }
            _ => {}
        }
        value
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrokeTool {
    Pen,
    Arrow,
    Rect,
    Laser,
}

/// An annotation stroke; points are page coordinates (CSS pixels from the document's top-left),
/// so the stroke stays on what it marks when the page scrolls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stroke {
    pub id: String,
    pub tool: StrokeTool,
    pub color: String,
    pub points: Vec<[f64; 2]>,
}

impl Stroke {
    pub fn validate(&self) -> Result<(), String> {
        if self.id.is_empty() || self.id.len() > 64 {
            return Err("stroke id must be 1-64 bytes".into());
        }
        let hex = self.color.len() == 7
            && self.color.starts_with('#')
            && self.color[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if !hex {
            return Err("stroke color must be #rrggbb".into());
        }
        if self.points.is_empty() || self.points.len() > MAX_STROKE_POINTS {
            return Err(format!("a stroke has 1-{MAX_STROKE_POINTS} points"));
        }
        if !self.points.iter().flatten().all(|v| v.is_finite()) {
            return Err("stroke points must be finite numbers".into());
        }
        Ok(())
    }
}

/// What an agent's node sends toward the session's tracker through `cluster/signals`: the
/// agent's own requests (also what an agent sends on its WebSocket), and its presence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Signal {
    Request {
        kind: GrantKind,
        /// For a call: ask for video too.
        #[serde(default, skip_serializing_if = "is_false")]
        video: bool,
    },
    Release {
        kind: GrantKind,
    },
    Control {
        tab: String,
        input: ControlInput,
    },
    Stroke {
        tab: String,
        stroke: Stroke,
    },
    Resync,
    /// The agent is ready to send (and receive) call media.
    CallJoin {
        audio: bool,
        video: bool,
    },
    CallAnswer {
        sdp: String,
    },
    CallCandidate {
        candidate: IceCandidate,
    },
    /// Start or stop receiving the page's canvases as video.
    Canvas {
        on: bool,
    },
    /// Sent by the agent's node, never accepted from an agent.
    Joined,
    Left,
    Heartbeat,
    /// From the holding node to the agent named by the record, on the node named by it.
    ToAgent {
        message: CallMessage,
    },
}

impl Signal {
    /// Every `type` an agent may send.
    pub const AGENT_TYPES: [&'static str; 9] = [
        "request",
        "release",
        "control",
        "stroke",
        "resync",
        "call_join",
        "call_answer",
        "call_candidate",
        "canvas",
    ];

    /// Whether an agent may send this itself (presence and replies are the nodes' to say).
    pub fn from_agent(&self) -> bool {
        !matches!(
            self,
            Self::Joined | Self::Left | Self::Heartbeat | Self::ToAgent { .. }
        )
    }

    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::Control { tab, input } => valid_tab_ref(tab).and_then(|()| input.validate()),
            Self::Stroke { tab, stroke } => valid_tab_ref(tab).and_then(|()| stroke.validate()),
            _ => Ok(()),
        }
    }
}

fn valid_tab_ref(tab: &str) -> Result<(), String> {
    if (1..=64).contains(&tab.len()) {
        Ok(())
    } else {
        Err("tab must name the tab the input is for".into())
    }
}

/// One record of `cluster/signals` (MessagePack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalRecord {
    pub session: SessionId,
    pub agent: AgentRef,
    /// The agent's node.
    pub node: String,
    pub signal: Signal,
}

/// Why an agent left a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftReason {
    /// Its connection closed.
    Closed,
    /// Its node went silent.
    Lost,
}

/// Body of an `agent` record: who, and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRecord {
    pub agent: AgentRef,
    #[serde(flatten)]
    pub action: AgentAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The agent started or stopped receiving the page's canvases as video.
    Canvas {
        on: bool,
    },
    /// The server started or stopped recording the call.
    Recording {
        recording: String,
        state: RecordingState,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    Started,
    Stopped,
}

/// One file of a recording, as `GET /api/v1/sessions/{id}` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingFile {
    pub name: String,
    pub participant: Participant,
    pub media: Media,
    pub bytes: u64,
    /// The recording of this file ended cleanly (its final record is stored).
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    pub id: String,
    pub started_ms: u64,
    pub files: Vec<RecordingFile>,
}

/// One `agent` record as `GET /api/v1/sessions/{id}` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// When S2 stored it, ms since the Unix epoch.
    pub ts: u64,
    pub record: AgentRecord,
}

/// A session's summary and what agents did in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub summary: SessionSummary,
    pub activity: Vec<Activity>,
    pub recordings: Vec<Recording>,
}

/// JSON body of every HTTP error.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

/// WebSocket close codes the server uses, with the reason text carried beside them.
pub mod close {
    /// Server shutting down; reconnect (to another node) and resend what was not acknowledged.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame could not be decoded as a message of this protocol.
    pub const INVALID_FRAME: u16 = 1007;
    /// A frame was larger than `max_frame_bytes`.
    pub const TOO_BIG: u16 = 1009;
    /// The store failed; reconnect and resend.
    pub const INTERNAL: u16 = 1011;
    /// Wrong, missing or expired project key, session token or agent token.
    pub const UNAUTHORIZED: u16 = 4001;
    /// A message out of order (no `hello` first), an unknown `type`, or an unsupported version.
    pub const PROTOCOL: u16 = 4002;
    /// The page's origin is not allowed for this project.
    pub const FORBIDDEN_ORIGIN: u16 = 4003;
    /// No such session.
    pub const NOT_FOUND: u16 = 4004;
    /// An agent that could not keep up; reconnect with `from_seq` given in the reason.
    pub const TOO_SLOW: u16 = 4008;
    /// Another node took the session over; this connection is no longer its writer.
    pub const TAKEN_OVER: u16 = 4009;
    /// The session has ended; a tracker must start a new one.
    pub const ENDED: u16 = 4010;
    /// Too many events per second in this session.
    pub const RATE_LIMITED: u16 = 4029;

    /// A close reason within WebSocket's 123-byte limit, cut at a character boundary.
    pub fn reason(text: &str) -> String {
        let mut end = text.len().min(120);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::close;

    #[test]
    fn the_audit_trail_keeps_how_much_was_typed_not_what() {
        use super::ControlInput;
        let typed = ControlInput::Key {
            key: "s".into(),
            id: Some(3),
        };
        assert_eq!(typed.audit()["key"], serde_json::json!({"chars": 1}));
        let enter = ControlInput::Key {
            key: "Enter".into(),
            id: None,
        };
        assert_eq!(enter.audit()["key"], "Enter");
        let input = ControlInput::Input {
            id: 3,
            value: "secret".into(),
        };
        assert_eq!(input.audit()["value"], serde_json::json!({"chars": 6}));
    }

    #[test]
    fn close_reasons_fit_the_websocket_limit_even_in_multibyte_text() {
        let long = "é".repeat(200);
        let reason = close::reason(&long);
        assert!(reason.len() <= 123);
        assert!(reason.chars().all(|c| c == 'é'));
        assert_eq!(close::reason("short"), "short");
    }
}
