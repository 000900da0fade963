//! Signals from agents to the page, with the agent and the tracker on different `cobrowse serve`
//! processes sharing one s2-lite (no sticky routing): resync, consent, control forwarded only
//! under a grant the tracker reported, and every decision in the session's record.
//!
//! "Never reaches the tracker" is checked by order, not by waiting: signals of one agent travel
//! in order, so once a later `resync` from the same agent arrives, an earlier refused input
//! would already have arrived if it had been forwarded.

use std::time::{Duration, Instant};

use cobrowse::clock::now_ms;
use cobrowse::protocol::{
    AgentAction, AgentMessage, AgentRecord, AgentRef, ControlInput, GrantKind, NavigateTo,
    RecordKind, ServerMessage, Signal, SignalRecord, Stroke, StrokeTool, TrackerMessage,
};
use cobrowse::signal::seal::SignalSeal;
use cobrowse::store::sdk::SdkConfig;
use cobrowse::store::stream::Store;
use futures::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use crate::cluster::{self, BOB_TOKEN, MALLORY_TOKEN};
use crate::common::*;

pub async fn send_signal(ws: &mut Ws, signal: &Signal) {
    let bytes = rmp_serde::to_vec_named(signal).unwrap();
    ws.send(Message::Binary(bytes.into()))
        .await
        .expect("agent sends");
}

/// The agent's first message: who the session's records will say it is.
async fn joined(ws: &mut Ws) -> AgentRef {
    match agent_recv(ws).await {
        Some(AgentMessage::Joined { agent }) => agent,
        other => panic!("expected joined first, got {other:?}"),
    }
}

/// Tracker messages up to and including the first that `stop` accepts (acks left out).
async fn until(tracker: &mut Tracker, stop: impl Fn(&ServerMessage) -> bool) -> Vec<ServerMessage> {
    let mut seen = Vec::new();
    loop {
        match recv(&mut tracker.ws).await {
            Ok(ServerMessage::Ack { .. }) => {}
            Ok(message) => {
                let done = stop(&message);
                seen.push(message);
                if done {
                    return seen;
                }
            }
            Err(close) => panic!("tracker closed while waiting: {close:?}; saw {seen:?}"),
        }
    }
}

fn is_resync(m: &ServerMessage) -> bool {
    matches!(m, ServerMessage::Resync)
}

/// Sends `resync` after whatever the agent sent, and returns what reached the tracker meanwhile.
async fn flush(agent: &mut Ws, tracker: &mut Tracker) -> Vec<ServerMessage> {
    send_signal(agent, &Signal::Resync).await;
    until(tracker, is_resync).await
}

/// The next `agent` record an agent sees that `want` accepts.
async fn record_where(ws: &mut Ws, want: impl Fn(&AgentRecord) -> bool) -> AgentRecord {
    loop {
        match agent_recv(ws).await {
            Some(AgentMessage::Events { events }) => {
                for event in events.iter().filter(|e| e.kind == RecordKind::Agent) {
                    let record: AgentRecord = serde_json::from_slice(&event.data).unwrap();
                    if want(&record) {
                        return record;
                    }
                }
            }
            Some(_) => {}
            None => panic!("agent connection closed before the record arrived"),
        }
    }
}

/// The `error` of the next error message the agent gets (what the agent was told goes on).
async fn next_error(ws: &mut Ws) -> String {
    loop {
        match agent_recv(ws).await {
            Some(AgentMessage::Error { error, .. }) => return error,
            Some(_) => continue,
            None => panic!("connection closed on a bad frame"),
        }
    }
}

fn ask(kind: GrantKind) -> Signal {
    Signal::Request { kind, video: false }
}

/// Fails if anything in `seen` is what `forwarded` accepts: it reached the tracker and must not.
fn assert_none(seen: &[ServerMessage], forwarded: impl Fn(&ServerMessage) -> bool) {
    assert!(!seen.iter().any(forwarded), "{seen:?}");
}

fn click(id: u64) -> Signal {
    Signal::Control {
        tab: "tab-1".into(),
        input: ControlInput::Click {
            id,
            x: 10.0,
            y: 20.0,
        },
    }
}

