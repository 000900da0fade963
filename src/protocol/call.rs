//! Call negotiation (docs/protocol.md §10): the server's offer with its media slots, ICE, and the
//! end of a participant's peer connection. Agents and trackers receive the same messages, each
//! wrapped in its own message type.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::ServerMessage;

/// The participant id of the page's user in a call; agents are named by their own ids.
pub const USER: &str = "user";

/// An ICE candidate as browsers give it (`RTCIceCandidateInit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct IceCandidate {
    pub candidate: String,
    #[serde(rename = "sdpMid", default)]
    #[ts(optional = nullable)]
    pub sdp_mid: Option<String>,
    #[serde(rename = "sdpMLineIndex", default)]
    #[ts(optional = nullable)]
    pub sdp_mline_index: Option<u16>,
}

/// Someone in a call: an agent connection, or the page's user (id `"user"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub struct Participant {
    pub id: String,
    pub name: String,
}

/// What flows on a media section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    Audio,
    Video,
    Canvas,
}

/// One media section of a `call_offer`, from the participant's side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
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
    #[ts(optional)]
    pub tab: Option<String>,
}

/// An ICE server as browsers take it (`RTCIceServer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub credential: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CallOffer {
    pub sdp: String,
    pub ice_servers: Vec<IceServer>,
    pub slots: Vec<Slot>,
}

/// What the server says to one participant of a call; agents and trackers get it in their own
/// message types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallMessage {
    CallOffer(CallOffer),
    CallCandidate { candidate: IceCandidate },
    CallClosed { reason: String },
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
