//! Record framing: how one event becomes S2 record bodies, and how a reader gets it back.
//!
//! Every record body is a MessagePack array `[version, kind, tab, seq, ts, part, parts, codec,
//! body]`. Bodies of 1 KiB or more are zstd-compressed when that makes them smaller (S2 stores and
//! bills bytes). An event whose encoded body exceeds [`MAX_PART_BYTES`] is split into `parts`
//! consecutive records; the [`Reassembler`] joins them and drops a split event whose first parts it
//! never saw (a read that started in the middle) or whose parts stop short (a writer that died
//! mid-event, whose tracker then resent the event whole). This module does no I/O.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::protocol::{RecordKind, SessionStart, from_msgpack};

/// Largest body slice one record carries. S2 caps a record at 1 MiB metered; half of that leaves
/// ample room for the envelope.
pub const MAX_PART_BYTES: usize = 512 * 1024;

const ENVELOPE_VERSION: u8 = 1;
const COMPRESS_MIN_BYTES: usize = 1024;
const ZSTD_LEVEL: i32 = 3;
/// Largest zstd window a reader accepts, as a power of two (8 MiB). The encoder's level 3 uses at
/// most 2 MiB; a frame that asks for more is not ours, and the window is allocated up front.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Codec {
    Raw,
    Zstd,
}

#[derive(Serialize, Deserialize)]
struct Envelope<'a> {
    version: u8,
    kind: RecordKind,
    tab: Cow<'a, str>,
    seq: u64,
    ts: u64,
    part: u32,
    parts: u32,
    codec: Codec,
    #[serde(with = "serde_bytes", borrow)]
    body: Cow<'a, [u8]>,
}

/// One logical event: what a tracker sent, or a record the server wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: RecordKind,
    pub tab: String,
    /// Client sequence number for tracker events; 0 for server records.
    pub seq: u64,
    /// Client timestamp, ms since the Unix epoch.
    pub ts: u64,
    /// UTF-8 JSON.
    pub body: Bytes,
}

impl Event {
    /// A record the server itself writes (no tab, no client sequence), stamped now; `value` is
    /// one of the protocol's record types, so encoding it as JSON cannot fail.
    pub fn server(kind: RecordKind, value: &impl Serialize) -> Self {
        Self {
            kind,
            tab: String::new(),
            seq: 0,
            ts: crate::clock::now_ms(),
            body: Bytes::from(serde_json::to_vec(value).expect("protocol types serialize to JSON")),
        }
    }
}

/// An event read back from a stream, with where S2 put it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// S2 sequence number of the event's last record.
    pub seq_num: u64,
    /// S2 timestamp of the event's last record, ms since the Unix epoch.
    pub timestamp: u64,
    pub event: Event,
}

impl StoredEvent {
    /// The session's `start`, if this is a `start` record this release can read.
    pub fn session_start(&self) -> Option<SessionStart> {
        if self.event.kind != RecordKind::Start {
            return None;
        }
        serde_json::from_slice(&self.event.body).ok()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("record {seq_num} is not a cobrowse record: {reason}")]
    Malformed { seq_num: u64, reason: String },
    #[error("record {seq_num} was written by a newer cobrowse (envelope version {version})")]
    UnknownVersion { seq_num: u64, version: u8 },
    #[error("record {seq_num} holds an event larger than the {max} bytes this server accepts")]
    TooLarge { seq_num: u64, max: usize },
}

/// Encodes an event into the bodies of one or more consecutive S2 records.
pub fn encode(event: &Event) -> Vec<Bytes> {
    let (codec, payload) = compress(&event.body);
    let chunks: Vec<&[u8]> = if payload.is_empty() {
        vec![&[][..]]
    } else {
        payload.chunks(MAX_PART_BYTES).collect()
    };
    let parts = chunks.len() as u32;
    chunks
        .into_iter()
        .enumerate()
        .map(|(part, chunk)| {
            let envelope = Envelope {
                version: ENVELOPE_VERSION,
                kind: event.kind,
                tab: Cow::Borrowed(&event.tab),
                seq: event.seq,
                ts: event.ts,
                part: part as u32,
                parts,
                codec,
                body: Cow::Borrowed(chunk),
            };
            Bytes::from(rmp_serde::to_vec(&envelope).expect("envelope always serializes"))
        })
        .collect()
}

