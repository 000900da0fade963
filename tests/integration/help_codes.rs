//! Help codes across a cluster: a tracker connected to one node asks for a code, agents resolve
//! it through another (two nodes on one served store, no sticky routing). Codes are single-use,
//! expire, resolve only within the agent's projects, and wrong ones lock guessers out whichever
//! node they ask; each use is an `agent` record in the session and an audit entry.

use std::net::SocketAddr;
use std::time::Duration;

use cobrowse::app::server::{RunningServer, ServerConfig};
use cobrowse::auth::tokens::StaticToken;
use cobrowse::codes::book::FailureLimits;
use cobrowse::protocol::{AuditAction, AuditPage, CodeRefusal, ServerMessage, TrackerMessage};
use cobrowse::session::consent::view::account;
use cobrowse::store::embedded::EmbeddedS2;
use cobrowse::store::location::StoreLocation;
use futures::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;
use crate::roles::tracker_in;

const HANA: &str = "hana-shop-a-secret";
const HUGO: &str = "hugo-shop-a-secret";
const IVY: &str = "ivy-shop-a-secret";
const MIA: &str = "mia-shop-b-secret";

/// alice (admin, every project); hana, hugo and ivy (viewers of `shop-a`); mia (viewer of
/// `shop-b`); per project, `project_limit` wrong codes lock out.
fn codes_config(ttl: Duration, project_limit: u32) -> ServerConfig {
    let mut config = config();
    config.project_keys = vec!["shop-a".into(), "shop-b".into()];
    for token in [
        format!("hana:{HANA}:viewer:shop-a"),
        format!("hugo:{HUGO}:viewer:shop-a"),
        format!("ivy:{IVY}:viewer:shop-a"),
        format!("mia:{MIA}:viewer:shop-b"),
    ] {
        config
            .agent_tokens
            .push(token.parse::<StaticToken>().unwrap());
    }
    config.agent_proxy = Some(loopback_proxy());
    config.codes.ttl = ttl;
    config.codes.limits = FailureLimits {
        per_project: project_limit,
        ..FailureLimits::default()
    };
    config
}

async fn two_nodes(config: ServerConfig) -> (EmbeddedS2, RunningServer, RunningServer) {
    let store = EmbeddedS2::start(
        &StoreLocation::Memory,
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("store starts");
    let mut a = config;
    a.s2_endpoint = Some(store.endpoint());
    a.node_id = "node-a".into();
    let mut b = a.clone();
    b.node_id = "node-b".into();
    let (a, b) = (start(a).await, start(b).await);
    (store, a, b)
}

/// Asks for a help code on the tracker's connection: the code and its expiry.
async fn ask_code(tracker: &mut Tracker) -> (String, u64) {
    send(&mut tracker.ws, &TrackerMessage::HelpRequest).await;
    loop {
        match recv(&mut tracker.ws).await {
            Ok(ServerMessage::HelpCode { code, expires_at }) => return (code, expires_at),
            Ok(ServerMessage::HelpUnavailable { reason }) => panic!("no code: {reason}"),
            Ok(_) => continue,
            Err(close) => panic!("closed while asking for a code: {close:?}"),
        }
    }
}

/// `POST /api/v1/codes` as the agent with `token`: status, body, `Retry-After`.
fn resolve_request(node: &impl Node, code: &str) -> reqwest::RequestBuilder {
    http()
        .post(format!("{}/api/v1/codes", node.url()))
        .json(&json!({ "code": code }))
}

async fn resolve(node: &impl Node, token: &str, code: &str) -> (u16, Value, Option<u64>) {
    answer(resolve_request(node, code).bearer_auth(token)).await
}

async fn answer(request: reqwest::RequestBuilder) -> (u16, Value, Option<u64>) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (status, response.json().await.unwrap(), retry_after)
}

