//! A call participant without a browser: a webrtc peer that answers the server's offers, trickles
//! its candidates, sends a synthetic camera and microphone on the slots the server gives it, and
//! accounts for the RTP it receives per stream. It is what a browser does in a call (docs/protocol.md
//! §10), minus the browser, so that the integration tests and `cobrowse load --call-agents` drive
//! the server's SFU with one and the same client.
//!
//! The media is synthetic but shaped like a real call, because what the SFU costs depends on
//! packets, not on pictures: VP8 at 30 frames/s and about 1 Mbit/s, frames split into RTP packets
//! of at most 1 100 bytes (the S bit of the payload descriptor on a frame's first packet, the
//! marker on its last), a key frame every second; Opus at 50 packets/s of 80 bytes (32 kbit/s).
//! Nobody decodes it. The last 8 bytes of every payload carry the microsecond (UNIX time) it was
//! sent, which the SFU forwards untouched, so a receiver on the same clock measures how late
//! each packet arrives.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceCandidateInit, RTCPeerConnectionIceEvent, RTCSessionDescription, Registry,
    SettingEngineBuilder, register_default_interceptors,
};

use crate::protocol::{
    AgentMessage, CallOffer, IceCandidate, Media, ServerMessage, Signal, Slot, TrackerMessage,
};

