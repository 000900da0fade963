//! A call participant for tests: a webrtc peer that answers the server's offers, trickles its
//! candidates, sends synthetic VP8 and Opus on the slots the server gives it, and counts the RTP
//! it receives per slot. It is what a browser does, minus the browser.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use cobrowse::protocol::{CallOffer, IceCandidate, Media, Slot};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceCandidateInit, RTCPeerConnectionIceEvent, RTCSessionDescription, Registry,
    SettingEngineBuilder, register_default_interceptors,
};

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

pub struct TestPeer {
    pc: Arc<dyn PeerConnection>,
    pub candidates: mpsc::UnboundedReceiver<IceCandidate>,
    /// RTP packets received, by the SSRC the server sends them with.
    received: Arc<Mutex<BTreeMap<u32, Arc<AtomicUsize>>>>,
    audio: Arc<TrackLocalStaticRTP>,
    video: Arc<TrackLocalStaticRTP>,
    attached: Vec<String>,
}

impl TestPeer {
    pub async fn new() -> Self {
        let mut media = MediaEngine::default();
        media.register_default_codecs().unwrap();
        let registry = register_default_interceptors(Registry::new(), &mut media).unwrap();
        let settings = SettingEngineBuilder::new()
            .with_include_loopback_candidate(true)
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .build();
        let (candidates_tx, candidates) = mpsc::unbounded_channel();
        let (tracks_tx, mut tracks) = mpsc::unbounded_channel::<Arc<dyn TrackRemote>>();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        drop(socket);
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
            .await
            .unwrap();
        let received: Arc<Mutex<BTreeMap<u32, Arc<AtomicUsize>>>> = Arc::default();
        let counts = received.clone();
        tokio::spawn(async move {
            while let Some(track) = tracks.recv().await {
                let counts = counts.clone();
                tokio::spawn(async move {
                    while let Some(event) = track.poll().await {
                        if let TrackRemoteEvent::OnRtpPacket(packet) = event {
                            let counter = counts
                                .lock()
                                .unwrap()
                                .entry(packet.header.ssrc)
                                .or_default()
                                .clone();
                            counter.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        let (audio, audio_ssrc) = local_track(RtpCodecKind::Audio, "audio/opus", 48000, 2);
        let (video, video_ssrc) = local_track(RtpCodecKind::Video, "video/VP8", 90000, 0);
        tokio::spawn(send_media(
            (audio.clone(), audio_ssrc),
            (video.clone(), video_ssrc),
        ));
        Self {
            pc: Arc::new(pc),
            candidates,
            received,
            audio,
            video,
            attached: Vec::new(),
        }
    }

    /// Applies an offer: own tracks on the slots to send on, then the answer's SDP.
    pub async fn answer(&mut self, offer: &CallOffer) -> String {
        let description = RTCSessionDescription::offer(offer.sdp.clone()).unwrap();
        self.pc.set_remote_description(description).await.unwrap();
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
            self.pc.add_track(track).await.unwrap();
            self.attached.push(slot.mid.clone());
        }
        let answer = self.pc.create_answer(None).await.unwrap();
        self.pc.set_local_description(answer).await.unwrap();
        self.pc.local_description().await.unwrap().sdp
    }

    pub async fn add_candidate(&self, candidate: IceCandidate) {
        let init = RTCIceCandidateInit {
            candidate: candidate.candidate,
            sdp_mid: candidate.sdp_mid,
            sdp_mline_index: candidate.sdp_mline_index,
            ..Default::default()
        };
        let _ = self.pc.add_ice_candidate(init).await;
    }

    /// Packets received so far on every stream the server sends, kept up to date.
    pub fn counter(&self) -> Received {
        Received(self.received.clone())
    }

    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

/// What a peer has received, readable while the peer is busy elsewhere.
#[derive(Clone)]
pub struct Received(Arc<Mutex<BTreeMap<u32, Arc<AtomicUsize>>>>);

impl Received {
    /// Packets per stream the server sends, in no particular order.
    pub fn counts(&self) -> Vec<usize> {
        self.0
            .lock()
            .unwrap()
            .values()
            .map(|c| c.load(Ordering::SeqCst))
            .collect()
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

/// 50 packets a second of each: Opus silence, and a VP8 key frame every 10 frames (a 16x16
/// picture header, enough for the recorder; nobody decodes it here).
async fn send_media(
    (audio, audio_ssrc): (Arc<TrackLocalStaticRTP>, u32),
    (video, video_ssrc): (Arc<TrackLocalStaticRTP>, u32),
) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for i in 0u32.. {
        tick.tick().await;
        let header = |pt: u8, ssrc: u32, ts: u32| rtp::header::Header {
            version: 2,
            marker: true,
            payload_type: pt,
            sequence_number: i as u16,
            timestamp: ts,
            ssrc,
            ..Default::default()
        };
        let _ = audio
            .write_rtp(rtp::Packet {
                header: header(111, audio_ssrc, i.wrapping_mul(960)),
                payload: Bytes::from_static(&[0xf8, 0xff, 0xfe]),
            })
            .await;
        let key = i % 10 == 0;
        let mut payload = vec![0x10, if key { 0x00 } else { 0x01 }, 0, 0, 0x9d, 0x01, 0x2a];
        payload.extend_from_slice(&[16, 0, 16, 0]);
        payload.extend_from_slice(&[0; 40]);
        let _ = video
            .write_rtp(rtp::Packet {
                header: header(96, video_ssrc, i.wrapping_mul(1800)),
                payload: Bytes::from(payload),
            })
            .await;
    }
}
