//! What the [`Plan`](super::Plan) asks of the call's task: the vocabulary the two share, and the
//! `call_closed` reasons the plan gives.

use super::super::Who;
use crate::protocol::{AgentRef, CallMessage, IceCandidate, Media, Participant, Slot};

/// `call_closed` reasons (docs/protocol.md §10.1).
pub const NO_GRANT: &str = "no_grant";
pub const CALL_ENDED: &str = "call_ended";
pub const REPLACED: &str = "replaced";
pub const CONNECTION_LOST: &str = "connection_lost";
pub const NEGOTIATION_FAILED: &str = "negotiation_failed";
pub const BAD_ANSWER: &str = "bad_answer";
pub const TOO_MANY_CONNECTIONS: &str = "too_many_connections";

/// Something the call's task must do. Effects come in the order they must be carried out.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Tell `to` something outside an offer: why its connection closed or was refused.
    Send { to: Who, message: CallMessage },
    /// Open a peer connection for `who`, numbered `peer`; report with [`opened`](super::Plan::opened) or
    /// [`open_failed`](super::Plan::open_failed).
    Open { who: Who, peer: u64 },
    /// Close `participant`'s connection; the tracks it sent (`tracks`) are gone with it.
    Close {
        participant: String,
        tracks: Vec<u64>,
    },
    /// Append a section on which `participant` sends the new track `key`.
    Receive {
        participant: String,
        key: u64,
        media: Media,
    },
    /// `participant` stops sending track `key` on section `slot`: the section goes inactive for
    /// good and the track is gone.
    StopReceiving {
        participant: String,
        slot: usize,
        key: u64,
    },
    /// Append a section on which `participant` receives track `key`, sent by `from`.
    ForwardNew {
        participant: String,
        key: u64,
        media: Media,
        from: String,
    },
    /// Send track `key` to `participant` on its free section `slot`.
    Forward {
        participant: String,
        slot: usize,
        key: u64,
    },
    /// Stop sending on `participant`'s section `slot`: it goes inactive, free for another track
    /// of its kind.
    StopForwarding { participant: String, slot: usize },
    /// Offer `participant` its connection as it is now. `slots` describe its sections in order,
    /// with `mid` left empty for the connection to fill in. Report a failure with
    /// [`failed`](super::Plan::failed).
    Offer {
        participant: String,
        slots: Vec<Slot>,
    },
    /// Apply `participant`'s answer; report with [`answered`](super::Plan::answered) or [`failed`](super::Plan::failed).
    ApplyAnswer { participant: String, sdp: String },
    /// Give `participant`'s connection an ICE candidate of the participant.
    AddCandidate {
        participant: String,
        candidate: IceCandidate,
    },
    /// Ask the sender of track `key` for a key frame.
    AskKeyframe { key: u64 },
    /// Tell the page whether any agent wants its canvases.
    Canvases { on: bool },
    /// Start a recording, written down as started by `by`.
    StartRecording { by: AgentRef },
    /// Record track `key` in the running recording.
    Record {
        key: u64,
        participant: Participant,
        media: Media,
        canvas: Option<u32>,
    },
    /// Complete track `key`'s file: the track left the call.
    StopRecordingTrack { key: u64 },
    /// Stop the recording and wait for its files, written down as stopped by `by`: the agent
    /// holding the `record` grant, or, when every grant ended at once, the one who started it,
    /// so that every recording's audit trail ends.
    StopRecording { by: AgentRef },
}
