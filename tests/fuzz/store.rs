//! Stored records read back: a run of record bodies through the `Reassembler` and the `Dedup`,
//! as every reader of a session stream does. The store has no authentication (issue 13), so its
//! records are input like any other. A case is a run of records, each prefixed by its length in
//! three little-endian bytes, so mutations also move record boundaries.

use arbitrary::Unstructured;
use bytes::Bytes;
use cobrowse::protocol::RecordKind;
use cobrowse::store::frame::{Dedup, Event, Reassembler, encode};

use crate::engine::{self, Target};

/// The server's default `--max-event-bytes`: what a reader allows one event to grow to.
const MAX_EVENT_BYTES: usize = 10 * 1024 * 1024;
use crate::msgpack::Writer;

/// Reads a run of records the way a session reader does; true when an event came out whole.
fn decode(run: &[u8]) -> bool {
    let mut reassembler = Reassembler::new(MAX_EVENT_BYTES);
    let mut dedup = Dedup::new();
    let mut whole = false;
    for (seq_num, record) in records(run).enumerate() {
        if let Ok(Some(stored)) = reassembler.push(seq_num as u64, 0, record) {
            dedup.admit(&stored.event);
            whole = true;
        }
        if let Some(from) = reassembler.pending_from() {
            assert!(
                from <= seq_num as u64,
                "a restart point lies behind the read"
            );
        }
    }
    whole
}

fn records(mut run: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (head, rest) = run.split_at_checked(3)?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
        let (record, rest) = rest.split_at(len.min(rest.len()));
        run = rest;
        Some(record)
    })
}

fn join(records: &[Bytes]) -> Vec<u8> {
    let mut run = Vec::new();
    for record in records {
        run.extend(&(record.len() as u32).to_le_bytes()[..3]);
        run.extend(record);
    }
    run
}

/// One record body: `[version, kind, tab, seq, ts, part, parts, codec, body]`, as
/// `store::frame` writes it.
fn envelope(
    kind: &str,
    tab: &str,
    seq: u64,
    part: u64,
    parts: u64,
    codec: &str,
    body: &[u8],
) -> Bytes {
    let mut w = Writer::default();
    w.array(9);
    w.uint(1);
    w.str(kind);
    w.str(tab);
    w.uint(seq);
    w.uint(1_700_000_000_000 + seq);
    w.uint(part);
    w.uint(parts);
    w.str(codec);
    w.bin(body);
    Bytes::from(w.out)
}

fn seeds() -> Vec<Vec<u8>> {
    let demo = crate::tracker::demo_events();
    let event = |seq: u64, kind, body: &[u8]| Event {
        kind,
        tab: "tab-1".into(),
        seq,
        ts: 1_700_000_000_000 + seq,
        body: Bytes::copy_from_slice(body),
    };
    let mut seeds = Vec::new();
    // Recorded events as the writer frames them; the snapshot is compressed.
    for (i, batch) in demo.chunks(6).enumerate().take(10) {
        let records: Vec<Bytes> = batch
            .iter()
            .zip(1 + 6 * i as u64..)
            .flat_map(|(body, seq)| encode(&event(seq, RecordKind::Rrweb, body)))
            .collect();
        seeds.push(join(&records));
    }
    // A resend after a takeover: the same events twice, and a server record between them.
    let again = [
        encode(&event(1, RecordKind::Identify, br#"{"user_id":"u"}"#)),
        encode(&event(0, RecordKind::Heartbeat, b"{}")),
        encode(&event(1, RecordKind::Identify, br#"{"user_id":"u"}"#)),
    ];
    seeds.push(join(&again.concat()));
    // Split events with small parts (real parts are 512 KiB; the reassembler does not care),
    // raw and compressed, and one whose last part never came before a resend.
    let body = &demo[0];
    let third = body.len().div_ceil(3);
    let raw: Vec<Bytes> = body
        .chunks(third)
        .enumerate()
        .map(|(i, c)| envelope("rrweb", "tab-1", 5, i as u64, 3, "raw", c))
        .collect();
    seeds.push(join(&raw));
    let packed = zstd::bulk::compress(&demo.concat(), 3).expect("zstd");
    let zstd: Vec<Bytes> = packed
        .chunks(packed.len().div_ceil(2))
        .enumerate()
        .map(|(i, c)| envelope("rrweb", "tab-2", 9, i as u64, 2, "zstd", c))
        .collect();
    seeds.push(join(&zstd));
    let mut cut = raw[..2].to_vec();
    cut.extend(encode(&event(5, RecordKind::Rrweb, body)));
    seeds.push(join(&cut));
    seeds
}

fn generate(u: &mut Unstructured) -> arbitrary::Result<Vec<u8>> {
    let count = u.int_in_range(1..=6)?;
    let mut records = Vec::new();
    for _ in 0..count {
        let parts: u64 = match u.int_in_range(0..=3)? {
            0 => u.int_in_range(0..=4)?,
            1 => u32::MAX.into(),
            2 => u.arbitrary::<u32>()?.into(),
            _ => 1,
        };
        let part = if u.ratio(3, 4)? {
            u.int_in_range(0..=parts.min(4))?
        } else {
            u.arbitrary::<u32>()?.into()
        };
        let codec = *u.choose(&["raw", "zstd", "gzip", ""])?;
        let body: Vec<u8> = if codec == "zstd" && u.ratio(1, 2)? {
            zstd::bulk::compress(u.arbitrary::<&[u8]>()?, 1).expect("zstd")
        } else {
            u.arbitrary::<&[u8]>()?.to_vec()
        };
        let kind = *u.choose(&[
            "rrweb",
            "identify",
            "metadata",
            "start",
            "page",
            "heartbeat",
            "agent",
            "end",
            "nope",
        ])?;
        let tab = *u.choose(&["tab-1", "tab-2", ""])?;
        let seq = u.int_in_range(0..=8)?;
        records.push(envelope(kind, tab, seq, part, parts, codec, &body));
    }
    Ok(join(&records))
}

#[test]
fn stored_records_never_panic_or_allocate_out_of_proportion() {
    let report = engine::fuzz(Target {
        name: "store",
        seeds: seeds(),
        generate,
        run: decode,
    });
    engine::assert_reaches_both("store", &report);
}
