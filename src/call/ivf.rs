//! VP8 in IVF, from RTP: frames are put back together from their packets and stamped with their
//! RTP time (timebase 1/90000), so the file lasts as long as the call did whatever the frame
//! rate. Nothing is written before the first key frame; a lost packet drops frames until the next
//! key frame, which the recorder then asks for.

use rtc::rtp;
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;

pub const HEADER_LEN: usize = 32;
/// Where the header keeps the length, filled in when the file is served. The IVF format calls it
/// the frame count; FFmpeg (and so most players) read it as the duration in timebase units, and
/// with frames stamped in RTP time only the duration makes the file last as long as the call.
pub const LENGTH_AT: usize = 24;
/// Largest frame put back together. A VP8 key frame of a 4K screen is well under this; a sender
/// whose frame never ends (no marker bit) must not grow the buffer without end.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

#[derive(Default)]
pub struct IvfWriter {
    frame: Vec<u8>,
    frame_ts: u32,
    in_frame: bool,
    last_seq: Option<u16>,
    /// Delta frames make sense only after the key frame they build on.
    synced: bool,
    first_ts: Option<u32>,
    /// RTP time of the last frame written, unwrapped.
    clock: Clock,
    pub frames: u32,
    /// When the last frame written starts, in 1/90000 s from the first.
    last_pts: u64,
    header_written: bool,
}

/// What happened to a packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    Taken,
    /// Frames are lost until a key frame: ask the sender for one.
    NeedKeyframe,
}

impl IvfWriter {
    /// Takes one packet; completed frames (and the file header, before the first) go to `out`.
    pub fn push(&mut self, packet: &rtp::Packet, out: &mut Vec<u8>) -> Pushed {
        let seq = packet.header.sequence_number;
        let gap = self
            .last_seq
            .is_some_and(|last| last.wrapping_add(1) != seq);
        self.last_seq = Some(seq);
        let mut depacketizer = Vp8Packet::default();
        let Ok(payload) = depacketizer.depacketize(&packet.payload) else {
            return self.lost();
        };
        let head = depacketizer.s == 1 && depacketizer.pid == 0;
        if gap && !head {
            return self.lost();
        }
        if head {
            if self.in_frame {
                // The previous frame's last packet never came.
                self.frame.clear();
                self.synced = false;
            }
            let key = payload.first().is_some_and(|b| b & 0x01 == 0);
            if !self.synced && !key {
                self.in_frame = false;
                return Pushed::NeedKeyframe;
            }
            self.synced = true;
            self.in_frame = true;
            self.frame_ts = packet.header.timestamp;
            self.frame.clear();
        } else if !self.in_frame {
            return Pushed::Taken;
        }
        if self.frame.len() + payload.len() > MAX_FRAME_BYTES {
            return self.lost();
        }
        self.frame.extend_from_slice(&payload);
        if packet.header.marker {
            self.finish_frame(out);
        }
        Pushed::Taken
    }

    fn lost(&mut self) -> Pushed {
        self.frame.clear();
        self.in_frame = false;
        self.synced = false;
        Pushed::NeedKeyframe
    }