fn compress(body: &[u8]) -> (Codec, Cow<'_, [u8]>) {
    if body.len() >= COMPRESS_MIN_BYTES
        && let Ok(packed) = zstd::bulk::compress(body, ZSTD_LEVEL)
        && packed.len() < body.len()
    {
        return (Codec::Zstd, Cow::Owned(packed));
    }
    (Codec::Raw, Cow::Borrowed(body))
}

struct Pending {
    first_seq_num: u64,
    kind: RecordKind,
    tab: String,
    seq: u64,
    ts: u64,
    codec: Codec,
    next_part: u32,
    parts: u32,
    body: Vec<u8>,
}

/// Joins records back into events. One per reader; feed it records in stream order.
pub struct Reassembler {
    pending: Option<Pending>,
    /// The largest event, stored or decompressed, this reader builds; larger ones are errors.
    max_event_bytes: usize,
}

impl Reassembler {
    /// A reader of events of at most `max_event_bytes` (the server's `--max-event-bytes`: no
    /// record it wrote holds a larger one).
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            pending: None,
            max_event_bytes,
        }
    }

    /// Most parts an event of at most `max_event_bytes` is split into: its stored body is never
    /// larger than the event (bodies are compressed only when that makes them smaller).
    fn max_parts(&self) -> u32 {
        let parts = self.max_event_bytes.div_ceil(MAX_PART_BYTES).max(1);
        u32::try_from(parts).unwrap_or(u32::MAX)
    }

    /// Where a reader must restart so as not to miss the event being reassembled, if any.
    pub fn pending_from(&self) -> Option<u64> {
        self.pending.as_ref().map(|p| p.first_seq_num)
    }

    /// Feeds the body of the record at `seq_num`; returns an event when this record completes one.
    pub fn push(
        &mut self,
        seq_num: u64,
        timestamp: u64,
        record: &[u8],
    ) -> Result<Option<StoredEvent>, FrameError> {
        let envelope: Envelope<'_> = from_msgpack(record).map_err(|e| FrameError::Malformed {
            seq_num,
            reason: e.to_string(),
        })?;
        if envelope.version != ENVELOPE_VERSION {
            return Err(FrameError::UnknownVersion {
                seq_num,
                version: envelope.version,
            });
        }
        if envelope.parts == 0 || envelope.part >= envelope.parts {
            return Err(FrameError::Malformed {
                seq_num,
                reason: format!("part {} of {}", envelope.part, envelope.parts),
            });
        }
        if envelope.parts > self.max_parts() {
            self.pending = None;
            return Err(FrameError::TooLarge {
                seq_num,
                max: self.max_event_bytes,
            });
        }
        if envelope.part == 0 {
            self.pending = Some(Pending {
                first_seq_num: seq_num,
                kind: envelope.kind,
                tab: envelope.tab.to_string(),
                seq: envelope.seq,
                ts: envelope.ts,
                codec: envelope.codec,
                next_part: 0,
                parts: envelope.parts,
                // Grown as parts arrive, never sized by `parts`: that is a number anyone who can
                // append to the store chose (4 billion of them aborted the reader).
                body: Vec::new(),
            });
        }
        let Some(pending) = self.pending.as_mut() else {
            return Ok(None);
        };
        let continues = pending.next_part == envelope.part
            && pending.parts == envelope.parts
            && pending.seq == envelope.seq
            && pending.kind == envelope.kind
            && pending.tab == envelope.tab;
        if !continues {
            self.pending = None;
            return Ok(None);
        }
        if pending.body.len() + envelope.body.len() > self.max_event_bytes {
            self.pending = None;
            return Err(FrameError::TooLarge {
                seq_num,
                max: self.max_event_bytes,
            });
        }
        pending.body.extend_from_slice(&envelope.body);
        pending.next_part += 1;
        if pending.next_part < pending.parts {
            return Ok(None);
        }
        let done = self.pending.take().expect("pending checked above");
        let body = match done.codec {
            Codec::Raw => done.body,
            Codec::Zstd => decompress(&done.body, self.max_event_bytes, seq_num)?,
        };
        Ok(Some(StoredEvent {
            seq_num,
            timestamp,
            event: Event {
                kind: done.kind,
                tab: done.tab,
                seq: done.seq,
                ts: done.ts,
                body: Bytes::from(body),
            },
        }))
    }
}

