//! A rolling upgrade, replayed in CI from the previous release's recorded store
//! (tests/compat/<release>/store.json; `scripts/record-compat` writes it with that release's
//! binary, see `compat_record.rs`):
//!
//! - a node of this release started on what the old node wrote lists its sessions, serves their
//!   events byte for byte as the old node did, takes its live session over with the fencing
//!   rules, acts on the old node's signals, and keeps the ended session ended;
//! - everything this release would write for the same values holds what the old release wrote
//!   (the envelope byte for byte, every map key with its value; new keys are allowed), so old
//!   nodes and old trackers still read it; a change fails here, with what to do.

use cobrowse::protocol::directory::DirectoryRecord;
use cobrowse::protocol::{
    AgentRecord, GrantKind, PageRecord, RecordKind, ServerMessage, SessionEnd, SessionStart,
    SignalRecord, TrackerMessage, from_msgpack,
};
use cobrowse::store::embedded::EmbeddedS2;
use cobrowse::store::frame::{Event, Reassembler, encode};
use cobrowse::store::location::StoreLocation;
use cobrowse::store::sdk::{SdkBackend, SdkConfig};
use cobrowse::store::{AppendCondition, AppendItem, Backend, BackendError, StreamSettings};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::common::{
    Tracker, WAIT, config, connect, expect_close, get_json, hello, recv, rrweb, send, start,
};
use crate::compat_fixture::{
    BASIN, Fixture, RecordDump, SECRET, decode, export, load, opened, previous, seal_of, sha256,
};

/// What a developer reads when this release stops writing what the previous one reads.
pub const WRITTEN_CHANGED: &str = "this release no longer writes what the previous release \
    wrote for the same values, so nodes and trackers of the previous release may not read it \
    during a rolling upgrade. See docs/protocol.md \"Versioning and upgrades\": keep writing \
    what the previous release reads (add keys, do not rename, retype or drop them), or make the \
    change in two releases, the first reading both forms, the second writing the new one (bump \
    the protocol or envelope version). Re-recording does not help: the fixtures are what the \
    previous release writes";
/// What a developer reads when this release no longer reads what the previous one wrote.
pub const WIRE_CHANGED: &str = "this release no longer reads what the previous release wrote; \
    see docs/protocol.md \"Versioning and upgrades\" (readers must accept the previous \
    release's records and messages)";

const MAX_EVENT_BYTES: usize = 10 * 1024 * 1024;

fn data_records(records: &[RecordDump]) -> impl Iterator<Item = &RecordDump> {
    records.iter().filter(|r| r.command.is_none())
}

/// Whether `ours` still holds all that `theirs` (the previous release's) holds: every key, with
/// the same value. Keys only `ours` has are allowed (older readers ignore them, §13.2).
fn covers(theirs: &Value, ours: &Value, path: &str) -> Result<(), String> {
    match (theirs, ours) {
        (Value::Object(theirs), Value::Object(ours)) => {
            theirs.iter().try_for_each(|(key, value)| {
                let path = format!("{path}.{key}");
                match ours.get(key) {
                    Some(ours) => covers(value, ours, &path),
                    None => Err(format!("{path} is no longer written")),
                }
            })
        }
        (Value::Array(theirs), Value::Array(ours)) if theirs.len() == ours.len() => theirs
            .iter()
            .zip(ours)
            .enumerate()
            .try_for_each(|(i, (theirs, ours))| covers(theirs, ours, &format!("{path}[{i}]"))),
        _ if theirs == ours => Ok(()),
        _ => Err(format!("{path} was {theirs}, is now {ours}")),
    }
}

fn assert_covers(what: &str, theirs: Value, ours: Value) {
    if let Err(change) = covers(&theirs, &ours, "") {
        panic!("{what}: {change}. {WRITTEN_CHANGED}");
    }
}

/// A JSON body of the previous release, read as this release's `T` and written again.
fn same_json<T: DeserializeOwned + Serialize>(what: &str, bytes: &[u8]) {
    let value: T = serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{what} of the previous release: {e}. {WIRE_CHANGED}"));
    let theirs: Value = serde_json::from_slice(bytes).unwrap();
    assert_covers(what, theirs, serde_json::to_value(&value).unwrap());
}

