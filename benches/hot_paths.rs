//! The per-event work on the server's hot path, without I/O: framing an event into records and
//! back (including a split multi-megabyte snapshot), MessagePack frames in both directions, and
//! read-side deduplication. Run with `cargo bench`; figures are in docs/benchmarks.md.

use std::hint::black_box;

use bytes::Bytes;
use cobrowse::load::mix::EventMix;
use cobrowse::protocol::{
    DeliveredEvent, RecordKind, TrackerEvent, TrackerEventKind, TrackerMessage,
};
use cobrowse::store::frame::{self, Dedup, Event, Reassembler};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_bytes::ByteBuf;

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
    let mix = EventMix::demo();
    let small = event(1, mix.incremental[3].clone());
    let snapshot = event(2, mix.snapshot.concat());
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
                let mut r = Reassembler::new();
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
    let mix = EventMix::demo();
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