/// Decompresses a zstd body of at most `max` bytes, reading one byte past the bound to tell an
/// event of exactly `max` bytes from a larger one; the frame's own size claim is not trusted.
fn decompress(body: &[u8], max: usize, seq_num: u64) -> Result<Vec<u8>, FrameError> {
    let malformed = |e: std::io::Error| FrameError::Malformed {
        seq_num,
        reason: format!("zstd: {e}"),
    };
    let mut decoder = zstd::stream::read::Decoder::new(body).map_err(malformed)?;
    decoder
        .window_log_max(ZSTD_WINDOW_LOG_MAX)
        .map_err(malformed)?;
    let mut out = Vec::new();
    decoder
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(malformed)?;
    if out.len() > max {
        return Err(FrameError::TooLarge { seq_num, max });
    }
    Ok(out)
}

/// Drops tracker events already seen: a tab's sequence numbers only grow, so an event whose `seq`
/// is not above the tab's highest one seen so far is a resend of an event stored before.
#[derive(Default)]
pub struct Dedup {
    highest: HashMap<String, u64>,
}

impl Dedup {
    pub fn new() -> Self {
        Self::default()
    }

    /// True when the event should reach the reader.
    pub fn admit(&mut self, event: &Event) -> bool {
        if !event.kind.is_tracker_event() {
            return true;
        }
        match self.highest.get_mut(&event.tab) {
            Some(highest) if event.seq <= *highest => false,
            Some(highest) => {
                *highest = event.seq;
                true
            }
            None => {
                self.highest.insert(event.tab.clone(), event.seq);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64, body: Vec<u8>) -> Event {
        Event {
            kind: RecordKind::Rrweb,
            tab: "tab-1".into(),
            seq,
            ts: 1_700_000_000_000 + seq,
            body: Bytes::from(body),
        }
    }

    fn noise(len: usize) -> Vec<u8> {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// The server's default `--max-event-bytes`.
    const MAX: usize = 10 * 1024 * 1024;

    fn replay(records: &[Bytes], from: usize) -> Vec<StoredEvent> {
        let mut r = Reassembler::new(MAX);
        records
            .iter()
            .enumerate()
            .skip(from)
            .filter_map(|(i, rec)| r.push(i as u64, 0, rec).unwrap())
            .collect()
    }

    #[test]
    fn small_event_is_one_record_and_round_trips() {
        let e = event(1, br#"{"type":3,"data":{}}"#.to_vec());
        let records = encode(&e);
        assert_eq!(records.len(), 1);
        assert_eq!(replay(&records, 0)[0].event, e);
    }

    #[test]
    fn large_event_splits_and_reassembles_byte_identical() {
        let e = event(7, noise(5 * 1024 * 1024 + 17));
        let records = encode(&e);
        assert_eq!(records.len(), 11);
        assert!(records.iter().all(|r| r.len() < 1024 * 1024 - 1024));
        let got = replay(&records, 0);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].event, e);
        assert_eq!(got[0].seq_num, 10);
    }

    #[test]
    fn compressible_bodies_are_stored_smaller() {
        let e = event(1, br#"{"a":"xxxxxxxx"}"#.repeat(1000));
        let records = encode(&e);
        assert!(records[0].len() < e.body.len() / 10);
        assert_eq!(replay(&records, 0)[0].event, e);
    }

    #[test]
    fn reading_from_the_middle_of_a_split_event_skips_to_the_next_whole_one() {
        let big = event(1, noise(2 * MAX_PART_BYTES + 5));
        let small = event(2, b"{}".to_vec());
        let mut records = encode(&big);
        records.extend(encode(&small));
        let got = replay(&records, 1);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].event, small);
    }

    #[test]
    fn a_split_event_cut_short_is_dropped_and_its_resend_is_kept() {
        let big = event(1, noise(2 * MAX_PART_BYTES + 5));
        let whole = encode(&big);
        let mut records = whole[..2].to_vec();
        let mut r = Reassembler::new(MAX);
        r.push(0, 0, &records[0]).unwrap();
        r.push(1, 0, &records[1]).unwrap();
        assert_eq!(
            r.pending_from(),
            Some(0),
            "a resume point before the cut event"
        );
        records.extend(whole.iter().cloned());
        let got = replay(&records, 0);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].event, big);
    }

    #[test]
    fn garbage_is_reported_not_panicked_on() {
        let mut r = Reassembler::new(MAX);
        assert!(matches!(
            r.push(3, 0, b"\xc1garbage"),
            Err(FrameError::Malformed { seq_num: 3, .. })
        ));
    }

    fn forged(part: u32, parts: u32, codec: Codec, body: &[u8]) -> Vec<u8> {
        rmp_serde::to_vec(&Envelope {
            version: ENVELOPE_VERSION,
            kind: RecordKind::Rrweb,
            tab: Cow::Borrowed("tab-1"),
            seq: 1,
            ts: 0,
            part,
            parts,
            codec,
            body: Cow::Borrowed(body),
        })
        .unwrap()
    }

    #[test]
    fn a_record_claiming_a_huge_part_count_is_refused_before_allocating() {
        let mut r = Reassembler::new(MAX);
        let record = forged(0, u32::MAX, Codec::Raw, &[0; 1024]);
        assert_eq!(
            r.push(5, 0, &record),
            Err(FrameError::TooLarge {
                seq_num: 5,
                max: MAX
            })
        );
        assert_eq!(r.pending_from(), None);
        let most = forged(0, MAX.div_ceil(MAX_PART_BYTES) as u32, Codec::Raw, b"{}");
        assert_eq!(r.push(6, 0, &most), Ok(None), "the largest real split");
    }

    #[test]
    fn parts_that_add_up_past_the_limit_are_refused() {
        let mut r = Reassembler::new(1000);
        assert_eq!(
            r.push(0, 0, &forged(0, 1, Codec::Raw, &[b'x'; 1000]))
                .map(|e| e.is_some()),
            Ok(true)
        );
        let mut small = Reassembler::new(999);
        assert_eq!(
            small.push(0, 0, &forged(0, 1, Codec::Raw, &[b'x'; 1000])),
            Err(FrameError::TooLarge {
                seq_num: 0,
                max: 999
            })
        );
    }

    #[test]
    fn a_compressed_body_that_inflates_past_the_limit_is_refused() {
        let bomb = zstd::bulk::compress(&vec![0u8; 64 * 1024 * 1024], ZSTD_LEVEL).unwrap();
        assert!(bomb.len() < 64 * 1024, "64 MiB of zeros packs small");
        let mut r = Reassembler::new(MAX);
        assert_eq!(
            r.push(9, 0, &forged(0, 1, Codec::Zstd, &bomb)),
            Err(FrameError::TooLarge {
                seq_num: 9,
                max: MAX
            })
        );
        let exact = zstd::bulk::compress(&vec![b'a'; MAX], ZSTD_LEVEL).unwrap();
        let got = r
            .push(10, 0, &forged(0, 1, Codec::Zstd, &exact))
            .unwrap()
            .unwrap();
        assert_eq!(
            got.event.body.len(),
            MAX,
            "an event of exactly the limit still reads"
        );
    }

    #[test]
    fn dedup_drops_resends_per_tab_and_keeps_server_records() {
        let mut d = Dedup::new();
        assert!(d.admit(&event(1, vec![])));
        assert!(d.admit(&event(2, vec![])));
        assert!(!d.admit(&event(2, vec![])));
        assert!(!d.admit(&event(1, vec![])));
        let other_tab = Event {
            tab: "tab-2".into(),
            ..event(1, vec![])
        };
        assert!(d.admit(&other_tab));
        let heartbeat = Event {
            kind: RecordKind::Heartbeat,
            ..event(0, vec![])
        };
        assert!(d.admit(&heartbeat));
        assert!(d.admit(&heartbeat));
    }

    #[test]
    fn a_record_claiming_every_part_the_limit_allows_costs_only_what_it_carries() {
        let body = noise(MAX_PART_BYTES);
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            kind: RecordKind::Rrweb,
            tab: Cow::Borrowed("tab-1"),
            seq: 1,
            ts: 1,
            part: 0,
            parts: (MAX / MAX_PART_BYTES) as u32,
            codec: Codec::Raw,
            body: Cow::Borrowed(&body),
        };
        let record = rmp_serde::to_vec(&envelope).unwrap();
        let mut r = Reassembler::new(MAX);
        assert_eq!(r.push(0, 0, &record), Ok(None));
        assert_eq!(r.pending_from(), Some(0), "held until its parts stop short");
    }
}
