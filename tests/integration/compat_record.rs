//! Recordings of a previous release, run by `scripts/record-compat` (not by `cargo test`: they
//! need that release's binary in `COBROWSE_OLD_BIN`):
//!
//! - `record_the_previous_release`: the old node, on a store of its own, serves a tracker and an
//!   agent (events, a split event, identify and metadata, a consent request, granted, a control
//!   input, a session ended for good); every record of the store, and what the node answered,
//!   goes to `tests/compat/<release>/store.json` for `compat.rs` to replay in CI.
//! - `the_previous_release_reads_what_this_one_writes`: the other direction, which CI cannot
//!   check without the old binary: this release writes sessions, the old node starts on the same
//!   store, lists them, exports them byte for byte, and takes a live one over.

use std::time::Duration;

use cobrowse::protocol::{
    ControlInput, GrantKind, ServerMessage, Signal, TrackerEvent, TrackerEventKind, TrackerMessage,
};
use cobrowse::store::embedded::EmbeddedS2;
use cobrowse::store::location::StoreLocation;
use futures::{SinkExt, StreamExt};
use serde_bytes::ByteBuf;
use tokio_tungstenite::tungstenite::Message;

use crate::cluster::{Process, spawn_binary};
use crate::common::{
    AGENT_TOKEN, Tracker, WAIT, Ws, agent, agent_recv, config, connect, event_with, expect_close,
    get_json, hello, rrweb, send, start,
};
use crate::compat_fixture::{
    ExportDigest, Fixture, SECRET, TrackerState, dump, encode, export, sha256,
};

fn old_binary() -> String {
    std::env::var("COBROWSE_OLD_BIN")
        .expect("COBROWSE_OLD_BIN: the previous release's cobrowse binary (scripts/record-compat)")
}

fn release() -> String {
    std::env::var("COMPAT_RELEASE").unwrap_or_else(|_| crate::compat_fixture::previous().into())
}

/// The old node on `endpoint`, as a deployment would run it during the upgrade.
async fn old_node(endpoint: &str) -> Process {
    spawn_binary(
        &old_binary(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--s2-endpoint",
            endpoint,
            "--agent-token",
            &format!("alice:{AGENT_TOKEN}"),
            "--secret",
            SECRET,
            "--node-id",
            "old-node",
            // The fixture's tokens must still resume in CI years from now.
            "--session-token-ttl",
            "36500d",
            "--rtc-ports",
            "31820-31829",
        ],
        &[],
        "cobrowse is running at ",
    )
    .await
}

/// A tracker that keeps every message the server sent it, as the bytes that came.
struct Recorded {
    ws: Ws,
    frames: Vec<Vec<u8>>,
}

impl Recorded {
    async fn recv(&mut self) -> ServerMessage {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Ok(Some(Ok(Message::Binary(b)))) => {
                    self.frames.push(b.to_vec());
                    return rmp_serde::from_slice(&b).expect("a server message");
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                other => panic!("tracker connection: {other:?}"),
            }
        }
    }

    async fn until(&mut self, mut want: impl FnMut(&ServerMessage) -> bool) -> ServerMessage {
        loop {
            let message = self.recv().await;
            if want(&message) {
                return message;
            }
        }
    }
}

/// An rrweb event of `len` bytes that does not compress: stored as two parts.
fn large_event(seq: u64, len: usize) -> TrackerEvent {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let payload: String = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                    [(state % 64) as usize],
            )
        })
        .collect();
    event_with(
        seq,
        format!(r#"{{"type":5,"data":{{"tag":"blob","payload":{{"data":"{payload}"}}}},"timestamp":{seq}}}"#)
            .into_bytes(),
    )
}

fn tracker_event(seq: u64, kind: TrackerEventKind, json: &str) -> TrackerEvent {
    TrackerEvent {
        seq,
        ts: 1_700_000_000_000 + seq,
        kind,
        data: ByteBuf::from(json.as_bytes().to_vec()),
    }
}

