//! RTP forwarding: one reader per track a participant sends, fanned out to every leg that carries
//! it (other participants' connections, the recorder). A leg that falls behind skips packets and
//! asks for a key frame rather than slowing the others. Packets keep the header extensions that
//! describe the media, renumbered for the leg's connection ([`ExtensionMap`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::IntCounter;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::AbortHandle;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::extensions::{ExtensionMap, Negotiated};
use super::peer::{OPUS_PAYLOAD_TYPE, VP8_PAYLOAD_TYPE, opus, vp8};
use crate::protocol::Media;

/// Packets a leg may fall behind before it skips ahead (about a second of video).
const FANOUT_DEPTH: usize = 512;
/// Key frames asked for when a leg starts carrying a track, this far apart.
const STARTUP_KEYFRAMES: u32 = 4;
const STARTUP_KEYFRAME_EVERY: Duration = Duration::from_millis(500);
/// How often senders are asked for a key frame while anyone receives their video: a receiver
/// that lost one (or joined) recovers within this.
pub const KEYFRAME_EVERY: Duration = Duration::from_secs(3);

/// A track a participant sends, as the call fans it out. Legs subscribe as soon as the
/// participant is offered the slot; packets flow once its track arrives.
pub struct Source {
    media: Media,
    pub packets: broadcast::Sender<rtp::Packet>,
    /// Asks the sender for a key frame now (a leg started, or fell behind).
    pub keyframe: Arc<Notify>,
    /// The header extension ids the sender's connection negotiated: what the packets' ids mean.
    extensions: watch::Sender<Vec<Negotiated>>,
    reader: Option<AbortHandle>,
}

impl Source {
    pub fn new(media: Media) -> Self {
        Self {
            media,
            packets: broadcast::channel(FANOUT_DEPTH).0,
            keyframe: Arc::new(Notify::new()),
            extensions: watch::Sender::new(Vec::new()),
            reader: None,
        }
    }

    /// The sender's connection negotiated these header extensions (read when its track arrives).
    pub fn negotiated(&self, extensions: Vec<Negotiated>) {
        self.extensions
            .send_if_modified(|ids| replace(ids, extensions));
    }

    /// Starts reading the participant's track; its packets go to every subscriber.
    pub fn attach(&mut self, track: Arc<dyn TrackRemote>) {
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
        let reader = tokio::spawn(read(
            track,
            self.media,
            self.packets.clone(),
            self.keyframe.clone(),
        ));
        self.reader = Some(reader.abort_handle());
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
    }
}

async fn read(
    track: Arc<dyn TrackRemote>,
    media: Media,
    packets: broadcast::Sender<rtp::Packet>,
    keyframe: Arc<Notify>,
) {
    let video = media != Media::Audio;
    let mut ticks = tokio::time::interval(KEYFRAME_EVERY);
    let mut ssrc = None;
    loop {
        let ask = tokio::select! {
            event = track.poll() => match event {
                Some(TrackRemoteEvent::OnRtpPacket(packet)) => {
                    let first = ssrc.is_none();
                    ssrc = Some(packet.header.ssrc);
                    let _ = packets.send(packet);
                    first
                }
                Some(TrackRemoteEvent::OnEnded) | None => return,
                Some(_) => false,
            },
            _ = ticks.tick() => packets.receiver_count() > 0,
            _ = keyframe.notified() => true,
        };
        if let (true, true, Some(media_ssrc)) = (video, ask, ssrc) {
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            };
            let _ = track.write_rtcp(vec![Box::new(pli)]).await;
        }
    }
}

