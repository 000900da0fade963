//! The wire protocol: every message a tracker, an agent or the server sends, and the JSON bodies
//! of the records stored in a session's stream. `docs/protocol.md` is the prose version of this
//! module; keep the two in step.
//!
//! WebSocket messages are MessagePack maps with a `type` field (`rmp_serde::to_vec_named`).
//! Event payloads (`data`) are UTF-8 JSON, carried as MessagePack `bin` so the server never
//! re-encodes them: what a tracker sends is byte for byte what an agent receives (raw CR and LF
//! whitespace aside, which become spaces so that a payload fits one SSE `data:` line).
//!
//! One file per audience, so a reader finds what one party may say in one place:
//!
//! | file | what it holds | who reads it |
//! | --- | --- | --- |
//! | [`tracker`] | `hello`, event batches and the tracker's answers; what the server sends a tracker | trackers |
//! | [`agent`] | what the server sends an agent on its live connection | agents |
//! | [`signal`] | what an agent asks of the page, and what nodes pass on for it (`cluster/signals`) | agents, nodes |
//! | [`grants`] | who an agent is, what it may be granted, how the user answered | all three |
//! | [`input`] | remote control inputs and annotation strokes, and their limits | agents, trackers |
//! | [`call`] | call negotiation: offers, slots, ICE | agents, trackers |
//! | [`records`] | the bodies of the records a session stream stores | agents, the server itself |
//! | [`rest`] | the JSON bodies of the REST API | agents, the CLI |
//! | [`directory`] | the summaries nodes append to the session directory's day streams | the server itself |
//! | [`codes`] | help codes: the records of `cluster/codes`, the REST bodies of `POST /api/v1/codes` | agents, the server itself |
//! | [`audit`] | the records of the audit stream of reads, and its REST answer | agents, operators |
//! | [`tracker_frame`] | decoding a tracker frame: its `type` first, bounded; caps on `hello` | the server |
//! | [`close`] | WebSocket close codes | trackers, agents |
//! | [`bounds`] | the checks every peer's MessagePack passes before it is decoded | the server |
//! | [`session_id`] | a session's id, and the name of its stream | all |
//!
//! The TypeScript of `generated/protocol/` is rendered from these types by `typescript.rs`
//! (`scripts/gen-protocol-ts`), so the tracker and the agent console cannot drift from them.

pub mod agent;
pub mod audit;
pub mod bounds;
pub mod call;
pub mod close;
pub mod codes;
pub mod directory;
pub mod grants;
pub mod input;
pub mod records;
pub mod rest;
pub mod session_id;
pub mod signal;
pub mod tracker;
pub mod tracker_frame;
#[cfg(test)]
mod typescript;

pub use agent::{AgentMessage, DeliveredEvent, ViewConsentState};
pub use audit::{AuditAction, AuditEntry, AuditPage, AuditRecord, CodeRefusal, FollowVia};
pub use bounds::from_msgpack;
pub use call::{CallMessage, CallOffer, IceCandidate, IceServer, Media, Participant, Slot};
pub use grants::{AgentRef, DeclineReason, Grant, GrantKind, Role};
pub use input::{
    ControlInput, MAX_INPUT_CHARS, MAX_STROKE_ID_BYTES, MAX_STROKE_POINTS, MAX_URL_BYTES,
    NAMED_KEYS, NavigateTo, Stroke, StrokeTool,
};
pub use records::{
    AgentAction, AgentRecord, EndReason, LeftReason, PageRecord, RecordKind, RecordingState,
    SessionEnd, SessionStart,
};
pub use rest::{
    Activity, ErrorBody, Recording, RecordingFile, SessionDetail, SessionGone, SessionPage,
    SessionSummary, SignedInAgent, TicketResponse,
};
pub use session_id::{InvalidSessionId, SessionId};
pub use signal::{Signal, SignalRecord};
pub use tracker::{
    Hello, Limits, PageInfo, ServerMessage, TrackerEvent, TrackerEventKind, TrackerMessage,
    ViewMode, Viewport, Watcher,
};

/// Version a tracker announces in its `hello`; the server refuses others with a clear reason.
pub const PROTOCOL_VERSION: u32 = 1;

/// For `skip_serializing_if`: a flag that is false is left out rather than sent, so messages of
/// kinds it means nothing for stay as they were before it existed.
fn is_false(value: &bool) -> bool {
    !value
}