fn digest(id: &str, export: &str) -> ExportDigest {
    ExportDigest {
        session_id: id.to_string(),
        bytes: export.len(),
        sha256: sha256(export.as_bytes()),
    }
}

#[tokio::test]
#[ignore = "scripts/record-compat runs it with the previous release's binary"]
async fn record_the_previous_release() {
    let store = EmbeddedS2::start(&StoreLocation::Memory, ([127, 0, 0, 1], 0).into())
        .await
        .expect("store starts");
    let old = old_node(&store.endpoint()).await;

    // A session ended for good: its end record and seal.
    let mut ended = Tracker::open(&old, None, "t-ended").await;
    ended.write((1..=3).map(rrweb).collect()).await;
    send(
        &mut ended.ws,
        &TrackerMessage::End {
            reason: Some("done".into()),
        },
    )
    .await;
    assert_eq!(expect_close(&mut ended.ws).await.0, 1000);

    // A live session with every kind of tracker event, a split one among them.
    let mut ws = connect(&old).await;
    send(&mut ws, &TrackerMessage::Hello(hello(None, "t-live"))).await;
    let mut live = Recorded {
        ws,
        frames: Vec::new(),
    };
    let ServerMessage::Welcome {
        session_id,
        session_token,
        ..
    } = live.recv().await
    else {
        panic!("expected welcome");
    };
    let session_id = session_id.to_string();
    let events = vec![
        tracker_event(
            1,
            TrackerEventKind::Rrweb,
            r#"{"type":4,"data":{"href":"https://shop.example/cart","width":1280,"height":720},"timestamp":1}"#,
        ),
        tracker_event(
            2,
            TrackerEventKind::Rrweb,
            r#"{"type":2,"data":{"node":{"type":0,"childNodes":[],"id":1},"initialOffset":{"left":0,"top":0}},"timestamp":2}"#,
        ),
        rrweb(3),
        tracker_event(4, TrackerEventKind::Identify, r#"{"user_id":"user-old"}"#),
        tracker_event(
            5,
            TrackerEventKind::Metadata,
            r#"{"metadata":{"plan":"platinum","seats":3}}"#,
        ),
        large_event(6, 700_000),
        rrweb(7),
    ];
    send(&mut live.ws, &TrackerMessage::Events { events }).await;
    live.until(|m| matches!(m, ServerMessage::Ack { seq: 7 }))
        .await;

    // A second tab of the session resumes with the token: a `page` record, a claimed entry.
    let mut second = Tracker::open(&old, Some(session_token.clone()), "t-second").await;
    second.write(vec![rrweb(1)]).await;
    second.ws.close(None).await.unwrap();

    // An agent on the old node: joined (a resync), a control request the user grants, an input.
    let mut alice = agent(&old, &session_id, "from=live").await;
    live.until(|m| matches!(m, ServerMessage::Resync)).await;
    let request = Signal::Request {
        kind: GrantKind::Control,
        video: false,
    };
    alice
        .send(Message::Binary(
            rmp_serde::to_vec_named(&request).unwrap().into(),
        ))
        .await
        .unwrap();
    let ServerMessage::ConsentRequest { request_id, .. } = live
        .until(|m| matches!(m, ServerMessage::ConsentRequest { .. }))
        .await
    else {
        unreachable!()
    };
    let answer = TrackerMessage::Consent {
        request_id,
        granted: true,
        reason: None,
    };
    send(&mut live.ws, &answer).await;
    live.until(|m| matches!(m, ServerMessage::Grants { grants } if !grants.is_empty()))
        .await;
    let input = Signal::Control {
        tab: "t-live".into(),
        input: ControlInput::Move { x: 10.0, y: 20.0 },
    };
    alice
        .send(Message::Binary(
            rmp_serde::to_vec_named(&input).unwrap().into(),
        ))
        .await
        .unwrap();
    live.until(|m| matches!(m, ServerMessage::Control { .. }))
        .await;
    send(
        &mut live.ws,
        &TrackerMessage::Events {
            events: vec![rrweb(8)],
        },
    )
    .await;
    live.until(|m| matches!(m, ServerMessage::Ack { seq: 8 }))
        .await;
    while agent_recv(&mut alice).await.is_some_and(|m| {
        !matches!(m, cobrowse::protocol::AgentMessage::Events { ref events } if events.iter().any(|e| e.client_seq == 8))
    }) {}

    // What the old node answers, for the new one to match.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let list = get_json(&old, "/api/v1/sessions?status=any").await;
    let exports = vec![
        digest(&session_id, &export(&old, &session_id).await),
        digest(&ended.session_id, &export(&old, &ended.session_id).await),
    ];
    alice.close(None).await.unwrap();
    // A rolling upgrade stops the old node gracefully; its tracker will resume on the new one.
    old.terminate().await;

    let fixture = Fixture {
        release: release(),
        live: TrackerState {
            session_id,
            token: session_token,
            tab: "t-live".into(),
            last_seq: 8,
        },
        ended: TrackerState {
            session_id: ended.session_id.clone(),
            token: ended.token.clone(),
            tab: "t-ended".into(),
            last_seq: 3,
        },
        list,
        exports,
        to_tracker: live.frames.iter().map(|f| encode(f)).collect(),
        streams: dump(&store.endpoint()).await,
    };
    let path = Fixture::path(&fixture.release);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(&fixture).unwrap()).unwrap();
    eprintln!("wrote {}", path.display());
}

