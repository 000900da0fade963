//! The audit stream (`cluster/audit`): who read which session's recording, kept apart from the
//! session's own stream because an ended session's stream is sealed (its `end` stays its last
//! record) and because the trail of reads must outlive the recording it is about. Its records,
//! and the REST answer that lists them (`GET /api/v1/audit`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Role, SessionId};

/// Body of one record of the audit stream (single-line JSON, no envelope): an agent read a
/// session's recording, or erased a session, through the node `node`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditRecord {
    /// The session read; absent for what concerns no session (a wrong help code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub session: Option<SessionId>,
    /// The authenticated agent's name.
    pub agent: String,
    /// The `--node-id` of the node that served the read.
    pub node: String,
    #[serde(flatten)]
    pub action: AuditAction,
}

/// What was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AuditAction {
    /// `GET /api/v1/sessions/{id}/events`: the session's rrweb events, of one tab or all.
    Export { tab: Option<String> },
    /// `GET /api/v1/sessions/{id}` with its `activity` and `recordings`.
    Detail,
    /// `GET /api/v1/sessions/{id}/recordings/{recording}/{file}`: one file of a call recording.
    Recording { recording: String, file: String },
    /// `DELETE /api/v1/sessions/{id}`: the session's stream, its recordings and its directory
    /// entries were erased (written before anything is deleted).
    Erase,
    /// A live view or replay over the agent WebSocket or SSE, from sequence number `from_seq`.
    /// `agent_id` is the connection's id, the one the session's `agent` records name it by.
    Follow {
        via: FollowVia,
        agent_id: String,
        from_seq: u64,
    },
    /// `POST /api/v1/codes`: the help code the user read out led the agent to the session's tab
    /// `tab`.
    Code { tab: String },
    /// `POST /api/v1/codes` answered 404, 410 or 429: a wrong code (counted towards the
    /// lock-out) or the first refusal of a lock-out on this node. No session; the typed code is
    /// not kept.
    CodeRefused { reason: CodeRefusal },
    /// Refused before anything was read or done: `what` takes the role `needs`, and the agent is
    /// a `role`; or the session is in a project outside the agent's scope (`needs` null).
    Refused {
        what: String,
        role: Role,
        needs: Option<Role>,
    },
}

/// Why a help code led nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CodeRefusal {
    /// No such code, or one of a project the agent does not see.
    NotFound,
    Expired,
    Used,
    /// The agent, or one of its projects, is locked out.
    Locked,
}

/// How an agent followed a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FollowVia {
    Websocket,
    Sse,
}

/// One record of the audit stream as `GET /api/v1/audit` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditEntry {
    /// Its position in the audit stream.
    pub seq_num: u64,
    /// When S2 stored it, ms since the Unix epoch.
    pub ts: u64,
    pub record: AuditRecord,
}

/// A page of the audit, oldest first; pass `next_seq` as `from_seq` for the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Where to continue, or null when the page reached the stream's tail.
    pub next_seq: Option<u64>,
}
