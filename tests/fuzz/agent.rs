//! The agent's frames on its live WebSocket: decoded as a `Signal`, then checked the way
//! `agent::live` checks them (only what an agent may send, then each input's own bounds).

use arbitrary::Unstructured;
use cobrowse::protocol::{
    ControlInput, GrantKind, IceCandidate, NavigateTo, Signal, Stroke, StrokeTool, from_msgpack,
};

use crate::engine::{self, Target};
use crate::msgpack::{self, Vocabulary, Writer};

/// The agent frame decoder under test, with the checks that follow it in `agent::live`.
fn decode(frame: &[u8]) -> bool {
    from_msgpack::<Signal>(frame)
        .is_ok_and(|signal| signal.from_agent() && signal.validate().is_ok())
}

const VOCABULARY: Vocabulary = Vocabulary {
    types: &Signal::AGENT_TYPES,
    fields: &[
        "kind",
        "video",
        "audio",
        "tab",
        "input",
        "action",
        "x",
        "y",
        "id",
        "key",
        "value",
        "to",
        "url",
        "stroke",
        "tool",
        "color",
        "points",
        "sdp",
        "candidate",
        "sdpMid",
        "sdpMLineIndex",
        "on",
    ],
    words: &[
        "control",
        "annotate",
        "call",
        "record",
        "move",
        "click",
        "dblclick",
        "scroll",
        "key",
        "input",
        "select",
        "focus",
        "navigate",
        "back",
        "url",
        "pen",
        "arrow",
        "laser",
        "#ff0000",
        "Enter",
        "joined",
        "left",
        "heartbeat",
        "to_agent",
        "tab-1",
    ],
};

fn seeds() -> Vec<Vec<u8>> {
    let control = |input| Signal::Control {
        tab: "tab-1".into(),
        input,
    };
    let signals = [
        Signal::Request {
            kind: GrantKind::Call,
            video: true,
        },
        Signal::Release {
            kind: GrantKind::Annotate,
        },
        control(ControlInput::Move { x: 10.5, y: 20.0 }),
        control(ControlInput::Click {
            id: 42,
            x: 1.0,
            y: 2.0,
        }),
        control(ControlInput::Scroll {
            id: None,
            x: 0.0,
            y: 300.0,
        }),
        control(ControlInput::Key {
            key: "Enter".into(),
            id: Some(7),
        }),
        control(ControlInput::Input {
            id: 9,
            value: "hello".into(),
        }),
        control(ControlInput::Navigate {
            to: NavigateTo::Url,
            url: Some("https://shop.example/help".into()),
        }),
        Signal::Stroke {
            tab: "tab-1".into(),
            stroke: Stroke {
                id: "s1".into(),
                tool: StrokeTool::Arrow,
                color: "#ff8800".into(),
                points: vec![[0.0, 0.0], [10.0, 12.5], [30.0, 40.0]],
            },
        },
        Signal::Resync,
        Signal::CallJoin {
            audio: true,
            video: false,
        },
        Signal::CallAnswer {
            sdp: crate::webrtc::ANSWER.into(),
        },
        Signal::CallCandidate {
            candidate: IceCandidate {
                candidate: crate::webrtc::CANDIDATES[1].into(),
                sdp_mid: Some("1".into()),
                sdp_mline_index: Some(1),
            },
        },
        Signal::Canvas { on: true },
    ];
    signals
        .iter()
        .map(|s| rmp_serde::to_vec_named(s).expect("signals encode"))
        .collect()
}

fn generate(u: &mut Unstructured) -> arbitrary::Result<Vec<u8>> {
    let mut w = Writer::default();
    if u.ratio(1, 3)? {
        // Control input: a tagged enum inside a tagged enum.
        w.map(3);
        w.str("type");
        w.str("control");
        w.str("tab");
        w.str(u.choose(&["tab-1", "", "x"])?);
        w.str("input");
        msgpack::message(u, &mut w, &VOCABULARY)?;
    } else {
        msgpack::message(u, &mut w, &VOCABULARY)?;
    }
    Ok(w.out)
}

#[test]
fn agent_frames_never_panic_or_allocate_out_of_proportion() {
    let report = engine::fuzz(Target {
        name: "agent",
        seeds: seeds(),
        generate,
        run: decode,
    });
    engine::assert_reaches_both("agent", &report);
}