fn arrow() -> Signal {
    Signal::Stroke {
        tab: "tab-1".into(),
        stroke: Stroke {
            id: "s1".into(),
            tool: StrokeTool::Arrow,
            color: "#ff0000".into(),
            points: vec![[0.0, 0.0], [100.0, 50.0]],
        },
    }
}

/// Asks for `kind` and has the user accept in the tracker; returns once the agent sees the grant.
async fn grant(agent: &mut Ws, me: &AgentRef, tracker: &mut Tracker, kind: GrantKind) {
    send_signal(agent, &ask(kind)).await;
    let seen = until(tracker, |m| {
        matches!(m, ServerMessage::ConsentRequest { .. })
    })
    .await;
    let Some(ServerMessage::ConsentRequest {
        request_id,
        kind: asked,
        agent: asker,
        ..
    }) = seen.last().cloned()
    else {
        unreachable!()
    };
    assert_eq!(
        (asked, &asker),
        (kind, me),
        "the prompt names the agent and what it asks"
    );
    send(
        &mut tracker.ws,
        &TrackerMessage::Consent {
            request_id,
            granted: true,
            reason: None,
        },
    )
    .await;
    let seen = until(
        tracker,
        |m| matches!(m, ServerMessage::Grants { grants } if !grants.is_empty()),
    )
    .await;
    let Some(ServerMessage::Grants { grants }) = seen.last() else {
        unreachable!()
    };
    assert!(grants.iter().any(|g| g.kind == kind && &g.agent == me));
    record_where(agent, |r| {
        matches!(r.action, AgentAction::Granted { kind: k, .. } if k == kind) && &r.agent == me
    })
    .await;
}

/// A store, two nodes on it, and a tracker on the first that wrote one event.
async fn two_nodes_and_a_tracker() -> (
    cluster::Process,
    cluster::Process,
    cluster::Process,
    Tracker,
) {
    let store = cluster::store().await;
    let a = cluster::node(&store, "node-a").await;
    let b = cluster::node(&store, "node-b").await;
    let mut t = Tracker::open(&a, None, "tab-1").await;
    t.write(vec![rrweb(1)]).await;
    (store, a, b, t)
}

/// An agent joins live; returns once its joining asked the tracker for a fresh snapshot (and
/// told it someone watches, so it batches for live viewing).
async fn join(node: &impl Node, token: &str, tracker: &mut Tracker) -> (Ws, AgentRef) {
    let mut ws = agent_with(node, token, &tracker.session_id, "from=live").await;
    let me = joined(&mut ws).await;
    let seen = until(tracker, is_resync).await;
    assert!(
        seen.iter()
            .any(|m| matches!(m, ServerMessage::Watching { agents, .. } if *agents >= 1)),
        "{seen:?}"
    );
    (ws, me)
}