/// A track the server sends on one participant's connection. It keeps its SSRC and a continuous
/// sequence whichever source it carries, so the receiver sees one steady stream.
pub struct Leg {
    pub local: Arc<TrackLocalStaticRTP>,
    rewrite: Arc<Mutex<Rewrite>>,
    /// Whether the receiver's connection is up: until then its SRTP keys do not exist, and
    /// packets written would be thrown away (with a warning each) by webrtc.
    connected: Arc<AtomicBool>,
    /// The header extension ids the receiver's connection negotiated; until its answer, none.
    extensions: watch::Sender<Vec<Negotiated>>,
    /// Counts the payload bytes sent on the leg (`cobrowse_call_bytes_forwarded_total`).
    forwarded: IntCounter,
    task: Option<AbortHandle>,
}

impl Leg {
    pub fn new(
        media: Media,
        label: &str,
        connected: Arc<AtomicBool>,
        forwarded: IntCounter,
    ) -> Self {
        let ssrc = rand::random::<u32>();
        let (kind, codec, payload_type) = match media {
            Media::Audio => (RtpCodecKind::Audio, opus().rtp_codec, OPUS_PAYLOAD_TYPE),
            Media::Video | Media::Canvas => {
                (RtpCodecKind::Video, vp8().rtp_codec, VP8_PAYLOAD_TYPE)
            }
        };
        let local = TrackLocalStaticRTP::new(MediaStreamTrack::new(
            format!("cobrowse-{label}"),
            format!("{label}-{ssrc}"),
            label.to_string(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                active: true,
                codec,
                ..Default::default()
            }],
        ));
        Self {
            local: Arc::new(local),
            rewrite: Arc::new(Mutex::new(Rewrite::new(ssrc, payload_type))),
            connected,
            extensions: watch::Sender::new(Vec::new()),
            forwarded,
            task: None,
        }
    }

    pub fn track(&self) -> Arc<dyn TrackLocal> {
        self.local.clone()
    }

    /// The receiver's connection negotiated these header extensions (after each answer).
    pub fn negotiated(&self, extensions: Vec<Negotiated>) {
        self.extensions
            .send_if_modified(|ids| replace(ids, extensions));
    }

    /// Carries `source` from now on (or nothing).
    pub fn carry(&mut self, source: Option<&Source>) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let Some(source) = source else { return };
        self.rewrite.lock().expect("lock").rebase();
        let task = tokio::spawn(forward(
            source.packets.subscribe(),
            Sides {
                from: source.extensions.subscribe(),
                to: self.extensions.subscribe(),
            },
            self.local.clone(),
            self.rewrite.clone(),
            source.keyframe.clone(),
            self.connected.clone(),
            self.forwarded.clone(),
        ));
        self.task = Some(task.abort_handle());
    }
}

impl Drop for Leg {
    fn drop(&mut self) {
        self.carry(None);
    }
}

/// Replaces `ids` with `new`; whether that changed them.
fn replace(ids: &mut Vec<Negotiated>, new: Vec<Negotiated>) -> bool {
    let changed = *ids != new;
    *ids = new;
    changed
}

/// The header extensions negotiated on both connections a forwarded packet crosses.
struct Sides {
    from: watch::Receiver<Vec<Negotiated>>,
    to: watch::Receiver<Vec<Negotiated>>,
}

impl Sides {
    /// The map from the source's ids to the leg's, as both connections negotiated them now.
    fn map(&mut self) -> ExtensionMap {
        ExtensionMap::new(&self.from.borrow_and_update(), &self.to.borrow_and_update())
    }

    fn changed(&self) -> bool {
        self.from.has_changed().unwrap_or(false) || self.to.has_changed().unwrap_or(false)
    }
}