/// A MessagePack map of the previous release, read as this release's `T` and written again.
fn same_msgpack<T: DeserializeOwned + Serialize>(what: &str, bytes: &[u8]) -> T {
    let value: T = from_msgpack(bytes).unwrap_or_else(|e| panic!("{what}: {e}. {WIRE_CHANGED}"));
    let again = rmp_serde::to_vec_named(&value).unwrap();
    let theirs: Value = rmp_serde::from_slice(bytes).expect("a map of plain values");
    assert_covers(what, theirs, rmp_serde::from_slice(&again).unwrap());
    value
}

/// The `type` a tagged enum value is written with.
fn type_of(value: &impl Serialize) -> String {
    serde_json::to_value(value).unwrap()["type"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The envelope as docs/protocol.md §6.2 documents it, read the way the previous release's
/// decoder reads it (a 9-element array), independently of this release's frame module.
type Envelope = (
    u8,
    String,
    String,
    u64,
    u64,
    u32,
    u32,
    String,
    serde_bytes::ByteBuf,
);

fn envelope(what: &str, body: &[u8]) -> Envelope {
    rmp_serde::from_slice(body).unwrap_or_else(|e| panic!("{what}: {e}. {WRITTEN_CHANGED}"))
}

/// Two records of one event are the same to a reader: equal envelopes, compressed bodies
/// compared decompressed (another zstd build may pack the same bytes differently).
fn same_record(what: &str, ours: &[u8], theirs: &[u8]) {
    if ours == theirs {
        return;
    }
    let (mut a, mut b) = (envelope(what, ours), envelope(what, theirs));
    if a.7 == "zstd" && b.7 == "zstd" {
        a.8 = serde_bytes::ByteBuf::from(zstd::decode_all(&a.8[..]).unwrap());
        b.8 = serde_bytes::ByteBuf::from(zstd::decode_all(&b.8[..]).unwrap());
    }
    assert!(
        a == b,
        "{what}: the record envelope changed. {WRITTEN_CHANGED}"
    );
}

#[test]
fn this_release_writes_what_the_previous_release_wrote() {
    let fixture = Fixture::read(previous());
    let mut kinds = std::collections::BTreeSet::new();
    let mut split = false;
    for stream in fixture
        .streams
        .iter()
        .filter(|s| s.name.starts_with("sessions/"))
    {
        let records: Vec<&RecordDump> = data_records(&stream.records).collect();
        let mut reader = Reassembler::new(MAX_EVENT_BYTES);
        let mut first = 0;
        for (i, record) in records.iter().enumerate() {
            let what = format!("{} record {}", stream.name, record.seq_num);
            let event = reader
                .push(record.seq_num, record.timestamp, &record.body())
                .unwrap_or_else(|e| panic!("{what}: {e}. {WIRE_CHANGED}"));
            let Some(stored) = event else { continue };
            let Event { kind, ref body, .. } = stored.event;
            kinds.insert(kind.as_str());
            let written = encode(&stored.event);
            let theirs = &records[first..=i];
            assert_eq!(
                written.len(),
                theirs.len(),
                "{what}: parts. {WRITTEN_CHANGED}"
            );
            split |= theirs.len() > 1;
            for (ours, theirs) in written.iter().zip(theirs) {
                same_record(&what, ours, &theirs.body());
            }
            match kind {
                RecordKind::Start => same_json::<SessionStart>(&what, body),
                RecordKind::Page => same_json::<PageRecord>(&what, body),
                RecordKind::End => same_json::<SessionEnd>(&what, body),
                RecordKind::Agent => same_json::<AgentRecord>(&what, body),
                _ => {}
            }
            first = i + 1;
        }
    }
    assert!(split, "the fixture holds an event split into parts");
    for kind in [
        "start", "page", "rrweb", "identify", "metadata", "agent", "end",
    ] {
        assert!(
            kinds.contains(kind),
            "the fixture holds {kind} records: {kinds:?}"
        );
    }

    let mut signals = std::collections::BTreeSet::new();
    let mut directory = std::collections::BTreeSet::new();
    for stream in fixture
        .streams
        .iter()
        .filter(|s| s.name.starts_with("cluster/"))
    {
        let Some(seal) = seal_of(&stream.name, SECRET) else {
            continue;
        };
        for record in data_records(&stream.records) {
            let what = format!("{} record {}", stream.name, record.seq_num);
            let payload = opened(&seal, &record.body(), record.timestamp);
            if stream.name == "cluster/signals" {
                let record = same_msgpack::<SignalRecord>(&what, &payload);
                signals.insert(type_of(&record.signal));
            } else {
                let record = same_msgpack::<DirectoryRecord>(&what, &payload);
                directory.insert(type_of(&record));
            }
        }
    }
    for kind in ["joined", "request", "control"] {
        assert!(
            signals.contains(kind),
            "the fixture holds {kind} signals: {signals:?}"
        );
    }
    for kind in ["started", "identity", "ended", "node"] {
        assert!(
            directory.contains(kind),
            "the fixture holds {kind} entries: {directory:?}"
        );
    }

    // What the old node sent its tracker, as this release would send it.
    for (i, frame) in fixture.to_tracker.iter().enumerate() {
        same_msgpack::<ServerMessage>(&format!("message {i} to the tracker"), &decode(frame));
    }
}

/// The store at `endpoint`, as a node reaches it.
async fn backend(endpoint: &str) -> SdkBackend {
    SdkBackend::connect(
        &SdkConfig {
            endpoint: Some(endpoint.to_string()),
            token: "compat".into(),
            basin: BASIN.into(),
        },
        StreamSettings {
            retention: std::time::Duration::from_secs(3600),
            delete_on_empty_after: std::time::Duration::from_secs(3600),
        },
    )
    .await
    .expect("the store answers")
}

/// A session of the list, as the API gives it, without what depends on the time it is read.
fn listed(list: &serde_json::Value, id: &str) -> serde_json::Value {
    let mut summary = list["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("session {id} is listed: {list}"))
        .clone();
    let fields = summary.as_object_mut().unwrap();
    for volatile in ["live", "last_activity_ms", "tabs", "call"] {
        fields.remove(volatile);
    }
    summary
}

#[tokio::test]
async fn a_node_of_this_release_takes_over_from_the_previous_release() {
    let fixture = Fixture::read(previous());
    let store = EmbeddedS2::start(&StoreLocation::Memory, ([127, 0, 0, 1], 0).into())
        .await
        .expect("store starts");
    let shift_ms = cobrowse::clock::now_ms() - fixture.newest_ms();
    load(&fixture, &store.endpoint(), SECRET, shift_ms).await;

    let mut node_config = config();
    node_config.secret = SECRET.into();
    node_config.s2_endpoint = Some(store.endpoint());
    node_config.node_id = "new-node".into();
    let node = start(node_config).await;

    // The session list: both old sessions, as the old node listed them.
    let (live, ended) = (&fixture.live, &fixture.ended);
    let deadline = tokio::time::Instant::now() + WAIT;
    let list = loop {
        let list = get_json(&node, "/api/v1/sessions?status=any").await;
        let ids = list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].clone());
        if ids
            .filter(|id| *id == *live.session_id || *id == *ended.session_id)
            .count()
            == 2
        {
            break list;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old sessions are listed: {list}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    for id in [&live.session_id, &ended.session_id] {
        let mut theirs = listed(&fixture.list, id);
        let mut ours = listed(&list, id);
        // Timestamps moved with the store.
        for summary in [&mut theirs, &mut ours] {
            summary.as_object_mut().unwrap().remove("ended_ms");
        }
        assert_eq!(ours, theirs, "session {id} as the old node listed it");
    }
    assert_eq!(listed(&list, &ended.session_id)["end_reason"], "ended");
    assert_eq!(
        listed(&list, &live.session_id)["metadata"]["seats"],
        "3",
        "read from the old node's directory entries (the stream's start record does not say it)"
    );

    // Their events, byte for byte.
    for id in [&live.session_id, &ended.session_id] {
        let ours = export(&node, id).await;
        let theirs = fixture.export(id);
        assert_eq!(
            (ours.len(), sha256(ours.as_bytes())),
            (theirs.bytes, theirs.sha256.clone()),
            "the events of {id}, as the old node exported them"
        );
    }

    // The live session's tracker reconnects here: this node claims the stream and fences the old
    // node out.
    let mut tracker = Tracker::open(&node, Some(live.token.clone()), &live.tab).await;
    tracker.write(vec![rrweb(live.last_seq + 1)]).await;
    let stream = &fixture.session_stream(&live.session_id).name;
    let old_token = fixture
        .session_stream(&live.session_id)
        .records
        .iter()
        .rev()
        .find(|r| r.command.as_deref() == Some("fence"))
        .map(|r| String::from_utf8(r.body()).unwrap())
        .expect("the old node's claim");
    let backend = backend(&store.endpoint()).await;
    let late = backend
        .append(
            stream,
            vec![AppendItem::Data {
                body: encode(&Event::server(
                    RecordKind::Heartbeat,
                    &serde_json::json!({}),
                ))[0]
                    .clone(),
                timestamp: None,
            }],
            AppendCondition {
                fencing_token: Some(old_token),
                match_seq_num: None,
            },
        )
        .await;
    assert!(
        matches!(late, Err(BackendError::FencingMismatch)),
        "the old node is fenced out: {late:?}"
    );
    // The export is `[old events,new event]`: the old node's bytes up to its `]`, then ours.
    let after = export(&node, &live.session_id).await;
    let theirs = fixture.export(&live.session_id);
    let (old_part, new_part) = after.split_at(theirs.bytes - 1);
    assert_eq!(
        sha256(format!("{old_part}]").as_bytes()),
        theirs.sha256,
        "the old events first"
    );
    let new_event: serde_json::Value =
        serde_json::from_str(&new_part[1..new_part.len() - 1]).unwrap();
    assert_eq!(
        new_event["timestamp"],
        live.last_seq + 1,
        "then the one sent here"
    );

    // The old node's signals: its agent's `joined` asks this tracker for a snapshot, its control
    // request prompts the user. They are appended again, signed now, as the old node would.
    let seal = seal_of("cluster/signals", SECRET).unwrap();
    let signals = fixture.stream("cluster/signals");
    for wanted in ["joined", "request"] {
        let (record, payload) = data_records(&signals.records)
            .map(|r| (r, opened(&seal, &r.body(), r.timestamp)))
            .find(|(_, payload)| {
                let record: SignalRecord = from_msgpack(payload).unwrap();
                record.session.to_string() == live.session_id && type_of(&record.signal) == wanted
            })
            .unwrap_or_else(|| panic!("the old node's {wanted} signal"));
        let _ = record;
        backend
            .append(
                "cluster/signals",
                vec![AppendItem::Data {
                    body: seal.seal(&payload, cobrowse::clock::now_ms()),
                    timestamp: None,
                }],
                AppendCondition::default(),
            )
            .await
            .unwrap();
    }
    let mut resynced = false;
    loop {
        match recv(&mut tracker.ws).await {
            Ok(ServerMessage::Resync) => resynced = true,
            Ok(ServerMessage::ConsentRequest { kind, agent, .. }) => {
                assert_eq!(kind, GrantKind::Control);
                assert_eq!(agent.name, "alice", "the prompt names the old node's agent");
                break;
            }
            Ok(_) => continue,
            Err(close) => panic!("the tracker was closed: {close:?}"),
        }
    }
    assert!(
        resynced,
        "the old node's agent joining asked for a snapshot"
    );

    // The ended session stays ended.
    let mut gone = connect(&node).await;
    send(
        &mut gone,
        &TrackerMessage::Hello(hello(Some(ended.token.clone()), &ended.tab)),
    )
    .await;
    assert_eq!(expect_close(&mut gone).await.0, 4010);
}

#[test]
fn the_check_allows_new_keys_and_nothing_else() {
    let old = serde_json::json!({"reason": "idle", "at": [1, {"x": null}]});
    let added = serde_json::json!({"reason": "idle", "at": [1, {"x": null, "y": 2}], "by": "a"});
    assert_eq!(covers(&old, &added, ""), Ok(()));
    let changed = serde_json::json!({"reason": "timeout", "at": [1, {"x": null}]});
    assert_eq!(
        covers(&old, &changed, ""),
        Err(r#".reason was "idle", is now "timeout""#.into())
    );
    let dropped = serde_json::json!({"reason": "idle", "at": [1, {}]});
    assert_eq!(
        covers(&old, &dropped, ""),
        Err(".at[1].x is no longer written".into())
    );
    let longer = serde_json::json!({"reason": "idle", "at": [1, {"x": null}, 2]});
    assert!(covers(&old, &longer, "").is_err());
}

/// What a reader of this release does with records of a newer one (the rules of docs/protocol.md
/// "Versioning and upgrades" that the next release relies on): a record of an unknown kind or
/// envelope version, or an envelope with more elements, is skipped alone, and the events around
/// it are still read; unknown keys of a signal or a directory entry are ignored.
#[test]
fn a_reader_skips_what_a_newer_release_adds() {
    let event = |seq: u64| Event {
        kind: RecordKind::Rrweb,
        tab: "t".into(),
        seq,
        ts: seq,
        body: bytes::Bytes::from_static(br#"{"type":3}"#),
    };
    let newer = |version: u8, kind: &str, extra: Option<&str>| {
        let body = serde_bytes::ByteBuf::from(br#"{}"#.to_vec());
        match extra {
            None => rmp_serde::to_vec(&(version, kind, "", 0u64, 0u64, 0u32, 1u32, "raw", body)),
            Some(more) => {
                rmp_serde::to_vec(&(version, kind, "", 0u64, 0u64, 0u32, 1u32, "raw", body, more))
            }
        }
        .unwrap()
    };
    let records = [
        encode(&event(1))[0].to_vec(),
        newer(1, "bookmark", None),
        newer(2, "rrweb", None),
        newer(1, "heartbeat", Some("a new element")),
        encode(&event(2))[0].to_vec(),
    ];
    let mut reader = Reassembler::new(MAX_EVENT_BYTES);
    let read: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(i, body)| {
            reader
                .push(i as u64, 0, body)
                .map(|e| e.map(|e| e.event.seq))
        })
        .collect();
    assert_eq!(read[0], Ok(Some(1)));
    assert!(read[1..4].iter().all(Result::is_err), "skipped: {read:?}");
    assert_eq!(read[4], Ok(Some(2)), "the next event is read");

    // A signal with a field this release does not know.
    let record = serde_json::json!({
        "session": cobrowse::protocol::SessionId::new().to_string(),
        "agent": {"id": "a1", "name": "alice", "avatar": "https://example.com/a.png"},
        "node": "node-b",
        "signal": {"type": "request", "kind": "control", "priority": 3},
        "trace": "x",
    });
    let bytes = rmp_serde::to_vec_named(&record).unwrap();
    let signal: SignalRecord = from_msgpack(&bytes).expect("unknown keys are ignored");
    assert_eq!(type_of(&signal.signal), "request");
}

/// An `end` record whose body this release cannot read (a reason a newer release added) still
/// ends the session: no node of this release resumes it, which would append after the end.
#[tokio::test]
async fn a_session_a_newer_release_ended_stays_ended() {
    let store = EmbeddedS2::start(&StoreLocation::Memory, ([127, 0, 0, 1], 0).into())
        .await
        .expect("store starts");
    let mut node_config = config();
    node_config.s2_endpoint = Some(store.endpoint());
    let a = start(node_config.clone()).await;
    let mut tracker = Tracker::open(&a, None, "t-1").await;
    tracker.write(vec![rrweb(1)]).await;
    let token = tracker.token.clone();
    drop(tracker);
    a.stop().await;

    // A node of a newer release ends it with a reason this one does not know, and seals it.
    let backend = backend(&store.endpoint()).await;
    let (streams, _) = backend.list_streams("sessions/", None, 10).await.unwrap();
    let end = Event {
        kind: RecordKind::End,
        tab: String::new(),
        seq: 0,
        ts: cobrowse::clock::now_ms(),
        body: bytes::Bytes::from_static(br#"{"reason":"erased_on_request","ended_ms":1}"#),
    };
    backend
        .append(
            &streams[0],
            vec![
                AppendItem::Data {
                    body: encode(&end)[0].clone(),
                    timestamp: None,
                },
                AppendItem::Fence {
                    token: "sealed-by-a-newer-release".into(),
                    timestamp: None,
                },
            ],
            AppendCondition::default(),
        )
        .await
        .unwrap();

    node_config.node_id = "node-b".into();
    let b = start(node_config).await;
    let mut resumed = connect(&b).await;
    send(
        &mut resumed,
        &TrackerMessage::Hello(hello(Some(token), "t-1")),
    )
    .await;
    assert_eq!(
        expect_close(&mut resumed).await.0,
        4010,
        "the session stays ended"
    );
}
