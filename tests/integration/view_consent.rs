//! `view: ask` across two nodes: the tracker on node A, agents on node B. Until the user accepts,
//! node B sends the agent nothing of the page on any route (WebSocket, SSE, REST export of the
//! live session); after Accept it sends it all; a decline keeps it withheld and says so. Every
//! answer is an `agent` record in the session's stream.

use std::time::Duration;

use cobrowse::auth::tokens::StaticToken;
use cobrowse::protocol::{
    AgentAction, AgentMessage, GrantKind, ServerMessage, Signal, TrackerMessage, ViewConsentState,
    ViewMode, close,
};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{
    AGENT_TOKEN, Node, Tracker, WAIT, Ws, agent_recv, agent_with, connect, get_json, hello, http,
    loopback_proxy, recv, rrweb, rrweb_seqs, send, take_sse_blocks,
    two_nodes_on_a_served_store_with, via_proxy,
};

const BOB_TOKEN: &str = "bob-viewer-secret";

/// How long "nothing arrives" is watched for, after the prompt proved the ask went through.
const QUIET: Duration = Duration::from_millis(800);

/// A tracker in `view: ask` on `server`, with events 1..=3 stored.
async fn asking_tracker(server: &impl Node) -> Tracker {
    let mut ws = connect(server).await;
    let mut hello = hello(None, "tab-1");
    hello.view = ViewMode::Ask;
    send(&mut ws, &TrackerMessage::Hello(hello)).await;
    let mut tracker = match recv(&mut ws).await {
        Ok(ServerMessage::Welcome {
            session_id,
            session_token,
            view,
            ..
        }) => {
            assert_eq!(view, Some(ViewMode::Ask), "welcome says the session's mode");
            Tracker {
                ws,
                session_id: session_id.to_string(),
                token: session_token,
            }
        }
        other => panic!("expected welcome, got {other:?}"),
    };
    tracker.write((1..=3).map(rrweb).collect()).await;
    tracker
}

