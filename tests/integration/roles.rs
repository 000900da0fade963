//! Roles and projects, enforced by the server: a viewer watches but may not ask for control, a
//! helper scoped to one project neither lists, opens nor watches another's sessions, and every
//! refusal is a clear error and an audit record.

use std::time::Duration;

use cobrowse::app::server::ServerConfig;
use cobrowse::auth::tokens::StaticToken;
use cobrowse::protocol::{AgentMessage, GrantKind, Signal, TrackerMessage};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

pub const VIEWER_TOKEN: &str = "vera-viewer-secret";
pub const HELPER_A_TOKEN: &str = "hana-helper-secret";

/// alice (admin, every project), vera (viewer), hana (helper of `shop-a` only); trackers may use
/// `demo`, `shop-a` and `shop-b`.
pub fn roles_config() -> ServerConfig {
    let mut config = config();
    config.project_keys = vec!["demo".into(), "shop-a".into(), "shop-b".into()];
    config.agent_tokens.extend([
        "vera:vera-viewer-secret:viewer"
            .parse::<StaticToken>()
            .unwrap(),
        "hana:hana-helper-secret:helper:shop-a"
            .parse::<StaticToken>()
            .unwrap(),
    ]);
    config
}

/// A tracker of project `key`, with one event stored.
pub async fn tracker_in(server: &impl Node, key: &str) -> Tracker {
    let mut ws = connect(server).await;
    let mut hello = hello(None, "tab-1");
    hello.project_key = key.into();
    send(&mut ws, &TrackerMessage::Hello(hello)).await;
    let (session_id, token) = match recv(&mut ws).await {
        Ok(cobrowse::protocol::ServerMessage::Welcome {
            session_id,
            session_token,
            ..
        }) => (session_id.to_string(), session_token),
        other => panic!("expected welcome, got {other:?}"),
    };
    let mut tracker = Tracker {
        ws,
        session_id,
        token,
    };
    tracker.write(vec![rrweb(1)]).await;
    tracker
}

