//! Opus in Ogg, from RTP: one packet a page, granule positions from RTP time (48 kHz), so gaps
//! in the audio (muted, lost) keep their length when played back.

use rtc::rtp;

const SERIAL: u32 = 0x636f_6272;
/// Opus decoders drop this many samples at the start (the encoder's look-ahead).
const PRE_SKIP: u16 = 312;
/// Samples in a 20 ms Opus frame, what browsers send.
const FRAME_SAMPLES: u64 = 960;

#[derive(Default)]
pub struct OggWriter {
    page: u32,
    first_ts: Option<u32>,
    last_seq: Option<u16>,
    clock_last: u32,
    wraps: u64,
    pub packets: u64,
    pub granule: u64,
}

impl OggWriter {
    /// Takes one packet; its page (and the two header pages, before the first) go to `out`.
    /// Packets older than the last one written are dropped: Ogg cannot go back in time.
    pub fn push(&mut self, packet: &rtp::Packet, out: &mut Vec<u8>) {
        let seq = packet.header.sequence_number;
        if let Some(last) = self.last_seq
            && seq.wrapping_sub(last) > u16::MAX / 2
        {
            return;
        }
        self.last_seq = Some(seq);
        if packet.payload.is_empty() {
            return;
        }
        if self.first_ts.is_none() {
            self.write_headers(out);
        }
        let first = *self.first_ts.get_or_insert(packet.header.timestamp);
        let offset = packet.header.timestamp.wrapping_sub(first);
        if offset < self.clock_last && self.clock_last - offset > u32::MAX / 2 {
            self.wraps += 1;
        }
        self.clock_last = offset;
        self.granule = ((self.wraps << 32) | u64::from(offset)) + FRAME_SAMPLES;
        self.write_page(out, 0, self.granule, &packet.payload);
        self.packets += 1;
    }

    fn write_headers(&mut self, out: &mut Vec<u8>) {
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1);
        head.push(2);
        head.extend_from_slice(&PRE_SKIP.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&0u16.to_le_bytes());
        head.push(0);
        self.write_page(out, 0x02, 0, &head);
        let vendor = b"cobrowse";
        let mut tags = Vec::new();
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        self.write_page(out, 0, 0, &tags);
    }

    fn write_page(&mut self, out: &mut Vec<u8>, flags: u8, granule: u64, packet: &[u8]) {
        let start = out.len();
        out.extend_from_slice(b"OggS");
        out.push(0);
        out.push(flags);
        out.extend_from_slice(&granule.to_le_bytes());
        out.extend_from_slice(&SERIAL.to_le_bytes());
        out.extend_from_slice(&self.page.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        // Lacing: 255s then the remainder; a packet of a multiple of 255 ends with a 0.
        let segments = packet.len() / 255 + 1;
        out.push(u8::try_from(segments).unwrap_or(u8::MAX));
        out.extend(std::iter::repeat_n(255u8, segments - 1));
        out.push((packet.len() % 255) as u8);
        out.extend_from_slice(packet);
        let crc = crc(&out[start..]);
        out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
        self.page += 1;
    }
}

/// Ogg's CRC-32: polynomial 0x04c11db7, not reflected, starting from 0.
fn crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in data {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16, ts: u32) -> rtp::Packet {
        rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                sequence_number: seq,
                timestamp: ts,
                ..Default::default()
            },
            payload: bytes::Bytes::from_static(&[0xf8, 0xff, 0xfe]),
        }
    }

    #[test]
    fn pages_follow_rtp_time_and_late_packets_are_dropped() {
        let mut ogg = OggWriter::default();
        let mut out = Vec::new();
        let base = u32::MAX - 960;
        ogg.push(&packet(10, base), &mut out);
        ogg.push(&packet(11, base.wrapping_add(960)), &mut out);
        ogg.push(&packet(9, base.wrapping_sub(960)), &mut out);
        ogg.push(&packet(13, base.wrapping_add(48_000)), &mut out);
        assert_eq!(ogg.packets, 3, "the late packet is dropped");
        assert_eq!(
            ogg.granule,
            48_000 + 960,
            "a second later across the 32-bit wrap"
        );
        assert_eq!(&out[0..4], b"OggS");
        assert_eq!(out[5], 0x02, "the first page begins the stream");
        assert_eq!(&out[28..36], b"OpusHead");
    }
}
