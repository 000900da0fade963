//! The server's end of one participant's peer connection: built with only the codecs the call
//! forwards (Opus and VP8, so no participant sends what another cannot decode and nothing is ever
//! transcoded) and the header extensions it forwards, bound to a port of the configured range,
//! its events handed to the call.

use std::sync::Arc;

use rtc::ice::mdns::MulticastDnsMode;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use tokio::sync::mpsc;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateType, RTCIceServer, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, Registry, SettingEngineBuilder, register_default_interceptors,
};

use super::config::{CallConfig, PortPool};
use super::extensions;
use crate::protocol::IceCandidate;

pub const OPUS_PAYLOAD_TYPE: u8 = 111;
pub const VP8_PAYLOAD_TYPE: u8 = 96;

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("every media port of --rtc-ports is in use; widen the range")]
    NoPort,
    #[error("WebRTC: {0}")]
    WebRtc(#[from] webrtc::error::Error),
}

/// Something a peer connection did, for the call to act on. `peer` tells this connection from a
/// later one of the same participant.
pub struct PeerEvent {
    pub participant: String,
    pub peer: u64,
    pub kind: PeerEventKind,
}

pub enum PeerEventKind {
    /// A local candidate to trickle to the participant.
    Candidate(IceCandidate),
    /// The participant's media arrived on one of its slots.
    Track(Arc<dyn TrackRemote>),
    /// The connection is up: what the participant receives can start with a key frame.
    Connected,
    /// The connection failed (ICE or DTLS) or closed: the participant's media is gone.
    Down { failed: bool },
}

struct Handler {
    participant: String,
    peer: u64,
    events: mpsc::UnboundedSender<PeerEvent>,
}

impl Handler {
    fn emit(&self, kind: PeerEventKind) {
        let _ = self.events.send(PeerEvent {
            participant: self.participant.clone(),
            peer: self.peer,
            kind,
        });
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            self.emit(PeerEventKind::Candidate(IceCandidate {
                candidate: init.candidate,
                sdp_mid: init.sdp_mid,
                sdp_mline_index: init.sdp_mline_index,
            }));
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        self.emit(PeerEventKind::Track(track));
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(participant = self.participant, %state, "call connection state");
        if state == RTCPeerConnectionState::Connected {
            self.emit(PeerEventKind::Connected);
        }
        if matches!(
            state,
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
        ) {
            let failed = state == RTCPeerConnectionState::Failed;
            self.emit(PeerEventKind::Down { failed });
        }
    }
}

/// Opens a peer connection for `participant`; its events go to `events`.
pub async fn open(
    config: &CallConfig,
    ports: &PortPool,
    participant: &str,
    peer: u64,
    events: mpsc::UnboundedSender<PeerEvent>,
) -> Result<Arc<dyn PeerConnection>, PeerError> {
    let mut media = MediaEngine::default();
    register_codecs(&mut media)?;
    for (extension, kind) in extensions::capabilities() {
        media.register_header_extension(extension, kind, None)?;
    }
    let interceptors = register_default_interceptors(Registry::new(), &mut media)?;
    let mut settings = SettingEngineBuilder::new()
        .with_include_loopback_candidate(config.bind_ip.is_loopback())
        .with_multicast_dns_mode(MulticastDnsMode::Disabled);
    if !config.announce_ips.is_empty() {
        settings =
            settings.with_nat_1to1_ips(config.announce_ips.clone(), RTCIceCandidateType::Host);
    }
    let ice_servers = config
        .ice_servers
        .iter()
        .map(|server| RTCIceServer {
            urls: server.urls.clone(),
            username: server.username.clone().unwrap_or_default(),
            credential: server.credential.clone().unwrap_or_default(),
        })
        .collect();
    let addr = ports.take().ok_or(PeerError::NoPort)?;
    let pc = PeerConnectionBuilder::new()
        .with_configuration(
            RTCConfigurationBuilder::new()
                .with_ice_servers(ice_servers)
                .build(),
        )
        .with_media_engine(media)
        .with_interceptor_registry(interceptors)
        .with_setting_engine(settings.build())
        .with_handler(Arc::new(Handler {
            participant: participant.to_string(),
            peer,
            events,
        }))
        .with_udp_addrs(vec![addr])
        .build()
        .await?;
    Ok(Arc::new(pc))
}

fn register_codecs(media: &mut MediaEngine) -> Result<(), PeerError> {
    media.register_codec(opus(), RtpCodecKind::Audio)?;
    media.register_codec(vp8(), RtpCodecKind::Video)?;
    Ok(())
}

pub fn opus() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: "audio/opus".into(),
            clock_rate: 48000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
            rtcp_feedback: vec![],
        },
        payload_type: OPUS_PAYLOAD_TYPE,
    }
}

pub fn vp8() -> RTCRtpCodecParameters {
    let feedback = |typ: &str, parameter: &str| rtc::rtp_transceiver::rtp_sender::RTCPFeedback {
        typ: typ.into(),
        parameter: parameter.into(),
    };
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: "video/VP8".into(),
            clock_rate: 90000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![
                feedback("goog-remb", ""),
                feedback("ccm", "fir"),
                feedback("nack", ""),
                feedback("nack", "pli"),
            ],
        },
        payload_type: VP8_PAYLOAD_TYPE,
    }
}