/// The mode a second tab of the session is told in its `welcome`, whatever its page says.
async fn second_tab_mode(server: &impl Node, token: &str) -> Option<ViewMode> {
    let mut ws = connect(server).await;
    let mut hello = hello(Some(token.to_string()), "tab-2");
    hello.view = ViewMode::Notify;
    send(&mut ws, &TrackerMessage::Hello(hello)).await;
    match recv(&mut ws).await {
        Ok(ServerMessage::Welcome { view, .. }) => view,
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// Waits for a `view` prompt naming `name`; its request id.
async fn view_prompt(tracker: &mut Tracker, name: &str) -> String {
    loop {
        match recv(&mut tracker.ws).await {
            Ok(ServerMessage::ConsentRequest {
                request_id,
                kind: GrantKind::View,
                agent,
                ..
            }) if agent.name == name => return request_id,
            Ok(_) => continue,
            Err(close) => panic!("tracker closed while waiting for a prompt: {close:?}"),
        }
    }
}

/// Waits for `resync` (the page's fresh snapshot for the agent the user let in).
async fn wait_resync(tracker: &mut Tracker) {
    loop {
        match recv(&mut tracker.ws).await {
            Ok(ServerMessage::Resync) => return,
            Ok(_) => continue,
            Err(close) => panic!("tracker closed while waiting for resync: {close:?}"),
        }
    }
}

/// Every message the agent gets within `QUIET`; none may be events.
async fn assert_no_events(agent: &mut Ws) {
    let quiet = tokio::time::timeout(QUIET, async {
        loop {
            match agent_recv(agent).await {
                Some(AgentMessage::Events { events }) => {
                    panic!("events before the user accepted: {events:?}")
                }
                Some(
                    call @ (AgentMessage::CallOffer(_)
                    | AgentMessage::CallCandidate { .. }
                    | AgentMessage::CallClosed { .. }),
                ) => panic!("call messages before the user accepted: {call:?}"),
                Some(_) => continue,
                None => panic!("the connection closed while waiting"),
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "the agent waits");
}

/// What an agent waiting for the user tries instead of watching: the page's canvases as video,
/// a control prompt, the call. Each is dropped on the holding node.
async fn try_other_doors(agent: &mut Ws) {
    let doors = [
        Signal::Canvas { on: true },
        Signal::Request {
            kind: GrantKind::Control,
            video: false,
        },
        Signal::CallJoin {
            audio: true,
            video: false,
        },
    ];
    for signal in doors {
        let bytes = rmp_serde::to_vec_named(&signal).unwrap();
        agent.send(Message::Binary(bytes.into())).await.unwrap();
    }
}

/// The page gets neither a prompt other than the view prompt nor a request for its canvases.
async fn assert_page_untouched(tracker: &mut Tracker) {
    let quiet = tokio::time::timeout(QUIET, async {
        loop {
            match recv(&mut tracker.ws).await {
                Ok(
                    message @ (ServerMessage::Canvas { on: true }
                    | ServerMessage::ConsentRequest {
                        kind: GrantKind::Control | GrantKind::Call,
                        ..
                    }),
                ) => panic!("an agent not let in reached the page: {message:?}"),
                Ok(_) => continue,
                Err(close) => panic!("tracker closed: {close:?}"),
            }
        }
    })
    .await;
    assert!(quiet.is_err());
}

/// The agent's first messages: `joined`, then that the user is being asked.
async fn expect_asking(agent: &mut Ws) {
    assert!(matches!(
        agent_recv(agent).await,
        Some(AgentMessage::Joined { .. })
    ));
    assert!(matches!(
        agent_recv(agent).await,
        Some(AgentMessage::ViewConsent {
            state: ViewConsentState::Asking
        })
    ));
}

/// SSE blocks (event name, data) as they arrive, from a task reading the stream.
fn follow_sse(server: &impl Node, session: &str) -> mpsc::UnboundedReceiver<(String, String)> {
    let url = format!(
        "{}/api/v1/sessions/{session}/events/stream?from=beginning",
        server.url()
    );
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let response = http()
            .get(url)
            .bearer_auth(AGENT_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let mut body = response.bytes_stream();
        let mut text = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            for (event, _, data) in take_sse_blocks(&mut text) {
                if tx.send((event, data)).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

fn export_request(server: &impl Node, session: &str) -> reqwest::RequestBuilder {
    http().get(format!(
        "{}/api/v1/sessions/{session}/events?tab=tab-1",
        server.url()
    ))
}

async fn export(server: &impl Node, session: &str) -> reqwest::Response {
    export_request(server, session)
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap()
}

/// The `agent` records of the session, as the session detail lists them.
async fn agent_actions(server: &impl Node, session: &str) -> Vec<(String, AgentAction)> {
    let detail = get_json(server, &format!("/api/v1/sessions/{session}")).await;
    detail["activity"]
        .as_array()
        .expect("activity")
        .iter()
        .filter_map(|item| {
            let record: cobrowse::protocol::AgentRecord =
                serde_json::from_value(item["record"].clone()).ok()?;
            Some((record.agent.name, record.action))
        })
        .collect()
}

#[tokio::test]
async fn an_agent_on_another_node_sees_nothing_of_an_asking_page_until_the_user_accepts() {
    // Bob, a viewer, signs in on node B; so do the users of a trusted proxy.
    let (store, a, b) = two_nodes_on_a_served_store_with(|b| {
        b.agent_tokens.push(
            format!("bob:{BOB_TOKEN}:viewer")
                .parse::<StaticToken>()
                .unwrap(),
        );
        b.agent_proxy = Some(loopback_proxy());
    })
    .await;
    let mut tracker = asking_tracker(&a).await;
    let session = tracker.session_id.clone();

    // Before Accept: the WebSocket, SSE and the REST export on node B give nothing of the page.
    let mut alice = agent_with(&b, AGENT_TOKEN, &session, "from=beginning").await;
    expect_asking(&mut alice).await;
    let mut sse = follow_sse(&b, &session);
    let request = view_prompt(&mut tracker, "alice").await;
    try_other_doors(&mut alice).await;
    assert_page_untouched(&mut tracker).await;
    assert_no_events(&mut alice).await;
    let refused = export(&b, &session).await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("has not let you watch")
    );
    let recording = http()
        .get(format!(
            "{}/api/v1/sessions/{session}/recordings/r1/track-0.ogg",
            b.url()
        ))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(recording.status(), 403, "nor its call recordings");
    let mut sse_before = Vec::new();
    while let Ok(block) = sse.try_recv() {
        sse_before.push(block);
    }
    assert!(
        sse_before.iter().all(|(event, _)| event == "view_consent"),
        "SSE sent only where consent stands: {sse_before:?}"
    );

    // Accept: the page is asked for a fresh snapshot, and everything follows on every route.
    send(
        &mut tracker.ws,
        &TrackerMessage::Consent {
            request_id: request,
            granted: true,
            reason: None,
        },
    )
    .await;
    wait_resync(&mut tracker).await;
    tracker.write(vec![rrweb(4)]).await;
    let mut granted = false;
    let mut seen = Vec::new();
    while !rrweb_seqs(&seen).contains(&4) {
        match agent_recv(&mut alice).await {
            Some(AgentMessage::ViewConsent {
                state: ViewConsentState::Granted,
            }) => granted = true,
            Some(AgentMessage::Events { events }) => {
                assert!(granted, "granted is said before the first event");
                seen.extend(events);
            }
            Some(_) => {}
            None => panic!("closed after Accept"),
        }
    }
    assert_eq!(
        rrweb_seqs(&seen),
        vec![1, 2, 3, 4],
        "from where the agent asked to start"
    );
    let sse_after = tokio::time::timeout(WAIT, async {
        let mut rrweb_events = 0;
        while rrweb_events < 4 {
            let (event, _) = sse.recv().await.expect("SSE goes on");
            if event == "rrweb" {
                rrweb_events += 1;
            }
        }
    })
    .await;
    assert!(sse_after.is_ok(), "SSE delivers the page after Accept");
    let exported = export(&b, &session).await;
    assert_eq!(exported.status(), 200);
    let events: Vec<serde_json::Value> = exported.json().await.unwrap();
    assert_eq!(events.len(), 4);
    // The user let in the agent signed in with the token `alice`, not whoever else signs in as
    // "alice" by another method: the proxy's `alice` is still refused.
    assert_eq!(
        via_proxy(export_request(&b, &session), "alice", None)
            .send()
            .await
            .unwrap()
            .status(),
        403,
        "a namesake from another sign-in method is not let in"
    );

    // Bob (another agent) is asked again; the user declines: he gets a clear refusal, no page.
    let mut bob = agent_with(&b, BOB_TOKEN, &session, "from=beginning").await;
    expect_asking(&mut bob).await;
    let request = view_prompt(&mut tracker, "bob").await;
    send(
        &mut tracker.ws,
        &TrackerMessage::Consent {
            request_id: request,
            granted: false,
            reason: None,
        },
    )
    .await;
    let mut declined = false;
    let close = loop {
        match tokio::time::timeout(WAIT, bob.next()).await.unwrap() {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Binary(bytes))) => {
                match rmp_serde::from_slice::<AgentMessage>(&bytes).unwrap() {
                    AgentMessage::Events { events } => panic!("bob got events: {events:?}"),
                    AgentMessage::ViewConsent {
                        state: ViewConsentState::Declined,
                    } => declined = true,
                    _ => {}
                }
            }
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => {
                break frame.map(|f| (u16::from(f.code), f.reason.to_string()));
            }
            Some(Ok(_)) => continue,
            other => panic!("bob's connection ended without a close frame: {other:?}"),
        }
    };
    assert!(declined);
    let (code, reason) = close.expect("a close frame");
    assert_eq!(code, close::NOT_ALLOWED);
    assert!(reason.contains("did not let you watch"), "{reason}");

    // Each answer is on the record, naming the agent it answered.
    let actions = agent_actions(&b, &session).await;
    let about = |name: &str, f: fn(&AgentAction) -> bool| {
        actions.iter().any(|(n, action)| n == name && f(action))
    };
    assert!(about("alice", |a| matches!(
        a,
        AgentAction::Requested {
            kind: GrantKind::View,
            ..
        }
    )));
    assert!(about("alice", |a| matches!(
        a,
        AgentAction::Granted {
            kind: GrantKind::View,
            account: Some(_),
            ..
        }
    )));
    assert!(about("bob", |a| matches!(
        a,
        AgentAction::Declined {
            kind: GrantKind::View,
            ..
        }
    )));
    for door in ["canvas", "request", "call"] {
        assert!(
            actions.iter().any(|(n, a)| n == "alice"
                && matches!(a, AgentAction::Dropped { what, reason, .. } if what == door && reason == "no_grant")),
            "alice's {door} before Accept is dropped on the record: {actions:?}"
        );
    }
    // A later page started with another `view` is told the session's, and shows that.
    assert_eq!(
        second_tab_mode(&a, &tracker.token).await,
        Some(ViewMode::Ask)
    );
    a.stop().await;
    b.stop().await;
    drop(store);
}
