//! One participant's WebRTC peer connection to the server: it answers offers with its own
//! synthetic camera and microphone ([`super::media`]) on the slots the server gives it, hands its
//! candidates out to be trickled, and accounts for the RTP it receives per stream.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rtc::ice::mdns::MulticastDnsMode;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceCandidateInit, RTCPeerConnectionIceEvent, RTCSessionDescription, Registry,
    SettingEngineBuilder, register_default_interceptors,
};

use super::media::{local_track, send_audio, send_video, stamp_of};
use crate::clock::now_micros;
use crate::protocol::{CallOffer, IceCandidate, Media};

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
