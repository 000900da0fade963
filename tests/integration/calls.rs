//! Calls through the server's SFU, without a browser: the page and the agents are webrtc peers
//! in this process speaking the wire protocol (docs/protocol.md §10) over real WebSockets to a
//! real server with the embedded s2-lite. What is checked is who gets which media when, as the
//! user's grants change, and what a recording leaves in S2.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use cobrowse::app::server::RunningServer;
use cobrowse::call::config::CallConfig;
use cobrowse::client::call::{self, Participant, receiving, sending};
use cobrowse::protocol::{
    AgentAction, AgentMessage, AgentRecord, AgentRef, CallOffer, GrantKind, Media, RecordKind,
    RecordingState, ServerMessage, Signal, TrackerMessage,
};

use crate::common::*;

/// A participant as a test drives it: the library's call peer, plus waiting for what the test
/// expects.
struct Side<R: call::Role>(Participant<R>);

/// The user's page.
type Page = Side<call::Page>;
/// An agent.
type Agent = Side<call::Agent>;

impl<R: call::Role> Side<R>
where
    R::Incoming: std::fmt::Debug,
{
    /// The next message `want` accepts; fails after the harness's wait.
    async fn until(&mut self, want: impl Fn(&R::Incoming) -> bool) -> R::Incoming {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.0.seen.recv()).await {
                Ok(Some(message)) if want(&message) => return message,
                Ok(Some(_)) => {}
                Ok(None) => panic!("the connection closed"),
                Err(_) => panic!("nothing wanted arrived in {WAIT:?}"),
            }
        }
    }

    /// Waits until every stream this side receives has brought at least `packets` RTP packets,
    /// and there are `streams` of them.
    async fn receives(&self, streams: usize, packets: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let counts = self.0.received.counts();
            if counts.iter().filter(|c| **c >= packets).count() >= streams {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {streams} streams of {packets}+ packets, got {counts:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn send(&self, message: &R::Outgoing) {
        self.0.send(message);
    }
}

async fn user(tracker: Tracker) -> Page {
    Side(
        Participant::spawn(tracker.ws)
            .await
            .expect("the peer starts"),
    )
}

async fn agent_side(ws: Ws) -> Agent {
    Side(Participant::spawn(ws).await.expect("the peer starts"))
}

async fn call_server(first_port: u16) -> RunningServer {
    let mut config = config();
    config.calls = CallConfig {
        bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        ports: first_port..=first_port + 19,
        ..CallConfig::default()
    };
    start(config).await
}

async fn joined_agent(server: &impl Node, session: &str) -> (Agent, AgentRef) {
    let ws = agent(server, session, "").await;
    let mut side = agent_side(ws).await;
    let Some(AgentMessage::Joined { agent }) = Some(
        side.until(|m| matches!(m, AgentMessage::Joined { .. }))
            .await,
    ) else {
        unreachable!()
    };
    (side, agent)
}

/// The user accepts `kind` for the agent; returns once the page has the grant.
async fn accept(page: &mut Page, agent: &Agent, kind: GrantKind, video: bool) {
    agent.send(&Signal::Request { kind, video });
    let prompt = page
        .until(|m| matches!(m, ServerMessage::ConsentRequest { kind: k, .. } if *k == kind))
        .await;
    let ServerMessage::ConsentRequest {
        request_id,
        video: asked_video,
        ..
    } = prompt
    else {
        unreachable!()
    };
    assert_eq!(
        asked_video, video,
        "the prompt says whether video is asked for"
    );
    page.send(&TrackerMessage::Consent {
        request_id,
        granted: true,
        reason: None,
    });
    page.until(
        |m| matches!(m, ServerMessage::Grants { grants } if grants.iter().any(|g| g.kind == kind)),
    )
    .await;
}

/// An offer to the page in which it receives `n` tracks.
fn offer_receiving(m: &ServerMessage, n: usize) -> bool {
    matches!(m, ServerMessage::CallOffer { offer, .. } if receiving(offer).len() == n)
}

fn is_offer(m: &ServerMessage) -> bool {
    matches!(m, ServerMessage::CallOffer { .. })
}

fn offer_of(m: ServerMessage) -> CallOffer {
    match m {
        ServerMessage::CallOffer { offer, .. } => offer,
        other => panic!("not an offer: {other:?}"),
    }
}

fn agent_offer(m: AgentMessage) -> CallOffer {
    match m {
        AgentMessage::CallOffer(offer) => offer,
        other => panic!("not an offer: {other:?}"),
    }
}

/// The session's detail, as an agent reads it.
async fn session_detail(server: &impl Node, session: &str) -> serde_json::Value {
    get_json(server, &format!("/api/v1/sessions/{session}")).await
}

/// Whether `m` brings the record of the recording reaching `state`.
fn is_recording(m: &AgentMessage, state: RecordingState) -> bool {
    record_in(
        m,
        |r| matches!(r.action, AgentAction::Recording { state: s, .. } if s == state),
    )
}

fn record_in(m: &AgentMessage, want: impl Fn(&AgentRecord) -> bool) -> bool {
    let AgentMessage::Events { events } = m else {
        return false;
    };
    events
        .iter()
        .filter(|e| e.kind == RecordKind::Agent)
        .filter_map(|e| serde_json::from_slice::<AgentRecord>(&e.data).ok())
        .any(|r| want(&r))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn media_flows_through_the_server_only_between_people_the_user_accepted() {
    let server = call_server(42000).await;
    let tracker = Tracker::open(&server, None, "tab-1").await;
    let session = tracker.session_id.clone();
    let mut page = user(tracker).await;
    let (mut alice, _) = joined_agent(&server, &session).await;

    // Without a grant the server sets up nothing, for the agent or for the page.
    alice.send(&Signal::CallJoin {
        audio: true,
        video: true,
    });
    alice
        .until(|m| matches!(m, AgentMessage::CallClosed { reason } if reason == "no_grant"))
        .await;
    page.send(&TrackerMessage::CallJoin {
        audio: true,
        video: true,
        canvases: vec![],
    });
    page.until(|m| matches!(m, ServerMessage::CallClosed { reason, .. } if reason == "no_grant"))
        .await;

    accept(&mut page, &alice, GrantKind::Call, true).await;
    let started = std::time::Instant::now();
    page.send(&TrackerMessage::CallJoin {
        audio: true,
        video: true,
        canvases: vec![],
    });
    let first = offer_of(page.until(is_offer).await);
    assert_eq!(sending(&first), vec![Media::Audio, Media::Video]);
    assert!(
        receiving(&first).is_empty(),
        "nobody else is in the call yet"
    );

    alice.send(&Signal::CallJoin {
        audio: true,
        video: false,
    });
    let offer = agent_offer(
        alice
            .until(|m| matches!(m, AgentMessage::CallOffer(_)))
            .await,
    );
    assert_eq!(sending(&offer), vec![Media::Audio]);
    let from_user: Vec<Media> = receiving(&offer).iter().map(|s| s.media).collect();
    assert_eq!(from_user, vec![Media::Audio, Media::Video]);
    assert!(
        receiving(&offer)
            .iter()
            .all(|s| s.from.as_ref().unwrap().id == "user")
    );
    alice.receives(2, 25).await;
    println!(
        "call set up: request accepted → agent receiving in {:?}",
        started.elapsed()
    );

    // The page is offered the agent's audio, on the same connection.
    let again = offer_of(page.until(is_offer).await);
    assert_eq!(
        sending(&again),
        vec![Media::Audio, Media::Video],
        "still one upstream"
    );
    assert_eq!(receiving(&again).len(), 1);
    page.receives(1, 25).await;

    // A second agent without a grant gets nothing; once accepted it receives the user too, and
    // the page still sends one stream of each.
    let (mut bob, _) = joined_agent(&server, &session).await;
    bob.send(&Signal::CallJoin {
        audio: true,
        video: false,
    });
    bob.until(|m| matches!(m, AgentMessage::CallClosed { .. }))
        .await;
    accept(&mut page, &bob, GrantKind::Call, false).await;
    bob.send(&Signal::CallJoin {
        audio: true,
        video: false,
    });
    let bobs = agent_offer(bob.until(|m| matches!(m, AgentMessage::CallOffer(_))).await);
    assert_eq!(
        receiving(&bobs).len(),
        3,
        "the user's audio and video, and alice's audio"
    );
    bob.receives(3, 25).await;
    let third = offer_of(page.until(|m| offer_receiving(m, 2)).await);
    assert_eq!(
        sending(&third),
        vec![Media::Audio, Media::Video],
        "still one upstream"
    );

    // Bob hangs up: alice is offered the call without him; the user hangs up: everyone's
    // connection closes and the grants are gone.
    bob.send(&Signal::Release {
        kind: GrantKind::Call,
    });
    bob.until(|m| matches!(m, AgentMessage::CallClosed { .. }))
        .await;
    let without_bob = agent_offer(
        alice
            .until(|m| matches!(m, AgentMessage::CallOffer(o) if o.slots.iter().any(|s| !s.send && s.from.is_none())))
            .await,
    );
    assert_eq!(
        receiving(&without_bob).len(),
        2,
        "bob's slot is inactive, the user's remain"
    );
    page.send(&TrackerMessage::Hangup);
    // Alice's connection closes and the revoke is recorded; the two reach her in either order
    // (the record travels through S2, the close does not), so she waits for both at once.
    let call_revoked = |m: &AgentMessage| {
        record_in(m, |r| {
            matches!(
                r.action,
                AgentAction::Revoked {
                    kind: GrantKind::Call
                }
            )
        })
    };
    let (mut closed, mut revoked) = (false, false);
    while !(closed && revoked) {
        let m = alice
            .until(|m| matches!(m, AgentMessage::CallClosed { .. }) || call_revoked(m))
            .await;
        closed |= matches!(m, AgentMessage::CallClosed { .. });
        revoked |= call_revoked(&m);
    }
    page.until(|m| matches!(m, ServerMessage::CallClosed { .. }))
        .await;
    let detail = session_detail(&server, &session).await;
    assert_eq!(detail["call"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recording_the_user_accepted_is_stored_next_to_the_session_and_served() {
    let server = call_server(42100).await;
    let tracker = Tracker::open(&server, None, "tab-1").await;
    let session = tracker.session_id.clone();
    let mut page = user(tracker).await;
    let (mut alice, _) = joined_agent(&server, &session).await;

    // Recording needs a call.
    alice.send(&Signal::Request {
        kind: GrantKind::Record,
        video: false,
    });
    alice
        .until(|m| record_in(m, |r| matches!(&r.action, AgentAction::Dropped { what, reason, .. } if what == "request" && reason == "no_grant")))
        .await;

    accept(&mut page, &alice, GrantKind::Call, true).await;
    page.send(&TrackerMessage::CallJoin {
        audio: true,
        video: true,
        canvases: vec![],
    });
    page.until(is_offer).await;
    alice.send(&Signal::CallJoin {
        audio: true,
        video: false,
    });
    alice.receives(2, 10).await;

    accept(&mut page, &alice, GrantKind::Record, false).await;
    alice
        .until(|m| is_recording(m, RecordingState::Started))
        .await;
    let started = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let detail = session_detail(&server, &session).await;
    assert_eq!(
        detail["call"], true,
        "the session list shows a call running"
    );
    let (calls, recordings) = (
        &server.metrics().calls_active,
        &server.metrics().recordings_active,
    );
    assert_eq!(
        (calls.get(), recordings.get()),
        (1, 1),
        "counted in /metrics"
    );

    // The user stops the recording; the call goes on.
    let holder = alice_id(&detail);
    page.send(&TrackerMessage::Revoke {
        kind: GrantKind::Record,
        agent_id: holder,
    });
    alice
        .until(|m| is_recording(m, RecordingState::Stopped))
        .await;
    let ran = started.elapsed().as_secs_f64();
    assert_eq!(recordings.get(), 0, "the recording is no longer counted");
    let detail = session_detail(&server, &session).await;
    let recordings = detail["recordings"].as_array().unwrap();
    assert_eq!(recordings.len(), 1, "{detail}");
    let files = recordings[0]["files"].as_array().unwrap();
    let mut names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    names.sort();
    let alice_audio = format!("{}-audio.ogg", alice_id(&detail));
    let mut expected = vec!["user-audio.ogg", "user-video.ivf", alice_audio.as_str()];
    expected.sort();
    assert_eq!(names, expected);
    assert!(files.iter().all(|f| f["complete"] == true), "{files:?}");

    let recording = recordings[0]["id"].as_str().unwrap();
    let file = |name: &str, token: &str| {
        let url = format!(
            "{}/api/v1/sessions/{session}/recordings/{recording}/{name}",
            server.url()
        );
        let request = http().get(url).bearer_auth(token);
        async move { request.send().await.unwrap() }
    };
    let video = file("user-video.ivf", AGENT_TOKEN).await;
    assert_eq!(video.headers()["content-type"], "video/x-ivf");
    let video = video.bytes().await.unwrap();
    assert_eq!(&video[0..4], b"DKIF");
    // Each frame is stamped with its RTP time and the header holds the length in 1/90000 s: the
    // file lasts about as long as the recording ran (3 s and the time the stop took).
    let length = f64::from(u32::from_le_bytes(video[24..28].try_into().unwrap())) / 90_000.0;
    assert!(
        length > 2.0 && length < ran + 1.0,
        "{length} s for a recording of {ran} s"
    );
    let audio = file("user-audio.ogg", AGENT_TOKEN)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(&audio[0..4], b"OggS");
    assert_eq!(file("nobody-audio.ogg", AGENT_TOKEN).await.status(), 404);
    assert_eq!(file("user-audio.ogg", "wrong").await.status(), 401);

    // Both downloads are on the audit, naming the agent; the refused ones are not.
    let audit = get_json(&server, &format!("/api/v1/audit?session={session}")).await;
    let downloads: Vec<(&str, &str)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record"]["action"] == "recording")
        .map(|e| {
            assert_eq!(e["record"]["recording"], recording);
            (
                e["record"]["agent"].as_str().unwrap(),
                e["record"]["file"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        downloads,
        vec![("alice", "user-video.ivf"), ("alice", "user-audio.ogg")]
    );
}

/// The agent that holds the call grant, from the session's activity.
fn alice_id(detail: &serde_json::Value) -> String {
    detail["activity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["record"]["action"] == "granted")
        .map(|a| a["record"]["agent"]["id"].as_str().unwrap().to_string())
        .unwrap()
}

/// The tracker on one node, the agent on another: the agent's offers and candidates come back
/// to it through `cluster/signals`, and its media goes to the node that holds the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_on_another_node_joins_the_call_held_by_the_trackers_node() {
    let store = crate::cluster::store().await;
    let a = crate::cluster::node(&store, "node-a").await;
    let b = crate::cluster::node(&store, "node-b").await;
    let tracker = Tracker::open(&a, None, "tab-1").await;
    let session = tracker.session_id.clone();
    let mut page = user(tracker).await;
    let (mut alice, _) = joined_agent(&b, &session).await;

    accept(&mut page, &alice, GrantKind::Call, true).await;
    page.send(&TrackerMessage::CallJoin {
        audio: true,
        video: true,
        canvases: vec![],
    });
    page.until(is_offer).await;
    alice.send(&Signal::CallJoin {
        audio: true,
        video: false,
    });
    let offer = agent_offer(
        alice
            .until(|m| matches!(m, AgentMessage::CallOffer(_)))
            .await,
    );
    assert_eq!(receiving(&offer).len(), 2);
    alice.receives(2, 25).await;
    page.receives(1, 25).await;
    page.send(&TrackerMessage::Hangup);
    alice
        .until(|m| matches!(m, AgentMessage::CallClosed { .. }))
        .await;
}
