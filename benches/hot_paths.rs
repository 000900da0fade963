//! The per-event work on the server's hot path, without I/O: framing an event into records and
//! back (including a split multi-megabyte snapshot), MessagePack frames in both directions, and
//! read-side deduplication. Run with `cargo bench`; figures are in docs/benchmarks.md.
//!
//! The events are the load tool's default mix, a recorded visit to the demo site, read here from
//! its file: the load tool is part of the binary, which a bench cannot use.

use std::hint::black_box;

use bytes::Bytes;
use cobrowse::protocol::{
    DeliveredEvent, RecordKind, TrackerEvent, TrackerEventKind, TrackerMessage,
};
use cobrowse::store::frame::{self, Dedup, Event, Reassembler};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_bytes::ByteBuf;

/// The recorded visit: the snapshot a tracker sends first (Meta and FullSnapshot, up to the first
/// FullSnapshot) as one body, and the incremental events after it, each as JSON bytes.
struct Recording {
    snapshot: Vec<u8>,
    incremental: Vec<Vec<u8>>,
}

fn recording() -> Recording {
    let events: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../src/load/demo-mix.json")).expect("a JSON array");
    let kind = |e: &serde_json::Value| e["type"].as_u64();
    let full = events
        .iter()
        .position(|e| kind(e) == Some(2))
        .expect("a full snapshot");
    let (head, tail) = events.split_at(full + 1);
    let bytes = |e: &serde_json::Value| serde_json::to_vec(e).expect("JSON values encode");
    Recording {
        snapshot: head
            .iter()
            .filter(|e| matches!(kind(e), Some(2 | 4)))
            .flat_map(bytes)
            .collect(),
        incremental: tail
            .iter()
            .filter(|e| matches!(kind(e), Some(3 | 5 | 6)))
            .map(bytes)
            .collect(),
    }
}

fn event(seq: u64, body: Vec<u8>) -> Event {
    Event {
        kind: RecordKind::Rrweb,
        tab: "tab-1".into(),
        seq,
        ts: 1_700_000_000_000,
        body: Bytes::from(body),
    }
}

fn framing(c: &mut Criterion) {
    let mix = recording();
    let small = event(1, mix.incremental[3].clone());
    let snapshot = event(2, mix.snapshot);
    // A 4 MiB snapshot of poorly compressible content (inline images), split into parts.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let big = event(
        3,
        (0..4 * 1024 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b'a' + (x % 26) as u8
            })
            .collect(),
    );
    let mut group = c.benchmark_group("frame");
    for (name, e) in [
        ("mutation", &small),
        ("snapshot", &snapshot),
        ("split_4mib", &big),
    ] {
        group.throughput(Throughput::Bytes(e.body.len() as u64));
        group.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| frame::encode(black_box(e)))
        });
        let records = frame::encode(e);
        group.bench_function(format!("reassemble/{name}"), |b| {
            b.iter(|| {
                let mut r = Reassembler::new(10 * 1024 * 1024);
                records
                    .iter()
                    .enumerate()
                    .filter_map(|(i, rec)| r.push(i as u64, 0, black_box(rec)).unwrap())
                    .count()
            })
        });
    }
    group.finish();
}

fn messagepack(c: &mut Criterion) {
    let mix = recording();
    let events: Vec<TrackerEvent> = mix
        .incremental
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, body)| TrackerEvent {
            seq: i as u64,
            ts: 1_700_000_000_000,
            kind: TrackerEventKind::Rrweb,
            data: ByteBuf::from(body.clone()),
        })
        .collect();
    let batch = TrackerMessage::Events { events };
    let bytes = rmp_serde::to_vec_named(&batch).unwrap();
    let delivered: Vec<DeliveredEvent> = (0..10)
        .map(|i| DeliveredEvent {
            seq_num: i,
            ts: 1,
            kind: RecordKind::Rrweb,
            tab: "tab-1".into(),
            client_seq: i,
            client_ts: 1,
            data: ByteBuf::from(mix.incremental[i as usize].clone()),
        })
        .collect();
    let mut group = c.benchmark_group("msgpack");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("decode/tracker_batch_of_10", |b| {
        b.iter(|| rmp_serde::from_slice::<TrackerMessage>(black_box(&bytes)).unwrap())
    });
    group.bench_function("encode/agent_batch_of_10", |b| {
        b.iter(|| rmp_serde::to_vec_named(black_box(&delivered)).unwrap())
    });
    group.finish();
}

fn dedup(c: &mut Criterion) {
    let events: Vec<Event> = (0..1000).map(|i| event(i, Vec::new())).collect();
    c.bench_function("dedup/1000_events_one_tab", |b| {
        b.iter(|| {
            let mut d = Dedup::new();
            events.iter().filter(|e| d.admit(black_box(e))).count()
        })
    });
}

criterion_group!(benches, framing, messagepack, dedup);
criterion_main!(benches);