pub async fn get_as(server: &impl Node, token: &str, path: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The URL of a session's live WebSocket with a ticket fetched with `token` (as a browser opens
/// it).
pub async fn live_url_with_ticket(server: &impl Node, token: &str, session: &str) -> String {
    let ticket: Value = http()
        .post(format!("{}/api/v1/tickets", server.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = ticket["ticket"].as_str().unwrap();
    ws_url(
        server,
        &format!("/api/v1/sessions/{session}/live?from=live&ticket={ticket}"),
    )
}

/// An agent's live socket, past its `joined`.
async fn watching(server: &impl Node, token: &str, session: &str) -> Ws {
    let mut ws = agent_with(server, token, session, "from=live").await;
    match agent_recv(&mut ws).await {
        Some(AgentMessage::Joined { .. }) => ws,
        other => panic!("expected joined, got {other:?}"),
    }
}

async fn send_signal(ws: &mut Ws, signal: &Signal) {
    let bytes = rmp_serde::to_vec_named(signal).unwrap();
    ws.send(Message::Binary(bytes.into())).await.unwrap();
}

/// The next error the agent is sent.
async fn next_error(ws: &mut Ws) -> (String, String) {
    loop {
        match agent_recv(ws).await {
            Some(AgentMessage::Error { error, message }) => return (error, message),
            Some(_) => continue,
            None => panic!("the socket closed before an error came"),
        }
    }
}

/// Polls `check` on the session's detail (alice's view) until it holds.
async fn detail_until(server: &impl Node, session: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let detail = get_json(server, &format!("/api/v1/sessions/{session}")).await;
        if check(&detail) {
            return detail;
        }
        assert!(tokio::time::Instant::now() < deadline, "never: {detail}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn refused_in_audit(audit: &Value, agent: &str) -> Vec<Value> {
    audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record"]["action"] == "refused" && e["record"]["agent"] == agent)
        .map(|e| e["record"].clone())
        .collect()
}

#[tokio::test]
async fn a_viewer_watches_but_its_control_request_is_refused_and_audited() {
    let server = start(roles_config()).await;
    let mut page = tracker_in(&server, "demo").await;
    let session = page.session_id.clone();

    let me: Value = get_as(&server, VIEWER_TOKEN, "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "viewer");
    assert_eq!(me["projects"], Value::Null);

    let mut vera = watching(&server, VIEWER_TOKEN, &session).await;
    send_signal(
        &mut vera,
        &Signal::Request {
            kind: GrantKind::Control,
            video: false,
        },
    )
    .await;
    let (error, message) = next_error(&mut vera).await;
    assert_eq!(error, "forbidden");
    assert_eq!(
        message,
        "agent vera is a viewer and may not request control: that takes the helper role"
    );
    page.write(vec![rrweb(2)]).await;

    let detail = detail_until(&server, &session, |d| {
        d["activity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["record"]["action"] == "forbidden")
    })
    .await;
    let forbidden = detail["activity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["record"]["action"] == "forbidden")
        .unwrap()["record"]
        .clone();
    assert_eq!(forbidden["agent"]["name"], "vera");
    assert_eq!(forbidden["what"], "request control");
    assert_eq!(forbidden["needs"], "helper");
    assert!(
        !detail["activity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["record"]["action"] == "requested"),
        "no request reached the page: {detail}"
    );

    let audit = get_json(&server, &format!("/api/v1/audit?session={session}")).await;
    let refused = refused_in_audit(&audit, "vera");
    assert_eq!(refused.len(), 1, "{audit}");
    assert_eq!(refused[0]["role"], "viewer");
    assert_eq!(refused[0]["needs"], "helper");

    // What a viewer may not do over REST: a whole export, recordings, erasure, the audit.
    for (path, needs) in [
        (format!("/api/v1/sessions/{session}/events"), "admin"),
        (format!("/api/v1/audit?session={session}"), "admin"),
    ] {
        let response = get_as(&server, VIEWER_TOKEN, &path).await;
        assert_eq!(response.status(), 403, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("the {needs} role")),
            "{body}"
        );
    }
    let erase = http()
        .delete(format!("{}/api/v1/sessions/{session}", server.url()))
        .bearer_auth(VIEWER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(erase.status(), 403);
    // What it may: one tab's events, for the replay.
    let replay = get_as(
        &server,
        VIEWER_TOKEN,
        &format!("/api/v1/sessions/{session}/events?tab=tab-1"),
    )
    .await;
    assert_eq!(replay.status(), 200);
    let audit = get_json(&server, &format!("/api/v1/audit?session={session}")).await;
    assert_eq!(refused_in_audit(&audit, "vera").len(), 4, "{audit}");
    server.stop().await;
}

#[tokio::test]
async fn a_helper_of_project_a_neither_lists_opens_nor_watches_project_b() {
    let server = start(roles_config()).await;
    let a = tracker_in(&server, "shop-a").await;
    let b = tracker_in(&server, "shop-b").await;

    let listed: Value = get_as(&server, HELPER_A_TOKEN, "/api/v1/sessions")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![a.session_id.as_str()], "{listed}");
    let listed: Value = get_as(&server, HELPER_A_TOKEN, "/api/v1/sessions?project=shop-b")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["sessions"], serde_json::json!([]));
    let all: Value = get_json(&server, "/api/v1/sessions").await;
    assert_eq!(
        all["sessions"].as_array().unwrap().len(),
        2,
        "alice sees both"
    );

    for path in [
        format!("/api/v1/sessions/{}", b.session_id),
        format!("/api/v1/sessions/{}/events?tab=tab-1", b.session_id),
    ] {
        let response = get_as(&server, HELPER_A_TOKEN, &path).await;
        assert_eq!(response.status(), 404, "{path}");
    }
    let refused = tokio_tungstenite::connect_async(agent_request(
        &server,
        HELPER_A_TOKEN,
        &b.session_id,
        "from=live",
    ))
    .await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404)
        }
        other => panic!("watching project B must be refused: {other:?}"),
    }
    // Project A is the helper's: it watches and may ask for control.
    let mut hana = watching(&server, HELPER_A_TOKEN, &a.session_id).await;
    send_signal(
        &mut hana,
        &Signal::Request {
            kind: GrantKind::Control,
            video: false,
        },
    )
    .await;
    detail_until(&server, &a.session_id, |d| {
        d["activity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["record"]["action"] == "requested" && r["record"]["agent"]["name"] == "hana")
    })
    .await;

    // The live list: sessions of project B starting later never reach the helper.
    let watch = get_as(&server, HELPER_A_TOKEN, "/api/v1/sessions/watch").await;
    assert_eq!(watch.status(), 200);
    let mut body = watch.bytes_stream();
    let later_b = tracker_in(&server, "shop-b").await;
    let later_a = tracker_in(&server, "shop-a").await;
    let mut seen = String::new();
    tokio::time::timeout(WAIT, async {
        while !seen.contains(&later_a.session_id) {
            let chunk = body.next().await.expect("the watch stays open").unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .expect("project A's new session shows");
    assert!(!seen.contains(&later_b.session_id), "{seen}");
    assert!(!seen.contains(&b.session_id), "{seen}");

    let audit = get_json(&server, &format!("/api/v1/audit?session={}", b.session_id)).await;
    let refused = refused_in_audit(&audit, "hana");
    assert_eq!(refused.len(), 3, "open, replay, watch: {audit}");
    assert!(refused.iter().all(|r| r["needs"].is_null()));
    server.stop().await;
}

#[tokio::test]
async fn a_ticket_carries_its_agent_s_role() {
    let server = start(roles_config()).await;
    let page = tracker_in(&server, "demo").await;
    let url = live_url_with_ticket(&server, VIEWER_TOKEN, &page.session_id).await;
    let (mut vera, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert!(matches!(
        agent_recv(&mut vera).await,
        Some(AgentMessage::Joined { .. })
    ));
    send_signal(
        &mut vera,
        &Signal::Request {
            kind: GrantKind::Annotate,
            video: false,
        },
    )
    .await;
    let (error, message) = next_error(&mut vera).await;
    assert_eq!(error, "forbidden", "{message}");
    server.stop().await;
}