/// The synthetic camera: frames per second, and bits per second on average.
pub const VIDEO_FPS: u32 = 30;
pub const VIDEO_BITS_PER_SEC: u32 = 1_000_000;
/// A key frame every this many frames (1 s), four times the size of a delta frame, as an
/// encoder's are. A browser sends one when the SFU asks (RTCP PLI); this peer does not see those
/// (webrtc-rs hands RTCP to a local track only through a custom interceptor), so it sends them
/// often enough that a new receiver, or the recorder, waits at most a second for a picture.
const KEY_FRAME_EVERY: u32 = 30;
const KEY_FRAME_WEIGHT: usize = 4;
/// Largest RTP payload: what browsers use to stay under a 1 200-byte packet with headers and
/// SRTP's tag.
pub const MAX_PAYLOAD: usize = 1100;
/// The synthetic microphone: 20 ms packets of 80 bytes.
pub const AUDIO_PACKETS_PER_SEC: u32 = 50;
const AUDIO_PAYLOAD: usize = 80;
/// Bytes at the end of every payload holding its send time.
const STAMP: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum CallPeerError {
    #[error("webrtc: {0}")]
    Webrtc(#[from] webrtc::error::Error),
    #[error("no local UDP port for the peer: {0}")]
    Udp(#[from] std::io::Error),
}

struct Handler {
    candidates: mpsc::UnboundedSender<IceCandidate>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self.candidates.send(IceCandidate {
                candidate: init.candidate,
                sdp_mid: init.sdp_mid,
                sdp_mline_index: init.sdp_mline_index,
            });
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.send(track);
    }
}

/// One participant's peer connection to the server, on loopback, with its own synthetic media.
pub struct CallPeer {
    pc: Arc<dyn PeerConnection>,
    /// Local candidates to trickle to the server.
    pub candidates: mpsc::UnboundedReceiver<IceCandidate>,
    received: Received,
    audio: Arc<TrackLocalStaticRTP>,
    video: Arc<TrackLocalStaticRTP>,
    attached: Vec<String>,
    /// The media senders and the receivers' readers, stopped with the peer.
    tasks: Vec<AbortHandle>,
}

impl CallPeer {
    pub async fn new() -> Result<Self, CallPeerError> {
        let mut media = MediaEngine::default();
        media.register_default_codecs()?;
        let registry = register_default_interceptors(Registry::new(), &mut media)?;
        let settings = SettingEngineBuilder::new()
            .with_include_loopback_candidate(true)
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .build();
        let (candidates_tx, candidates) = mpsc::unbounded_channel();
        let (tracks_tx, mut tracks) = mpsc::unbounded_channel::<Arc<dyn TrackRemote>>();
        // A free port on loopback: the peer binds it again right away.
        let addr = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
        let pc = PeerConnectionBuilder::new()
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(Arc::new(Handler {
                candidates: candidates_tx,
                tracks: tracks_tx,
            }))
            .with_udp_addrs(vec![addr])
            .build()
            .await?;
        let received = Received::default();
        let counts = received.clone();
        let readers = tokio::spawn(async move {
            let mut readers = tokio::task::JoinSet::new();
            while let Some(track) = tracks.recv().await {
                readers.spawn(read_track(track, counts.clone()));
            }
        });
        let (audio, audio_ssrc) = local_track(RtpCodecKind::Audio, "audio/opus", 48000, 2);
        let (video, video_ssrc) = local_track(RtpCodecKind::Video, "video/VP8", 90000, 0);
        let microphone = tokio::spawn(send_audio(audio.clone(), audio_ssrc));
        let camera = tokio::spawn(send_video(video.clone(), video_ssrc));
        Ok(Self {
            pc: Arc::new(pc),
            candidates,
            received,
            audio,
            video,
            attached: Vec::new(),
            tasks: vec![
                readers.abort_handle(),
                microphone.abort_handle(),
                camera.abort_handle(),
            ],
        })
    }

    /// Applies an offer: own tracks on the slots to send on, then the answer's SDP.
    pub async fn answer(&mut self, offer: &CallOffer) -> Result<String, CallPeerError> {
        let description = RTCSessionDescription::offer(offer.sdp.clone())?;
        self.pc.set_remote_description(description).await?;
        for slot in offer.slots.iter().filter(|s| s.send) {
            if self.attached.contains(&slot.mid) {
                continue;
            }
            let track: Arc<dyn TrackLocal> = match slot.media {
                Media::Audio => self.audio.clone(),
                Media::Video | Media::Canvas => self.video.clone(),
            };
            // Like a browser's addTrack: it takes the offered section of the track's kind
            // that has nothing to send yet.
            self.pc.add_track(track).await?;
            self.attached.push(slot.mid.clone());
        }
        let answer = self.pc.create_answer(None).await?;
        self.pc.set_local_description(answer).await?;
        let local = self.pc.local_description().await;
        Ok(local.map(|d| d.sdp).unwrap_or_default())
    }

    /// A remote candidate; one the peer cannot use is ignored, as a browser would.
    pub async fn add_candidate(&self, candidate: IceCandidate) {
        let init = RTCIceCandidateInit {
            candidate: candidate.candidate,
            sdp_mid: candidate.sdp_mid,
            sdp_mline_index: candidate.sdp_mline_index,
            ..Default::default()
        };
        let _ = self.pc.add_ice_candidate(init).await;
    }

    /// What the peer has received so far, kept up to date.
    pub fn received(&self) -> Received {
        self.received.clone()
    }

    pub async fn close(&self) {
        for task in &self.tasks {
            task.abort();
        }
        let _ = self.pc.close().await;
    }
}

impl Drop for CallPeer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// One stream the server sends a participant, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamCount {
    pub audio: bool,
    pub packets: u64,
    /// RTP payload bytes.
    pub bytes: u64,
    /// The highest sequence number seen, extended past wrap-arounds. The SFU keeps a source's
    /// gaps, so packets it skipped show up as sequence numbers never received.
    pub highest: i64,
}

#[derive(Default)]
struct ReceivedInner {
    /// By the SSRC the server sends the stream with.
    streams: Mutex<BTreeMap<u32, StreamCount>>,
    /// Send → receive, in microseconds, since the last [`Received::take_latencies`].
    latencies: Mutex<Vec<u64>>,
}

/// What a peer has received, readable while the peer is busy elsewhere.
#[derive(Clone, Default)]
pub struct Received(Arc<ReceivedInner>);

impl Received {
    /// Packets per stream the server sends, in no particular order.
    pub fn counts(&self) -> Vec<usize> {
        self.streams()
            .values()
            .map(|s| s.packets as usize)
            .collect()
    }

    /// Every stream received so far, by SSRC.
    pub fn streams(&self) -> BTreeMap<u32, StreamCount> {
        self.0.streams.lock().expect("lock").clone()
    }