async fn forward(
    mut packets: broadcast::Receiver<rtp::Packet>,
    mut sides: Sides,
    local: Arc<TrackLocalStaticRTP>,
    rewrite: Arc<Mutex<Rewrite>>,
    keyframe: Arc<Notify>,
    connected: Arc<AtomicBool>,
    forwarded: IntCounter,
) {
    // Until the participant's answer binds the track, writes fail; once they succeed, key frames
    // are asked for a few times over the first seconds, so the picture starts as soon as the
    // receiver's connection is up (webrtc 0.21 does not pass the receiver's own PLIs on, and a
    // key frame sent while DTLS is still coming up is lost).
    let mut bound = false;
    let mut startup_asks = 0;
    let mut next_ask = tokio::time::Instant::now();
    let mut extensions = sides.map();
    keyframe.notify_one();
    loop {
        let packet = match packets.recv().await {
            Ok(packet) => packet,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                keyframe.notify_one();
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if !connected.load(Ordering::Relaxed) {
            continue;
        }
        if sides.changed() {
            extensions = sides.map();
        }
        let mut packet = rewrite.lock().expect("lock").apply(packet);
        extensions.apply(&mut packet.header);
        let bytes = packet.payload.len() as u64;
        match local.write_rtp(packet).await {
            Ok(()) => {
                forwarded.inc_by(bytes);
                if !bound {
                    bound = true;
                    startup_asks = STARTUP_KEYFRAMES;
                    next_ask = tokio::time::Instant::now();
                }
            }
            Err(_) => bound = false,
        }
        if startup_asks > 0 && tokio::time::Instant::now() >= next_ask {
            keyframe.notify_one();
            startup_asks -= 1;
            next_ask += STARTUP_KEYFRAME_EVERY;
        }
    }
}

/// Maps a source's sequence numbers and timestamps onto the leg's own, continuing from where the
/// previous source left off. Gaps within a source are kept (the receiver's NACKs depend on them).
struct Rewrite {
    ssrc: u32,
    payload_type: u8,
    offsets: Option<(u16, u32)>,
    last: Option<(u16, u32)>,
}

impl Rewrite {
    fn new(ssrc: u32, payload_type: u8) -> Self {
        Self {
            ssrc,
            payload_type,
            offsets: None,
            last: None,
        }
    }

    fn rebase(&mut self) {
        self.offsets = None;
    }

    fn apply(&mut self, mut packet: rtp::Packet) -> rtp::Packet {
        let header = &mut packet.header;
        let (seq_offset, ts_offset) = *self.offsets.get_or_insert_with(|| match self.last {
            // 3000 ticks: one frame at 30 fps (or 62 ms of audio); only the order matters.
            Some((seq, ts)) => (
                seq.wrapping_add(1).wrapping_sub(header.sequence_number),
                ts.wrapping_add(3000).wrapping_sub(header.timestamp),
            ),
            None => (0, 0),
        });
        header.sequence_number = header.sequence_number.wrapping_add(seq_offset);
        header.timestamp = header.timestamp.wrapping_add(ts_offset);
        header.ssrc = self.ssrc;
        header.payload_type = self.payload_type;
        self.last = Some((header.sequence_number, header.timestamp));
        packet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16, ts: u32) -> rtp::Packet {
        rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type: 100,
                sequence_number: seq,
                timestamp: ts,
                ssrc: 7,
                ..Default::default()
            },
            payload: bytes::Bytes::from_static(&[0x10, 0x00]),
        }
    }

    #[test]
    fn a_leg_switching_sources_continues_its_own_sequence() {
        let mut rewrite = Rewrite::new(42, 96);
        let a = rewrite.apply(packet(1000, 5000));
        assert_eq!(
            (
                a.header.sequence_number,
                a.header.ssrc,
                a.header.payload_type
            ),
            (1000, 42, 96)
        );
        let gap = rewrite.apply(packet(1003, 5100));
        assert_eq!(
            gap.header.sequence_number, 1003,
            "gaps within a source are kept"
        );
        rewrite.rebase();
        let b = rewrite.apply(packet(65535, 10));
        assert_eq!(b.header.sequence_number, 1004);
        assert_eq!(b.header.timestamp, 5100 + 3000);
        let wrapped = rewrite.apply(packet(0, 20));
        assert_eq!(
            wrapped.header.sequence_number, 1005,
            "sources wrapping around stay in order"
        );
    }
}
