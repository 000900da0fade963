//! The JSON bodies of the REST API (`GET /api/v1/sessions`, `GET /api/v1/sessions/{id}`) and of
//! every HTTP error.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::SessionId;
use super::{AgentRecord, EndReason, Media, Participant, Role, Viewport};

/// A session as the REST API and the CLI list it, from the node's session directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SessionSummary {
    pub id: SessionId,
    /// The project key the tracker presented.
    #[serde(default)]
    pub project: String,
    pub started_ms: u64,
    /// For a live session, the last time its node was known alive; else when it ended or was
    /// last known written.
    pub last_activity_ms: u64,
    /// The page the user is on (the tab that moved last), or was on when the session ended.
    pub url: String,
    pub user_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub user_agent: String,
    /// The browser's family from the user agent: `chrome`, `edge`, `firefox`, `safari`, `opera`,
    /// `other`.
    #[serde(default)]
    pub browser: String,
    pub viewport: Viewport,
    /// Live: the tabs connected now. Otherwise: every tab the session had, in the order they
    /// first connected (each can be replayed).
    pub tabs: Vec<String>,
    pub live: bool,
    pub ended_ms: Option<u64>,
    pub end_reason: Option<EndReason>,
    /// Records in the stream (fences included): in `GET /api/v1/sessions/{id}`, which reads its
    /// tail; 0 in the list, which reads no stream.
    pub records: u64,
    /// A call runs (known to the node that holds the session).
    #[serde(default)]
    pub call: bool,
    /// The page logged at least one console error.
    #[serde(default)]
    pub console_errors: bool,
}

/// The `gone` event of `GET /api/v1/sessions/watch`: a session that matched the watched query
/// no longer does (it ended under `live=true`, or was erased).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SessionGone {
    pub id: SessionId,
}

/// A page of sessions; pass `next_cursor` as `cursor` for the next one.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SessionPage {
    pub sessions: Vec<SessionSummary>,
    pub next_cursor: Option<String>,
}

/// One file of a recording, as `GET /api/v1/sessions/{id}` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RecordingFile {
    pub name: String,
    pub participant: Participant,
    pub media: Media,
    pub bytes: u64,
    /// The recording of this file ended cleanly (its final record is stored).
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Recording {
    pub id: String,
    pub started_ms: u64,
    pub files: Vec<RecordingFile>,
}

/// One `agent` record as `GET /api/v1/sessions/{id}` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Activity {
    /// When S2 stored it, ms since the Unix epoch.
    pub ts: u64,
    pub record: AgentRecord,
}

/// A session's summary and what agents did in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub summary: SessionSummary,
    pub activity: Vec<Activity>,
    pub recordings: Vec<Recording>,
}

/// The answer to `POST /api/v1/tickets`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct TicketResponse {
    /// Goes in `?ticket=` of the live WebSocket or SSE: opens one connection.
    pub ticket: String,
    /// When it stops opening one, ms since the Unix epoch (30 s after it was issued).
    pub expires_ms: u64,
}

/// `GET /api/v1/me`: who the server takes the caller for, so the console shows only what the
/// role allows (the server checks it anyway).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SignedInAgent {
    /// The name audit records carry.
    pub name: String,
    /// What the user's consent prompt shows (the identity provider's `name`, or the name).
    pub display_name: String,
    pub role: Role,
    /// The project keys the agent sees sessions of; null: every project.
    pub projects: Option<Vec<String>>,
    /// How the agent signed in: `token`, `proxy` or `oidc`.
    pub via: String,
}

/// JSON body of every HTTP error.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}