#[tokio::test]
#[ignore = "scripts/record-compat runs it with the previous release's binary"]
async fn the_previous_release_reads_what_this_one_writes() {
    let store = EmbeddedS2::start(&StoreLocation::Memory, ([127, 0, 0, 1], 0).into())
        .await
        .expect("store starts");
    let mut new_config = config();
    new_config.secret = SECRET.into();
    new_config.s2_endpoint = Some(store.endpoint());
    new_config.node_id = "new-node".into();
    let new = start(new_config).await;

    let mut ended = Tracker::open(&new, None, "t-ended").await;
    ended
        .write(vec![rrweb(1), large_event(2, 700_000), rrweb(3)])
        .await;
    send(&mut ended.ws, &TrackerMessage::End { reason: None }).await;
    assert_eq!(expect_close(&mut ended.ws).await.0, 1000);
    let mut live = Tracker::open(&new, None, "t-live").await;
    live.write(vec![
        rrweb(1),
        tracker_event(2, TrackerEventKind::Identify, r#"{"user_id":"user-new"}"#),
    ])
    .await;
    let ended_export = export(&new, &ended.session_id).await;
    let live_export = export(&new, &live.session_id).await;
    let (live_id, live_token) = (live.session_id.clone(), live.token.clone());
    drop(live);
    new.stop().await;

    let old = old_node(&store.endpoint()).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let listed = loop {
        let list = get_json(&old, "/api/v1/sessions?status=any").await;
        let ids: Vec<String> = list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        if ids.contains(&ended.session_id) && ids.contains(&live_id) {
            break list;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old node lists {ids:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let summary = |id: &str| {
        listed["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(summary(&ended.session_id)["end_reason"], "ended");
    assert_eq!(summary(&live_id)["user_id"], "user-new");
    assert_eq!(
        export(&old, &ended.session_id).await,
        ended_export,
        "old export of a new session"
    );
    assert_eq!(export(&old, &live_id).await, live_export);

    // The old node takes the live session over, with this release's token.
    let mut resumed = Tracker::open(&old, Some(live_token), "t-live").await;
    resumed.write(vec![rrweb(3)]).await;
    let mut gone = connect(&old).await;
    send(
        &mut gone,
        &TrackerMessage::Hello(hello(Some(ended.token.clone()), "t-ended")),
    )
    .await;
    assert_eq!(
        expect_close(&mut gone).await.0,
        4010,
        "the ended session stays ended"
    );
    old.terminate().await;
    eprintln!("the previous release lists, exports and takes over what this release wrote");
}