fn actions(activity: &serde_json::Value) -> Vec<(String, String)> {
    activity["activity"]
        .as_array()
        .expect("activity is listed")
        .iter()
        .map(|a| {
            (
                a["record"]["agent"]["name"].as_str().unwrap().to_string(),
                a["record"]["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_agent_on_another_process_gets_a_snapshot_asks_consent_and_controls_until_revoked() {
    let (_store, _a, b, mut t) = two_nodes_and_a_tracker().await;
    // Joining asks the tracker on the other process for a fresh snapshot.
    let (mut alice, me) = join(&b, AGENT_TOKEN, &mut t).await;
    assert_eq!(me.name, "alice");

    // Before any grant, input is dropped.
    send_signal(&mut alice, &click(7)).await;
    let seen = flush(&mut alice, &mut t).await;
    assert_none(&seen, |m| matches!(m, ServerMessage::Control { .. }));

    grant(&mut alice, &me, &mut t, GrantKind::Control).await;

    // Granted: input reaches the page, from the other process, in order.
    let mut latencies = Vec::new();
    for id in 0..20 {
        let sent = Instant::now();
        send_signal(&mut alice, &click(id)).await;
        let seen = until(&mut t, |m| matches!(m, ServerMessage::Control { .. })).await;
        latencies.push(sent.elapsed());
        match seen.last() {
            Some(ServerMessage::Control {
                agent_id,
                tab,
                input: ControlInput::Click { id: got, .. },
            }) => {
                assert_eq!((agent_id, tab.as_str(), *got), (&me.id, "tab-1", id));
            }
            other => panic!("expected the click, got {other:?}"),
        }
    }
    latencies.sort();
    println!(
        "signal latency agent -> tracker across processes: p50 {:?}, max {:?} (n={})",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        latencies.len()
    );

    // The user revokes: the very next input is dropped.
    send(
        &mut t.ws,
        &TrackerMessage::Revoke {
            kind: GrantKind::Control,
            agent_id: me.id.clone(),
        },
    )
    .await;
    until(
        &mut t,
        |m| matches!(m, ServerMessage::Grants { grants } if grants.is_empty()),
    )
    .await;
    send_signal(&mut alice, &click(99)).await;
    let seen = flush(&mut alice, &mut t).await;
    assert_none(&seen, |m| matches!(m, ServerMessage::Control { .. }));

    // Who did what, on the record, readable from either process.
    record_where(&mut alice, |r| {
        matches!(r.action, AgentAction::Dropped { .. })
    })
    .await;
    let detail = get_json(&b, &format!("/api/v1/sessions/{}", t.session_id)).await;
    let trail = actions(&detail);
    let alice_did: Vec<&str> = trail
        .iter()
        .filter(|(who, _)| who == "alice")
        .map(|(_, what)| what.as_str())
        .collect();
    assert_eq!(alice_did[0], "joined");
    assert_eq!(
        alice_did[1], "dropped",
        "input before a grant is recorded as dropped"
    );
    assert_eq!(&alice_did[2..4], ["requested", "granted"]);
    assert_eq!(alice_did.iter().filter(|a| **a == "control").count(), 20);
    let revoked = alice_did
        .iter()
        .position(|a| *a == "revoked")
        .expect("revoke recorded");
    assert!(alice_did[revoked..].contains(&"dropped"));
    assert_eq!(detail["live"], true);
    // A caller that only refreshes the summary can skip reading the stream.
    let summary = get_json(
        &b,
        &format!("/api/v1/sessions/{}?activity=false", t.session_id),
    )
    .await;
    assert_eq!(summary["activity"], serde_json::json!([]));
    assert_eq!(summary["live"], true);
}

#[tokio::test]
async fn one_agent_controls_at_a_time_declines_hold_and_grants_end_when_the_agent_leaves() {
    let (_store, a, b, mut t) = two_nodes_and_a_tracker().await;
    let (mut alice, alice_ref) = join(&b, AGENT_TOKEN, &mut t).await;
    grant(&mut alice, &alice_ref, &mut t, GrantKind::Control).await;

    // Bob, on the tracker's own process, is told "busy" and the user is not asked.
    let (mut bob, bob_ref) = join(&a, BOB_TOKEN, &mut t).await;
    send_signal(&mut bob, &ask(GrantKind::Control)).await;
    let busy = record_where(&mut bob, |r| {
        r.agent == bob_ref && matches!(r.action, AgentAction::Busy { .. })
    })
    .await;
    assert!(matches!(busy.action, AgentAction::Busy { holder, .. } if holder == alice_ref));
    let seen = flush(&mut bob, &mut t).await;
    assert_none(&seen, |m| matches!(m, ServerMessage::ConsentRequest { .. }));

    // Bob asks to draw; the user declines; his strokes go nowhere.
    send_signal(&mut bob, &ask(GrantKind::Annotate)).await;
    let seen = until(&mut t, |m| {
        matches!(m, ServerMessage::ConsentRequest { .. })
    })
    .await;
    let Some(ServerMessage::ConsentRequest {
        request_id, agent, ..
    }) = seen.last().cloned()
    else {
        unreachable!()
    };
    assert_eq!(agent, bob_ref);
    send(
        &mut t.ws,
        &TrackerMessage::Consent {
            request_id,
            granted: false,
            reason: None,
        },
    )
    .await;
    record_where(&mut bob, |r| {
        matches!(r.action, AgentAction::Declined { .. })
    })
    .await;
    send_signal(&mut bob, &arrow()).await;
    let seen = flush(&mut bob, &mut t).await;
    assert_none(&seen, |m| matches!(m, ServerMessage::Stroke { .. }));

    // Alice's connection ends: her grant ends with it, and the page is told at once.
    alice.close(None).await.unwrap();
    until(
        &mut t,
        |m| matches!(m, ServerMessage::Grants { grants } if grants.is_empty()),
    )
    .await;
    let left = record_where(&mut bob, |r| {
        r.agent == alice_ref && matches!(r.action, AgentAction::Left { .. })
    })
    .await;
    assert!(
        matches!(left.action, AgentAction::Left { watchers, .. } if watchers == vec![bob_ref.clone()])
    );

    // Now bob may ask for control, and the user is asked.
    send_signal(&mut bob, &ask(GrantKind::Control)).await;
    until(
        &mut t,
        |m| matches!(m, ServerMessage::ConsentRequest { agent, .. } if *agent == bob_ref),
    )
    .await;

    let trail = actions(&get_json(&a, &format!("/api/v1/sessions/{}", t.session_id)).await);
    let expect = [
        ("alice", "ended"),
        ("alice", "left"),
        ("bob", "busy"),
        ("bob", "declined"),
        ("bob", "dropped"),
    ];
    for (who, what) in expect {
        assert!(
            trail.iter().any(|(w, a)| w == who && a == what),
            "{who} {what} missing from {trail:?}"
        );
    }
}

#[tokio::test]
async fn a_grant_ends_at_once_when_the_agent_s_server_shuts_down() {
    let (_store, _a, b, mut t) = two_nodes_and_a_tracker().await;
    let (mut alice, me) = join(&b, AGENT_TOKEN, &mut t).await;
    grant(&mut alice, &me, &mut t, GrantKind::Control).await;
    let stopping = Instant::now();
    b.terminate().await;
    // The page is told when the agent's node says it left, not when its 45 s lease runs out,
    // and that nobody watches any more.
    let seen = until(
        &mut t,
        |m| matches!(m, ServerMessage::Grants { grants } if grants.is_empty()),
    )
    .await;
    assert!(
        seen.iter()
            .any(|m| matches!(m, ServerMessage::Watching { agents: 0, .. })),
        "{seen:?}"
    );
    assert!(
        stopping.elapsed() < Duration::from_secs(20),
        "took {:?}",
        stopping.elapsed()
    );
}

#[tokio::test]
async fn forged_input_never_reaches_the_tracker_whoever_sends_it() {
    let (store, a, b, mut t) = two_nodes_and_a_tracker().await;

    // A modified console with no grant floods input and strokes.
    let (mut mallory, mallory_ref) = join(&b, MALLORY_TOKEN, &mut t).await;
    for id in 0..30 {
        send_signal(&mut mallory, &click(id)).await;
    }
    for _ in 0..10 {
        send_signal(&mut mallory, &arrow()).await;
    }
    let seen = flush(&mut mallory, &mut t).await;
    assert_none(&seen, |m| {
        matches!(
            m,
            ServerMessage::Control { .. } | ServerMessage::Stroke { .. }
        )
    });

    // Presence is the node's to say: an agent cannot claim to have left (or joined).
    send_signal(&mut mallory, &Signal::Left).await;
    assert_eq!(next_error(&mut mallory).await, "malformed");

    // A grant belongs to one agent connection: after alice left, a signal forged in her name
    // straight into the signal stream (a compromised node, say) is dropped too.
    let (mut alice, alice_ref) = join(&b, AGENT_TOKEN, &mut t).await;
    grant(&mut alice, &alice_ref, &mut t, GrantKind::Control).await;
    alice.close(None).await.unwrap();
    until(
        &mut t,
        |m| matches!(m, ServerMessage::Grants { grants } if grants.is_empty()),
    )
    .await;
    let sdk = SdkConfig {
        endpoint: Some(store.url.clone()),
        token: "s2-lite".into(),
        basin: "cobrowse".into(),
    };
    let store_client = Store::connect(&sdk, Duration::from_secs(3600))
        .await
        .unwrap();
    let record = SignalRecord {
        session: t.session_id.parse().unwrap(),
        agent: alice_ref.clone(),
        node: "node-b".into(),
        signal: click(1),
    };
    let signed = SignalSeal::new(b"shared-test-secret").seal(&record, now_ms());
    store_client
        .signal_stream()
        .await
        .unwrap()
        .append(vec![signed])
        .await
        .unwrap();
    // The resync (from an agent still there, appended after) shows the click was handled first.
    let seen = flush(&mut mallory, &mut t).await;
    assert_none(&seen, |m| matches!(m, ServerMessage::Control { .. }));

    // Every refused message is counted on the record, in at most one record a second per kind.
    let session = t.session_id.clone();
    let deadline = Instant::now() + WAIT;
    loop {
        let trail = get_json(&a, &format!("/api/v1/sessions/{session}")).await;
        let dropped: u64 = trail["activity"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["record"]["agent"]["id"] == mallory_ref.id.as_str())
            .filter(|a| a["record"]["action"] == "dropped")
            .map(|a| a["record"]["count"].as_u64().unwrap())
            .sum();
        if dropped == 40 {
            break;
        }
        assert!(dropped < 40, "more drops recorded than sent: {dropped}");
        assert!(
            Instant::now() < deadline,
            "only {dropped} of 40 drops recorded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn bad_agent_frames_are_answered_with_an_error_and_the_connection_goes_on() {
    let server = start(config()).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write(vec![rrweb(1)]).await;
    let mut alice = agent(&server, &t.session_id, "from=live").await;
    joined(&mut alice).await;

    let cases: Vec<(Message, &str)> = vec![
        (Message::Text("hello".into()), "malformed"),
        (Message::Binary(vec![0xc1].into()), "malformed"),
        (
            Message::Binary(rmp_serde::to_vec_named(&serde_json::json!({"type": "control", "tab": "tab-1", "input": {"action": "key", "key": "F13"}})).unwrap().into()),
            "malformed",
        ),
        (Message::Binary(vec![0u8; 70 * 1024].into()), "too_big"),
    ];
    for (frame, expected) in cases {
        alice.send(frame).await.unwrap();
        assert_eq!(next_error(&mut alice).await, expected);
    }
    // Still served: a request goes through to the page.
    send_signal(&mut alice, &ask(GrantKind::Annotate)).await;
    until(&mut t, |m| {
        matches!(m, ServerMessage::ConsentRequest { .. })
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_grant_survives_a_navigation_and_input_no_page_got_is_not_recorded_as_done() {
    let server = start(config()).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write(vec![rrweb(1)]).await;
    let (mut alice, me) = join(&server, AGENT_TOKEN, &mut t).await;
    grant(&mut alice, &me, &mut t, GrantKind::Control).await;

    // The page navigates: its connection closes before the next page's opens.
    let token = t.token.clone();
    t.ws.close(None).await.unwrap();
    expect_close(&mut t.ws).await;
    let deadline = Instant::now() + WAIT;
    while server.metrics().tracker_connections.get() > 0 {
        assert!(
            Instant::now() < deadline,
            "the tracker connection never closed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    send_signal(&mut alice, &click(1)).await;
    let dropped = record_where(&mut alice, |r| {
        matches!(r.action, AgentAction::Dropped { .. })
    })
    .await;
    assert!(
        matches!(&dropped.action, AgentAction::Dropped { reason, .. } if reason == "no_page"),
        "{dropped:?}"
    );

    // The next page is told the grant still holds, and input reaches it.
    let mut next = Tracker::open(&server, Some(token), "tab-1").await;
    until(
        &mut next,
        |m| matches!(m, ServerMessage::Grants { grants } if grants.iter().any(|g| g.agent == me)),
    )
    .await;
    send_signal(&mut alice, &click(2)).await;
    let seen = until(&mut next, |m| matches!(m, ServerMessage::Control { .. })).await;
    assert!(matches!(
        seen.last(),
        Some(ServerMessage::Control {
            input: ControlInput::Click { id: 2, .. },
            ..
        })
    ));
    // Input for a tab that is not open is not done either.
    let elsewhere = Signal::Control {
        tab: "tab-closed".into(),
        input: ControlInput::Focus { id: 1 },
    };
    send_signal(&mut alice, &elsewhere).await;
    let seen = flush(&mut alice, &mut next).await;
    assert_none(&seen, |m| matches!(m, ServerMessage::Control { .. }));

    // The session ends, and its grant with it, on the record.
    send(&mut next.ws, &TrackerMessage::End { reason: None }).await;
    expect_close(&mut next.ws).await;
    let trail = actions(&get_json(&server, &format!("/api/v1/sessions/{}", next.session_id)).await);
    let controls = trail.iter().filter(|(_, a)| a == "control").count();
    assert_eq!(
        controls, 1,
        "only the click a page received is recorded as done: {trail:?}"
    );
    let drops = trail.iter().filter(|(_, a)| a == "dropped").count();
    assert_eq!(
        drops, 2,
        "the click between pages and the focus on a closed tab: {trail:?}"
    );
    assert_eq!(
        trail.last(),
        Some(&("alice".to_string(), "ended".to_string())),
        "{trail:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn navigation_reaches_the_page_only_within_its_own_origin() {
    let server = start(config()).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write(vec![rrweb(1)]).await;
    let (mut alice, me) = join(&server, AGENT_TOKEN, &mut t).await;
    grant(&mut alice, &me, &mut t, GrantKind::Control).await;
    let navigate = |url: &str| Signal::Control {
        tab: "tab-1".into(),
        input: ControlInput::Navigate {
            to: NavigateTo::Url,
            url: Some(url.into()),
        },
    };

    // The tracker's page is https://shop.example/cart (common::hello).
    for url in [
        "https://evil.example/",
        "//evil.example/",
        "javascript:alert(1)",
    ] {
        send_signal(&mut alice, &navigate(url)).await;
        let dropped = record_where(&mut alice, |r| {
            matches!(r.action, AgentAction::Dropped { .. })
        })
        .await;
        assert!(
            matches!(&dropped.action, AgentAction::Dropped { what, reason, .. }
                if what == "control" && reason == "other_origin"),
            "{url}: {dropped:?}"
        );
        // One record a second at most per reason: let the next one be written.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    send_signal(&mut alice, &navigate("/checkout")).await;
    let seen = flush(&mut alice, &mut t).await;
    let forwarded: Vec<_> = seen
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Control {
                input: ControlInput::Navigate { url, .. },
                ..
            } => url.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(
        forwarded,
        ["/checkout"],
        "only the same-origin navigation reaches the page"
    );
    server.stop().await;
}

/// The store is reachable by more than the nodes: a record appended straight to the signal
/// stream, unsigned or signed with a guessed secret, is dropped by the node holding the session
/// even when it names an agent that holds a grant; the same input from that agent's own node,
/// signed with the deployment's secret, reaches the page.
#[tokio::test]
async fn a_signal_appended_to_the_store_by_anyone_but_a_node_never_reaches_the_page() {
    let (store, a, b, mut t) = two_nodes_and_a_tracker().await;
    let (mut alice, alice_ref) = join(&b, AGENT_TOKEN, &mut t).await;
    grant(&mut alice, &alice_ref, &mut t, GrantKind::Control).await;

    let record = |id| SignalRecord {
        session: t.session_id.parse().unwrap(),
        agent: alice_ref.clone(),
        node: "node-b".into(),
        signal: click(id),
    };
    let unsigned = bytes::Bytes::from(rmp_serde::to_vec_named(&record(101)).unwrap());
    let guessed = SignalSeal::new(b"guessed-secret").seal(&record(102), now_ms());
    let sdk = SdkConfig {
        endpoint: Some(store.url.clone()),
        token: "s2-lite".into(),
        basin: "cobrowse".into(),
    };
    Store::connect(&sdk, Duration::from_secs(3600))
        .await
        .unwrap()
        .signal_stream()
        .await
        .unwrap()
        .append(vec![unsigned, guessed])
        .await
        .unwrap();

    // Appended after the forged ones, so handled after them.
    send_signal(&mut alice, &click(103)).await;
    let seen = until(&mut t, |m| matches!(m, ServerMessage::Control { .. })).await;
    let Some(ServerMessage::Control {
        input, agent_id, ..
    }) = seen.last()
    else {
        unreachable!()
    };
    assert_eq!(agent_id, &alice_ref.id);
    assert!(
        matches!(input, ControlInput::Click { id: 103, .. }),
        "the first input to reach the page is the signed one: {input:?}"
    );

    let metrics = metrics(&a).await;
    for reason in ["signal_unsigned", "signal_bad_signature"] {
        assert!(
            metrics.contains(&format!("cobrowse_rejected_total{{reason=\"{reason}\"}} 1")),
            "{reason} counted on the session's node:\n{metrics}"
        );
    }
}
