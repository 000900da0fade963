//! A call participant without a browser: a WebRTC peer that answers the server's offers, trickles
//! its candidates, sends a synthetic camera and microphone on the slots the server gives it, and
//! accounts for the RTP it receives per stream. It is what a browser does in a call
//! (docs/protocol.md §10), minus the browser, so that the integration tests and
//! `cobrowse load --call-agents` drive the server's SFU with one and the same client.
//!
//! [`Participant`] runs the signalling on the page's or an agent's WebSocket ([`Role`]); its
//! [`CallPeer`] (peer.rs) is the peer connection and keeps what it [`Received`]; media.rs makes
//! the synthetic media it sends.

mod media;
mod peer;

use futures::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub use media::packets_per_sec;
pub use peer::{CallPeer, CallPeerError, Received, StreamCount};

use crate::protocol::{
    AgentMessage, CallOffer, IceCandidate, Media, ServerMessage, Signal, Slot, TrackerMessage,
};

/// Slots the participant receives on, with whose media they carry.
pub fn receiving(offer: &CallOffer) -> Vec<&Slot> {
    offer
        .slots
        .iter()
        .filter(|s| !s.send && s.from.is_some())
        .collect()
}

/// What the participant is asked to send, in slot order.
pub fn sending(offer: &CallOffer) -> Vec<Media> {
    offer
        .slots
        .iter()
        .filter(|s| s.send)
        .map(|s| s.media)
        .collect()
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Which end of the protocol a participant speaks on its WebSocket: the page's or an agent's.
pub trait Role: Send + 'static {
    type Incoming: DeserializeOwned + Send + 'static;
    type Outgoing: Serialize + Send + 'static;
    fn offer(message: &Self::Incoming) -> Option<&CallOffer>;
    fn candidate(message: &Self::Incoming) -> Option<&IceCandidate>;
    fn answer(sdp: String) -> Self::Outgoing;
    fn local_candidate(candidate: IceCandidate) -> Self::Outgoing;
}

/// The user's page, on the tracker WebSocket.
pub struct Page;

impl Role for Page {
    type Incoming = ServerMessage;
    type Outgoing = TrackerMessage;
    fn offer(message: &ServerMessage) -> Option<&CallOffer> {
        match message {
            ServerMessage::CallOffer { offer, .. } => Some(offer),
            _ => None,
        }
    }
    fn candidate(message: &ServerMessage) -> Option<&IceCandidate> {
        match message {
            ServerMessage::CallCandidate { candidate, .. } => Some(candidate),
            _ => None,
        }
    }
    fn answer(sdp: String) -> TrackerMessage {
        TrackerMessage::CallAnswer { sdp }
    }
    fn local_candidate(candidate: IceCandidate) -> TrackerMessage {
        TrackerMessage::CallCandidate { candidate }
    }
}

/// An agent, on its live WebSocket.
pub struct Agent;

impl Role for Agent {
    type Incoming = AgentMessage;
    type Outgoing = Signal;
    fn offer(message: &AgentMessage) -> Option<&CallOffer> {
        match message {
            AgentMessage::CallOffer(offer) => Some(offer),
            _ => None,
        }
    }
    fn candidate(message: &AgentMessage) -> Option<&IceCandidate> {
        match message {
            AgentMessage::CallCandidate { candidate } => Some(candidate),
            _ => None,
        }
    }
    fn answer(sdp: String) -> Signal {
        Signal::CallAnswer { sdp }
    }
    fn local_candidate(candidate: IceCandidate) -> Signal {
        Signal::CallCandidate { candidate }
    }
}

/// A participant running on its own: it answers offers and trickles candidates as a browser
/// would, and hands every message it gets to whoever drives it through `seen`. It leaves the call
/// (closes its peer and its WebSocket) when dropped.
pub struct Participant<R: Role> {
    out: mpsc::UnboundedSender<Vec<u8>>,
    pub seen: mpsc::UnboundedReceiver<R::Incoming>,
    pub received: Received,
}

impl<R: Role> Participant<R> {
    /// Takes over `ws` (already past its handshake) with a new peer.
    pub async fn spawn(ws: Socket) -> Result<Self, CallPeerError> {
        let peer = CallPeer::new().await?;
        let received = peer.received();
        let (out, outgoing) = mpsc::unbounded_channel();
        let (seen_tx, seen) = mpsc::unbounded_channel();
        tokio::spawn(signal::<R>(ws, peer, outgoing, seen_tx));
        Ok(Self {
            out,
            seen,
            received,
        })
    }

    /// Stops keeping messages for `seen`, for a driver that has no more use for them (they would
    /// pile up otherwise).
    pub fn stop_listening(&mut self) {
        self.seen.close();
    }

    pub fn send(&self, message: &R::Outgoing) {
        if let Ok(bytes) = rmp_serde::to_vec_named(message) {
            let _ = self.out.send(bytes);
        }
    }
}

async fn signal<R: Role>(
    mut ws: Socket,
    mut peer: CallPeer,
    mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
    seen: mpsc::UnboundedSender<R::Incoming>,
) {
    let encode = |m: &R::Outgoing| rmp_serde::to_vec_named(m).map(|b| Message::Binary(b.into()));
    loop {
        tokio::select! {
            bytes = outgoing.recv() => match bytes {
                Some(bytes) => { let _ = ws.send(Message::Binary(bytes.into())).await; }
                None => break,
            },
            Some(local) = peer.candidates.recv() => {
                if let Ok(message) = encode(&R::local_candidate(local)) {
                    let _ = ws.send(message).await;
                }
            }
            incoming = ws.next() => {
                let Some(Ok(incoming)) = incoming else { break };
                let Message::Binary(bytes) = incoming else { continue };
                let Ok(message) = rmp_serde::from_slice::<R::Incoming>(&bytes) else { continue };
                if let Some(offer) = R::offer(&message) {
                    match peer.answer(offer).await {
                        Ok(sdp) => if let Ok(answer) = encode(&R::answer(sdp)) {
                            let _ = ws.send(answer).await;
                        },
                        Err(error) => {
                            tracing::warn!(%error, "the call peer could not answer an offer");
                            break;
                        }
                    }
                }
                if let Some(remote) = R::candidate(&message) {
                    peer.add_candidate(remote.clone()).await;
                }
                let _ = seen.send(message);
            }
        }
    }
    peer.close().await;
    let _ = ws.close(None).await;
}