    /// How late packets arrived (µs) since the last call, and starts counting afresh.
    pub fn take_latencies(&self) -> Vec<u64> {
        std::mem::take(&mut *self.0.latencies.lock().expect("lock"))
    }

    fn record(&self, ssrc: u32, audio: bool, packet: &rtp::Packet) {
        let now = now_micros();
        {
            let mut streams = self.0.streams.lock().expect("lock");
            let stream = streams.entry(ssrc).or_insert_with(|| StreamCount {
                audio,
                highest: i64::from(packet.header.sequence_number),
                ..Default::default()
            });
            let ahead = packet
                .header
                .sequence_number
                .wrapping_sub(stream.highest as u16) as i16;
            stream.highest += i64::from(ahead.max(0));
            stream.packets += 1;
            stream.bytes += packet.payload.len() as u64;
        }
        if let Some(sent) = stamp_of(&packet.payload) {
            self.0
                .latencies
                .lock()
                .expect("lock")
                .push(now.saturating_sub(sent));
        }
    }
}

async fn read_track(track: Arc<dyn TrackRemote>, received: Received) {
    let audio = track.kind().await == RtpCodecKind::Audio;
    while let Some(event) = track.poll().await {
        if let TrackRemoteEvent::OnRtpPacket(packet) = event {
            received.record(packet.header.ssrc, audio, &packet);
        }
    }
}

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

fn local_track(
    kind: RtpCodecKind,
    mime: &str,
    clock: u32,
    channels: u16,
) -> (Arc<TrackLocalStaticRTP>, u32) {
    let ssrc = rand::random::<u32>();
    let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        format!("stream-{ssrc}"),
        format!("track-{ssrc}"),
        format!("label-{ssrc}"),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: RTCRtpCodec {
                mime_type: mime.to_owned(),
                clock_rate: clock,
                channels,
                ..Default::default()
            },
            active: true,
            ..Default::default()
        }],
    )));
    (track, ssrc)
}

fn header(
    payload_type: u8,
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    marker: bool,
) -> rtp::header::Header {
    rtp::header::Header {
        version: 2,
        marker,
        payload_type,
        sequence_number: seq,
        timestamp,
        ssrc,
        ..Default::default()
    }
}

/// Opus at 50 packets a second. Writes fail until the server's answer binds the track; that is
/// what a muted-until-connected microphone does too.
async fn send_audio(track: Arc<TrackLocalStaticRTP>, ssrc: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(1) / AUDIO_PACKETS_PER_SEC);
    // A load generator that falls behind sends less rather than in bursts; the report counts
    // what arrived, not what was meant to.
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut seq = 0u16;
    for i in 0u32.. {
        tick.tick().await;
        // TOC byte: configuration 31 (CELT FB 20 ms), mono, one frame.
        let mut payload = vec![0xf8; AUDIO_PAYLOAD];
        stamp(&mut payload);
        let _ = track
            .write_rtp(rtp::Packet {
                header: header(
                    111,
                    ssrc,
                    seq,
                    i.wrapping_mul(48_000 / AUDIO_PACKETS_PER_SEC),
                    true,
                ),
                payload: Bytes::from(payload),
            })
            .await;
        seq = seq.wrapping_add(1);
    }
}

/// VP8 at 30 frames a second and 1 Mbit/s, each frame split into packets of at most
/// [`MAX_PAYLOAD`] bytes.
async fn send_video(track: Arc<TrackLocalStaticRTP>, ssrc: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(1) / VIDEO_FPS);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut seq = 0u16;
    for frame in 0u32.. {
        tick.tick().await;
        let key = frame % KEY_FRAME_EVERY == 0;
        for payload in vp8_frame(key) {
            let last = payload.marker;
            let _ = track
                .write_rtp(rtp::Packet {
                    header: header(96, ssrc, seq, frame.wrapping_mul(90_000 / VIDEO_FPS), last),
                    payload: payload.bytes,
                })
                .await;
            seq = seq.wrapping_add(1);
        }
    }
}

