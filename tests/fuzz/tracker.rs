//! The tracker's frames: the first thing the server reads from any visitor's browser, before the
//! project key is checked, so the decoder that must hold up against anyone on the internet.
//! Seeds are every message a tracker sends, with events recorded from the demo page.

use std::collections::BTreeMap;

use arbitrary::Unstructured;
use cobrowse::protocol::{
    DeclineReason, GrantKind, Hello, IceCandidate, PROTOCOL_VERSION, PageInfo, TrackerEvent,
    TrackerEventKind, TrackerMessage, Viewport, tracker_frame,
};
use serde_bytes::ByteBuf;

use crate::engine::{self, Target};
use crate::msgpack::{self, Vocabulary, Writer};

/// The tracker frame decoder under test: what `tracker::connection` calls, the `type` first and
/// then the one message struct it names.
fn decode(frame: &[u8]) -> bool {
    tracker_frame::message_type(frame)
        .and_then(|kind| tracker_frame::decode(kind, frame))
        .is_ok()
}

const VOCABULARY: Vocabulary = Vocabulary {
    types: &TrackerMessage::TYPES,
    fields: &[
        "protocol",
        "project_key",
        "session_token",
        "tab",
        "page",
        "url",
        "referrer",
        "title",
        "user_agent",
        "viewport",
        "width",
        "height",
        "user_id",
        "metadata",
        "events",
        "seq",
        "ts",
        "kind",
        "data",
        "reason",
        "request_id",
        "granted",
        "agent_id",
        "action",
        "audio",
        "video",
        "canvases",
        "sdp",
        "candidate",
        "sdpMid",
        "sdpMLineIndex",
    ],
    words: &[
        "rrweb", "identify", "metadata", "control", "annotate", "call", "record", "declined",
        "timeout", "demo", "tab-1",
    ],
};

/// Events the demo page recorded (`src/load/demo-mix.json`): real rrweb JSON, snapshots included.
pub fn demo_events() -> Vec<Vec<u8>> {
    let events: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../../src/load/demo-mix.json")).expect("the mix");
    events
        .iter()
        .map(|e| serde_json::to_vec(e).expect("JSON"))
        .collect()
}

fn event(seq: u64, kind: TrackerEventKind, data: &[u8]) -> TrackerEvent {
    TrackerEvent {
        seq,
        ts: 1_700_000_000_000 + seq,
        kind,
        data: ByteBuf::from(data),
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let demo = demo_events();
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        project_key: "demo".into(),
        session_token: Some("eyJzIjoiMDE5MyJ9.c2lnbmF0dXJl".into()),
        tab: "tab-1".into(),
        page: PageInfo {
            url: "https://shop.example/cart?item=3".into(),
            referrer: Some("https://search.example/".into()),
            title: Some("Cart".into()),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64)".into(),
            viewport: Viewport {
                width: 1280,
                height: 720,
            },
        },
        user_id: Some("user-42".into()),
        metadata: BTreeMap::from([("plan".into(), "gold".into())]),
        view: Default::default(),
    };
    let mut messages = vec![
        TrackerMessage::Hello(Box::new(hello)),
        TrackerMessage::End {
            reason: Some("user".into()),
        },
        TrackerMessage::Consent {
            request_id: "req-1".into(),
            granted: false,
            reason: Some(DeclineReason::Declined),
        },
        TrackerMessage::Revoke {
            kind: GrantKind::Control,
            agent_id: "alice".into(),
        },
        TrackerMessage::Refused {
            agent_id: "alice".into(),
            action: "click".into(),
            reason: "no such node".into(),
        },
        TrackerMessage::CallJoin {
            audio: true,
            video: false,
            canvases: vec![3, 9],
        },
        TrackerMessage::CallAnswer {
            sdp: crate::webrtc::ANSWER.into(),
        },
        TrackerMessage::CallCandidate {
            candidate: IceCandidate {
                candidate: crate::webrtc::CANDIDATES[0].into(),
                sdp_mid: Some("0".into()),
                sdp_mline_index: Some(0),
            },
        },
        TrackerMessage::Hangup,
        TrackerMessage::Events {
            events: vec![
                event(1, TrackerEventKind::Identify, br#"{"user_id":"u-7"}"#),
                event(2, TrackerEventKind::Metadata, br#"{"metadata":{"a":"b"}}"#),
            ],
        },
    ];
    // Batches of recorded events, the full snapshot among them.
    for (i, batch) in demo.chunks(12).enumerate().take(8) {
        let first = 1 + 12 * i as u64;
        messages.push(TrackerMessage::Events {
            events: batch
                .iter()
                .zip(first..)
                .map(|(data, seq)| event(seq, TrackerEventKind::Rrweb, data))
                .collect(),
        });
    }
    messages
        .iter()
        .map(|m| rmp_serde::to_vec_named(m).expect("tracker messages encode"))
        .collect()
}

fn generate(u: &mut Unstructured) -> arbitrary::Result<Vec<u8>> {
    let mut w = Writer::default();
    if u.ratio(1, 3)? {
        events(u, &mut w)?;
    } else {
        msgpack::message(u, &mut w, &VOCABULARY)?;
    }
    Ok(w.out)
}

/// An `events` batch whose events have the right fields, holding anything.
fn events(u: &mut Unstructured, w: &mut Writer) -> arbitrary::Result<()> {
    w.map(2);
    w.str("type");
    w.str("events");
    w.str("events");
    let n = u.int_in_range(0..=40)?;
    w.array(n);
    for _ in 0..n {
        let extra = u.ratio(1, 8)?;
        w.map(4 + u64::from(extra));
        w.str("seq");
        w.uint(u.arbitrary()?);
        w.str("ts");
        w.uint(u.arbitrary()?);
        w.str("kind");
        w.str(u.choose(&["rrweb", "identify", "metadata", "end"])?);
        w.str("data");
        w.bin(u.arbitrary::<&[u8]>()?);
        if extra {
            w.str(u.arbitrary::<&str>()?);
            msgpack::value(u, w, &VOCABULARY, 2)?;
        }
    }
    Ok(())
}

#[test]
fn tracker_frames_never_panic_or_allocate_out_of_proportion() {
    let report = engine::fuzz(Target {
        name: "tracker",
        seeds: seeds(),
        generate,
        run: decode,
    });
    engine::assert_reaches_both("tracker", &report);
}
