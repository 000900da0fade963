//! What the server sends an agent on its live connection (`GET /api/v1/sessions/{id}/live`):
//! the session's events in stream order, then what concerns this agent alone.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use ts_rs::TS;

use super::{AgentRef, CallMessage, CallOffer, IceCandidate, RecordKind};

/// One event as an agent receives it: reassembled, deduplicated, in stream order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
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
    #[ts(type = "Uint8Array")]
    pub data: ByteBuf,
}

/// Messages the server sends an agent on `GET /api/v1/sessions/{id}/live`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
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
    /// The session is in `view: ask`: where the user's answer for this agent stands. Until
    /// `granted`, the server sends the agent nothing of the page; after `declined` or `revoked`
    /// it closes the connection (4403).
    ViewConsent {
        state: ViewConsentState,
    },
}

/// Where an agent stands with a user who is asked before anyone watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ViewConsentState {
    /// The user is being asked; nothing of the page is sent meanwhile.
    Asking,
    /// The user accepted: the session follows, from where the agent asked to start.
    Granted,
    /// The user declined, or did not answer in time.
    Declined,
    /// The user stopped letting the agent watch.
    Revoked,
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