/// Packets a second a sender sends on one track, on average.
pub fn packets_per_sec(audio: bool) -> f64 {
    if audio {
        return f64::from(AUDIO_PACKETS_PER_SEC);
    }
    let frames = KEY_FRAME_EVERY as usize;
    let packets = vp8_frame(true).len() + (frames - 1) * vp8_frame(false).len();
    packets as f64 * f64::from(VIDEO_FPS) / frames as f64
}

struct Vp8Packet {
    bytes: Bytes,
    marker: bool,
}

/// Frame sizes such that the average over a key-frame interval is the target bitrate.
fn vp8_frame_size(key: bool) -> usize {
    let average = (VIDEO_BITS_PER_SEC / 8 / VIDEO_FPS) as usize;
    let frames = KEY_FRAME_EVERY as usize;
    let delta = average * frames / (frames - 1 + KEY_FRAME_WEIGHT);
    if key { delta * KEY_FRAME_WEIGHT } else { delta }
}

/// One VP8 frame as RTP payloads (RFC 7741): a one-byte payload descriptor (S bit on the first
/// packet), then the frame's bytes; a key frame starts with its 640x480 picture header, which is
/// all the server's recorder reads. Packets are of even size, as encoders split them.
fn vp8_frame(key: bool) -> Vec<Vp8Packet> {
    let size = vp8_frame_size(key);
    let mut frame = vec![0u8; size];
    // Frame tag: bit 0 clear for a key frame; then the key frame's start code and size.
    frame[0] = if key { 0x00 } else { 0x01 };
    if key {
        frame[3..10].copy_from_slice(&[0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
    }
    let room = MAX_PAYLOAD - 1;
    let count = size.div_ceil(room);
    let chunk = size.div_ceil(count);
    frame
        .chunks(chunk)
        .enumerate()
        .map(|(i, part)| {
            let mut payload = Vec::with_capacity(part.len() + 1);
            payload.push(if i == 0 { 0x10 } else { 0x00 });
            payload.extend_from_slice(part);
            stamp(&mut payload);
            Vp8Packet {
                bytes: Bytes::from(payload),
                marker: i + 1 == count,
            }
        })
        .collect()
}

fn stamp(payload: &mut [u8]) {
    let at = payload.len() - STAMP;
    payload[at..].copy_from_slice(&now_micros().to_le_bytes());
}

/// The send time of a payload from [`stamp`], if it holds a plausible one (within a minute).
fn stamp_of(payload: &[u8]) -> Option<u64> {
    let at = payload.len().checked_sub(STAMP)?;
    let sent = u64::from_le_bytes(payload[at..].try_into().ok()?);
    let now = now_micros();
    (sent <= now && now - sent < 60_000_000).then_some(sent)
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vp8_frame_is_split_into_marked_packets_that_fit() {
        for key in [true, false] {
            let packets = vp8_frame(key);
            assert!(packets.iter().all(|p| p.bytes.len() <= MAX_PAYLOAD));
            assert_eq!(packets[0].bytes[0], 0x10, "S bit on the first packet only");
            assert!(packets[1..].iter().all(|p| p.bytes[0] == 0x00));
            assert!(packets.last().unwrap().marker);
            assert!(packets[..packets.len() - 1].iter().all(|p| !p.marker));
            assert_eq!(
                packets[0].bytes[1] & 0x01 == 0,
                key,
                "the frame tag says key"
            );
            let size: usize = packets.iter().map(|p| p.bytes.len() - 1).sum();
            assert_eq!(size, vp8_frame_size(key));
            assert!(stamp_of(&packets[0].bytes).is_some());
        }
    }

    #[test]
    fn the_synthetic_camera_averages_the_target_bitrate() {
        let frames = KEY_FRAME_EVERY as usize;
        let bytes = vp8_frame_size(true) + (frames - 1) * vp8_frame_size(false);
        let bits_per_sec = bytes as f64 * 8.0 * f64::from(VIDEO_FPS) / frames as f64;
        assert!((bits_per_sec - f64::from(VIDEO_BITS_PER_SEC)).abs() < 10_000.0);
    }
}