    fn finish_frame(&mut self, out: &mut Vec<u8>) {
        self.in_frame = false;
        if !self.header_written {
            let (width, height) = dimensions(&self.frame).unwrap_or((640, 480));
            out.extend_from_slice(&header(width, height));
            self.header_written = true;
        }
        let first = *self.first_ts.get_or_insert(self.frame_ts);
        let pts = self.clock.advance(self.frame_ts.wrapping_sub(first));
        out.extend_from_slice(
            &u32::try_from(self.frame.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        out.extend_from_slice(&pts.to_le_bytes());
        out.append(&mut self.frame);
        self.frames += 1;
        self.last_pts = pts;
    }

    /// How long the file plays, in 1/90000 s: up to the last frame's start, plus one frame.
    pub fn duration(&self) -> u64 {
        match self.frames {
            0 => 0,
            1 => 3000,
            n => self.last_pts + self.last_pts / u64::from(n - 1),
        }
    }
}

/// Unwraps 32-bit RTP time into a 64-bit clock that only moves forward.
#[derive(Default)]
struct Clock {
    last: u32,
    wraps: u64,
}

impl Clock {
    fn advance(&mut self, offset: u32) -> u64 {
        if offset < self.last && self.last - offset > u32::MAX / 2 {
            self.wraps += 1;
        }
        self.last = offset;
        (self.wraps << 32) | u64::from(offset)
    }
}

fn header(width: u16, height: u16) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[0..4].copy_from_slice(b"DKIF");
    header[6..8].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    header[8..12].copy_from_slice(b"VP80");
    header[12..14].copy_from_slice(&width.to_le_bytes());
    header[14..16].copy_from_slice(&height.to_le_bytes());
    header[16..20].copy_from_slice(&90_000u32.to_le_bytes());
    header[20..24].copy_from_slice(&1u32.to_le_bytes());
    header
}

/// A VP8 key frame's size: a 3-byte tag, the start code 9d 01 2a, then 14-bit width and height.
fn dimensions(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.len() < 10 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let height = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16, ts: u32, start: bool, key: bool, marker: bool) -> rtp::Packet {
        let mut payload = vec![if start { 0x10 } else { 0x00 }];
        if start {
            payload.extend_from_slice(&[if key { 0x00 } else { 0x01 }, 0, 0, 0x9d, 0x01, 0x2a]);
            payload.extend_from_slice(&320u16.to_le_bytes());
            payload.extend_from_slice(&240u16.to_le_bytes());
        } else {
            payload.extend_from_slice(&[7; 20]);
        }
        rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                marker,
                sequence_number: seq,
                timestamp: ts,
                ..Default::default()
            },
            payload: bytes::Bytes::from(payload),
        }
    }

    fn frames(file: &[u8]) -> Vec<(usize, u64)> {
        let mut at = HEADER_LEN;
        let mut frames = Vec::new();
        while at + 12 <= file.len() {
            let len = u32::from_le_bytes(file[at..at + 4].try_into().unwrap()) as usize;
            let pts = u64::from_le_bytes(file[at + 4..at + 12].try_into().unwrap());
            frames.push((len, pts));
            at += 12 + len;
        }
        frames
    }

    #[test]
    fn a_frame_that_never_ends_is_dropped_at_the_cap_and_the_next_key_frame_resumes() {
        let mut ivf = IvfWriter::default();
        let mut out = Vec::new();
        assert_eq!(
            ivf.push(&packet(0, 0, true, true, false), &mut out),
            Pushed::Taken
        );
        let mut n: u32 = 1;
        let pushed = loop {
            let pushed = ivf.push(&packet(n as u16, 0, false, false, false), &mut out);
            if pushed != Pushed::Taken || n > 300_000 {
                break pushed;
            }
            n += 1;
        };
        let seq = n as u16;
        assert_eq!(pushed, Pushed::NeedKeyframe);
        assert!(ivf.frame.capacity() <= 2 * MAX_FRAME_BYTES);
        assert_eq!(
            ivf.push(
                &packet(seq.wrapping_add(1), 9000, true, true, true),
                &mut out
            ),
            Pushed::Taken
        );
        assert_eq!(frames(&out).len(), 1);
    }

    #[test]
    fn frames_carry_rtp_time_from_the_first_key_frame_and_losses_wait_for_the_next() {
        let mut ivf = IvfWriter::default();
        let mut out = Vec::new();
        let base = u32::MAX - 1000;
        assert_eq!(
            ivf.push(&packet(1, base, true, false, true), &mut out),
            Pushed::NeedKeyframe
        );
        assert!(out.is_empty(), "nothing before the first key frame");
        ivf.push(
            &packet(2, base.wrapping_add(3000), true, true, false),
            &mut out,
        );
        ivf.push(
            &packet(3, base.wrapping_add(3000), false, false, true),
            &mut out,
        );
        ivf.push(
            &packet(4, base.wrapping_add(6000), true, false, true),
            &mut out,
        );
        assert_eq!(&out[0..4], b"DKIF");
        assert_eq!(u16::from_le_bytes([out[12], out[13]]), 320);
        // Packet 6 lost: the frame at 9000 is dropped and so is everything until a key frame.
        ivf.push(
            &packet(5, base.wrapping_add(9000), true, false, false),
            &mut out,
        );
        assert_eq!(
            ivf.push(
                &packet(7, base.wrapping_add(12000), true, false, true),
                &mut out
            ),
            Pushed::NeedKeyframe
        );
        ivf.push(
            &packet(8, base.wrapping_add(90_000 + 3000), true, true, true),
            &mut out,
        );
        let pts: Vec<u64> = frames(&out).iter().map(|f| f.1).collect();
        assert_eq!(
            pts,
            vec![0, 3000, 90_000],
            "timestamps survive the 32-bit wrap"
        );
        assert_eq!(ivf.frames, 3);
        assert_eq!(
            ivf.duration(),
            90_000 + 45_000,
            "the last frame lasts the average frame"
        );
    }
}