/// A six-digit code other than `code`.
fn another(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn a_code_given_on_one_node_opens_the_session_on_another_once() {
    let (_store, a, b) = two_nodes(codes_config(Duration::from_secs(600), 30)).await;
    let mut tracker = tracker_in(&a, "shop-a").await;
    let (code, expires_at) = ask_code(&mut tracker).await;
    assert_eq!(code.len(), 6, "{code}");
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    let now = cobrowse::clock::now_ms();
    assert!((now + 590_000..=now + 600_000).contains(&expires_at));
    // Asking again while it is valid gives the same code.
    assert_eq!(ask_code(&mut tracker).await.0, code);

    // Typed as read out, in two groups.
    let typed = format!("{} {}", &code[..3], &code[3..]);
    let (status, body, _) = resolve(&b, HANA, &typed).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session_id"], tracker.session_id.as_str());
    assert_eq!(body["tab"], "tab-1");

    // Single use, on either node.
    for node in [&b, &a] {
        let (status, body, _) = resolve(node, HUGO, &code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (410, Some("used")),
            "{body}"
        );
    }
    // The tab gets a new code once the old one is spent.
    assert_ne!(ask_code(&mut tracker).await.0, code);

    // The use is an `agent` record in the session, written by the node that writes it, and an
    // audit entry naming the agent.
    let path = format!("/api/v1/sessions/{}", tracker.session_id);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let detail = get_json(&b, &path).await;
        let used: Vec<&Value> = detail["activity"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["record"]["action"] == "code")
            .collect();
        if let [record] = used.as_slice() {
            // Named as the session's other records name agents: not by the stable name.
            assert_eq!(
                record["record"]["agent"]["id"],
                account("token:hana").as_str()
            );
            assert_eq!(record["record"]["agent"]["name"], "hana");
            assert_eq!(record["record"]["tab"], "tab-1");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no code record: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let audit: AuditPage =
        serde_json::from_value(get_json(&a, "/api/v1/audit?limit=1000").await).unwrap();
    let entry = audit.entries.iter().find(|e| {
        e.record.agent == "hana"
            && e.record.node == "node-b"
            && matches!(&e.record.action, AuditAction::Code { tab } if tab == "tab-1")
    });
    assert!(entry.is_some(), "{:?}", audit.entries);
}

#[tokio::test]
async fn a_code_of_another_project_is_not_found_and_an_expired_one_says_so() {
    let (_store, a, b) = two_nodes(codes_config(Duration::from_secs(2), 30)).await;
    let mut shop_b = tracker_in(&a, "shop-b").await;
    let (code, _) = ask_code(&mut shop_b).await;
    // hana sees only shop-a: the code is as unknown to her as one never given.
    let (status, body, _) = resolve(&b, HANA, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (status, unknown, _) = resolve(&b, HANA, &another(&code)).await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], unknown["message"]);

    let (code, _) = ask_code(&mut tracker_in(&a, "shop-b").await).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (status, body, _) = resolve(&b, MIA, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (410, Some("expired")),
        "{body}"
    );
    // Not six digits is refused as such, and not counted.
    let (status, _, _) = resolve(&b, MIA, "12a456").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn wrong_codes_lock_out_the_agent_and_then_the_project_whichever_node_they_ask() {
    let (_store, a, b) = two_nodes(codes_config(Duration::from_secs(600), 7)).await;
    let mut tracker = tracker_in(&a, "shop-a").await;
    let (code, _) = ask_code(&mut tracker).await;
    let wrong = another(&code);
    // hana's five wrong codes, alternating nodes: each counts on both.
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        let (status, body, _) = resolve(node, HANA, &wrong).await;
        assert_eq!(status, 404, "try {i}: {body}");
    }
    // Locked out before any lookup: even the right code is refused, on either node.
    for node in [&a, &b] {
        let (status, body, retry_after) = resolve(node, HANA, &code).await;
        assert_eq!(status, 429, "{body}");
        let retry_after = retry_after.expect("Retry-After");
        assert!((590..=600).contains(&retry_after), "{retry_after}");
        assert!(body["message"].as_str().unwrap().contains("from you"));
    }
    // The proxy's hana is not the token's: signed in another way, she is counted on her own.
    let proxied_hana = via_proxy(resolve_request(&b, &wrong), "hana", Some("shop-a"));
    let (status, body, _) = answer(proxied_hana).await;
    assert_eq!(status, 404, "{body}");
    // hugo is not hana either; one more wrong code from him reaches shop-a's seven.
    assert_eq!(resolve(&a, HUGO, &wrong).await.0, 404);
    let (status, body, retry_after) = resolve(&b, IVY, &code).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry_after.is_some());
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("in your projects")
    );
    // Other projects' agents, and those that see every project, are not locked out.
    let (status, body, _) = resolve(&a, AGENT_TOKEN, &code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(resolve(&b, MIA, &wrong).await.0, 404);
}

