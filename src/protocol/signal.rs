//! What an agent asks of the session's page, and what nodes pass on for it: the agent's own
//! requests (what it sends on its WebSocket) and its presence, carried by `cluster/signals`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::SessionId;
use super::is_false;
use super::{AgentRef, CallMessage, ControlInput, GrantKind, IceCandidate, Role, Stroke};

/// What an agent's node sends toward the session's tracker through `cluster/signals`: the
/// agent's own requests (also what an agent sends on its WebSocket), and its presence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
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
    /// Sent by the agent's node, never accepted from an agent, with `joined` and each heartbeat
    /// while the session is in `view: ask`: the agent (signed in as `account`, a digest) waits
    /// for the user to let it see the page.
    View {
        account: String,
        /// The agent's node saw the user let it in (the `granted` record): a node that took the
        /// session over since restores the grant rather than ask again.
        #[serde(default, skip_serializing_if = "is_false")]
        granted: bool,
    },
    Left,
    Heartbeat,
    /// From the holding node to the agent named by the record, on the node named by it.
    ToAgent {
        message: CallMessage,
    },
    /// From the agent's node, never accepted from an agent: it refused the agent `what` (which
    /// takes `needs`), and the holding node records that in the session's stream.
    Forbidden {
        what: String,
        role: Role,
        needs: Role,
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
            Self::Joined
                | Self::View { .. }
                | Self::Left
                | Self::Heartbeat
                | Self::ToAgent { .. }
                | Self::Forbidden { .. }
        )
    }

    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::Control { tab, input } => valid_tab_ref(tab).and_then(|()| input.validate()),
            Self::Stroke { tab, stroke } => valid_tab_ref(tab).and_then(|()| stroke.validate()),
            Self::Request {
                kind: GrantKind::View,
                ..
            } => Err("an agent does not ask to view; opening the session asks the user".into()),
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SignalRecord {
    pub session: SessionId,
    pub agent: AgentRef,
    /// The agent's node.
    pub node: String,
    pub signal: Signal,
}
