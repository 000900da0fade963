//! The synthetic media a call participant sends, shaped like a real call's because what the SFU
//! costs depends on packets, not on pictures: VP8 at 30 frames/s and about 1 Mbit/s, frames split
//! into RTP packets of at most 1 100 bytes (the S bit of the payload descriptor on a frame's first
//! packet, the marker on its last), a key frame every second; Opus at 50 packets/s of 80 bytes
//! (32 kbit/s). Nobody decodes it. The last 8 bytes of every payload carry the microsecond (UNIX
//! time) it was sent, which the SFU forwards untouched, so a receiver on the same clock measures
//! how late each packet arrives.

use crate::clock::now_micros;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::time::MissedTickBehavior;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;

/// The synthetic camera: frames per second, and bits per second on average.
const VIDEO_FPS: u32 = 30;
const VIDEO_BITS_PER_SEC: u32 = 1_000_000;
/// A key frame every this many frames (1 s), four times the size of a delta frame, as an
/// encoder's are. A browser sends one when the SFU asks (RTCP PLI); this peer does not see those
/// (webrtc-rs hands RTCP to a local track only through a custom interceptor), so it sends them
/// often enough that a new receiver, or the recorder, waits at most a second for a picture.
const KEY_FRAME_EVERY: u32 = 30;
const KEY_FRAME_WEIGHT: usize = 4;
/// Largest RTP payload: what browsers use to stay under a 1 200-byte packet with headers and
/// SRTP's tag.
const MAX_PAYLOAD: usize = 1100;
/// The synthetic microphone: 20 ms packets of 80 bytes.
const AUDIO_PACKETS_PER_SEC: u32 = 50;
const AUDIO_PAYLOAD: usize = 80;
/// Bytes at the end of every payload holding its send time.
const STAMP: usize = 8;

pub(super) fn local_track(
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
pub(super) async fn send_audio(track: Arc<TrackLocalStaticRTP>, ssrc: u32) {
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
pub(super) async fn send_video(track: Arc<TrackLocalStaticRTP>, ssrc: u32) {
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
pub(super) fn stamp_of(payload: &[u8]) -> Option<u64> {
    let at = payload.len().checked_sub(STAMP)?;
    let sent = u64::from_le_bytes(payload[at..].try_into().ok()?);
    let now = now_micros();
    (sent <= now && now - sent < 60_000_000).then_some(sent)
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