#[tokio::test]
async fn of_two_agents_typing_one_code_on_two_nodes_at_once_exactly_one_gets_in() {
    let (_store, a, b) = two_nodes(codes_config(Duration::from_secs(600), 30)).await;
    for _ in 0..3 {
        let mut tracker = tracker_in(&a, "shop-a").await;
        let (code, _) = ask_code(&mut tracker).await;
        let (on_a, on_b) = tokio::join!(resolve(&a, HANA, &code), resolve(&b, HUGO, &code));
        let mut statuses = [on_a.0, on_b.0];
        statuses.sort();
        assert_eq!(statuses, [200, 410], "{on_a:?} {on_b:?}");
    }
}

#[tokio::test]
async fn a_tab_waiting_for_its_code_still_gets_its_acks() {
    // Giving a code takes round trips to the store; the tab's connection must go on meanwhile.
    // Events resent right after the request (as after a reconnect) are already durable: their
    // ack needs no store at all, so it comes first unless the connection waits for the code.
    let (_store, a, _b) = two_nodes(codes_config(Duration::from_secs(600), 30)).await;
    let frame = |m: &TrackerMessage| Message::Binary(rmp_serde::to_vec_named(m).unwrap().into());
    for _ in 0..3 {
        let mut tracker = tracker_in(&a, "shop-a").await;
        // Both in one write, as a tracker flushing its queue does.
        let resent = TrackerMessage::Events {
            events: vec![rrweb(1)],
        };
        tracker
            .ws
            .feed(frame(&TrackerMessage::HelpRequest))
            .await
            .unwrap();
        tracker.ws.feed(frame(&resent)).await.unwrap();
        tracker.ws.flush().await.unwrap();
        let mut order = Vec::new();
        while order.len() < 2 {
            match recv(&mut tracker.ws).await {
                Ok(ServerMessage::Ack { seq }) => order.push(format!("ack {seq}")),
                Ok(ServerMessage::HelpCode { .. }) => order.push("code".to_string()),
                Ok(ServerMessage::HelpUnavailable { reason }) => panic!("no code: {reason}"),
                Ok(_) => continue,
                Err(close) => panic!("closed while asking for a code: {close:?}"),
            }
        }
        assert_eq!(order, ["ack 1", "code"]);
    }
}

/// The help code refusals of `agent` in the audit stream, oldest first.
async fn refusals(node: &impl Node, agent: &str) -> Vec<CodeRefusal> {
    let audit: AuditPage =
        serde_json::from_value(get_json(node, "/api/v1/audit?limit=1000").await).unwrap();
    audit
        .entries
        .iter()
        .filter(|e| e.record.agent == agent && e.record.session.is_none())
        .filter_map(|e| match e.record.action {
            AuditAction::CodeRefused { reason } => Some(reason),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn wrong_codes_and_lock_outs_leave_a_trace_in_the_audit() {
    // cluster/codes forgets wrong codes in hours; the audit keeps them as long as other reads.
    let (_store, a, b) = two_nodes(codes_config(Duration::from_secs(2), 30)).await;
    let (code, _) = ask_code(&mut tracker_in(&a, "shop-a").await).await;
    let (status, _, _) = resolve(&b, HANA, &another(&code)).await;
    assert_eq!(status, 404);
    assert_eq!(refusals(&a, "hana").await, [CodeRefusal::NotFound]);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(resolve(&a, HANA, &code).await.0, 410);
    // A typo is neither counted nor audited.
    assert_eq!(resolve(&a, HANA, "12a456").await.0, 400);
    for _ in 0..3 {
        assert_eq!(resolve(&b, HANA, &another(&code)).await.0, 404);
    }
    // Locked out: the first refusal on each node is audited, the ones after it are not.
    for node in [&a, &a, &b, &b, &b] {
        assert_eq!(resolve(node, HANA, &code).await.0, 429);
    }
    use CodeRefusal::*;
    assert_eq!(
        refusals(&b, "hana").await,
        [
            NotFound, Expired, NotFound, NotFound, NotFound, Locked, Locked
        ]
    );
}
