//! The session directory across nodes: what a session does on node A shows in node B's list (and
//! on B's watch feed), a restarted node rebuilds the same index from S2 alone, the list pages and
//! searches over HTTP, and an erased session is found nowhere, before or after a restart.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cobrowse::auth::tokens::StaticToken;
use cobrowse::clock::now_ms;
use cobrowse::protocol::{
    EndReason, PageInfo, RecordKind, Role, SessionEnd, SessionId, SessionStart, TrackerEvent,
    TrackerEventKind, TrackerMessage,
};
use cobrowse::store::embedded::EmbeddedS2;
use cobrowse::store::frame::Event;
use cobrowse::store::location::StoreLocation;
use cobrowse::store::sdk::SdkConfig;
use cobrowse::store::stream::Store;
use futures::StreamExt;
use serde_bytes::ByteBuf;
use serde_json::Value;
use uuid::Uuid;

use crate::common::{
    AGENT_TOKEN, Node, Tracker, WAIT, config, event_with, get_json, http, rrweb, send, start,
    two_nodes_on_a_served_store,
};

fn identify(seq: u64, user: &str) -> TrackerEvent {
    TrackerEvent {
        seq,
        ts: 1_700_000_000_000 + seq,
        kind: TrackerEventKind::Identify,
        data: ByteBuf::from(format!(r#"{{"user_id":"{user}"}}"#).into_bytes()),
    }
}

fn navigate(seq: u64, href: &str) -> TrackerEvent {
    event_with(
        seq,
        format!(
            r#"{{"type":4,"data":{{"href":"{href}","width":1280,"height":720}},"timestamp":{seq}}}"#
        )
        .into_bytes(),
    )
}

fn console_error(seq: u64) -> TrackerEvent {
    event_with(
        seq,
        format!(r#"{{"type":6,"data":{{"plugin":"rrweb/console@1","payload":{{"level":"error","payload":["boom"],"trace":[]}}}},"timestamp":{seq}}}"#)
            .into_bytes(),
    )
}

/// Every session `query` lists, all pages.
async fn list_all(server: &impl Node, query: &str) -> Vec<Value> {
    let mut sessions = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get_json(server, &format!("/api/v1/sessions?limit=7&{query}{cursor}")).await;
        let got = page["sessions"].as_array().unwrap();
        sessions.extend(got.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert!(!got.is_empty(), "an empty page with a cursor");
                cursor = format!("&cursor={next}");
            }
            None => return sessions,
        }
    }
}

/// The listed session `id`, once `check` holds for it on `server` (within [`WAIT`]).
async fn eventually(server: &impl Node, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = list_all(server, "")
            .await
            .into_iter()
            .find(|s| s["id"] == id);
        if let Some(session) = found.as_ref().filter(|s| check(s)) {
            return session.clone();
        }
        assert!(
            Instant::now() < deadline,
            "session {id} never matched on {}: {found:?}",
            server.url()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What two nodes should agree on (the call flag and liveness timing aside).
fn comparable(mut session: Value) -> Value {
    let object = session.as_object_mut().unwrap();
    object.remove("call");
    object.remove("last_activity_ms");
    session
}

#[tokio::test]
async fn a_session_on_node_a_is_listed_by_node_b_as_it_starts_moves_and_ends() {
    let (_store, a, b) = two_nodes_on_a_served_store().await;
    let mut watch = Watch::open(&b, "status=live").await;

    let mut t = Tracker::open(&a, None, "tab-1").await;
    let id = t.session_id.clone();
    let started = eventually(&b, &id, |s| s["live"] == true).await;
    assert_eq!(started["user_id"], "user-42");
    assert_eq!(started["metadata"]["plan"], "gold");
    assert_eq!(started["url"], "https://shop.example/cart");
    assert_eq!(started["project"], "demo");
    assert_eq!(
        watch.next_session().await["id"],
        id,
        "B's watchers are told"
    );

    let second = Tracker::open(&a, Some(t.token.clone()), "tab-2").await;
    t.write(vec![
        rrweb(1),
        identify(2, "alice@example.com"),
        navigate(3, "https://shop.example/checkout"),
        console_error(4),
    ])
    .await;
    let moved = eventually(&b, &id, |s| {
        s["user_id"] == "alice@example.com"
            && s["console_errors"] == true
            && s["tabs"].as_array().unwrap().len() == 2
    })
    .await;
    assert_eq!(
        moved["url"], "https://shop.example/checkout",
        "the page of the tab that moved last"
    );
    let by_page = list_all(&b, "url=checkout").await;
    assert_eq!(by_page.len(), 1, "every page visited is searchable");

    drop(second);
    send(&mut t.ws, &TrackerMessage::End { reason: None }).await;
    let ended = eventually(&b, &id, |s| s["ended_ms"].is_number()).await;
    assert_eq!(ended["live"], false);
    assert_eq!(ended["end_reason"], "ended");
    assert_eq!(
        ended["tabs"],
        serde_json::json!(["tab-1", "tab-2"]),
        "an ended session offers every tab it had"
    );
    // The live watch: the session stopped matching.
    assert_eq!(watch.next_gone().await, id);

    // The detail route answers from the directory too, on either node.
    let detail =
        crate::common::get_json(&b, &format!("/api/v1/sessions/{id}?activity=false")).await;
    assert_eq!(detail["tabs"], ended["tabs"]);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_restarted_node_rebuilds_the_same_index_from_s2() {
    let (store, a, b) = two_nodes_on_a_served_store().await;
    let mut live = Vec::new();
    for i in 0..6 {
        let mut t = Tracker::open(&a, None, "tab-1").await;
        t.write(vec![identify(1, &format!("user-{i}@example.com"))])
            .await;
        if i % 2 == 0 {
            send(&mut t.ws, &TrackerMessage::End { reason: None }).await;
        } else {
            live.push(t);
        }
    }
    let mut on_b = Tracker::open(&b, None, "tab-1").await;
    on_b.write(vec![navigate(1, "https://shop.example/b")])
        .await;
    let expected = 7;
    let deadline = Instant::now() + WAIT;
    let before = loop {
        let listed = list_all(&a, "").await;
        let ended = listed.iter().filter(|s| s["ended_ms"].is_number()).count();
        if listed.len() == expected && ended == 3 {
            break listed;
        }
        assert!(Instant::now() < deadline, "A lists {}", listed.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    let b_config = {
        let mut c = config();
        c.s2_endpoint = Some(store.endpoint());
        c.node_id = "node-b".into();
        c
    };
    drop(on_b);
    b.stop().await;
    let restarted = start(b_config).await;
    let mut after: Vec<Value> = list_all(&restarted, "").await;
    // Node B's own session lost its node when B stopped; A's live ones are still live.
    let b_session = after
        .iter()
        .position(|s| s["url"] == "https://shop.example/b")
        .unwrap();
    let b_session = after.remove(b_session);
    assert_eq!(b_session["live"], false);
    assert!(b_session["ended_ms"].is_null());
    let mut expected_after: Vec<Value> = before
        .into_iter()
        .filter(|s| s["id"] != b_session["id"])
        .map(comparable)
        .collect();
    expected_after.sort_by_key(|s| s["id"].as_str().unwrap().to_string());
    let mut after: Vec<Value> = after.into_iter().map(comparable).collect();
    after.sort_by_key(|s| s["id"].as_str().unwrap().to_string());
    assert_eq!(after, expected_after, "the same index after a restart");
    assert_eq!(
        list_all(&restarted, "status=live").await.len(),
        live.len(),
        "live sessions of a running node stay live"
    );
    a.stop().await;
    restarted.stop().await;
}

#[tokio::test]
async fn an_erased_session_is_found_nowhere_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut admin = config();
    admin.data_dir = Some(dir.path().to_path_buf());
    admin
        .agent_tokens
        .push(StaticToken::new("bob", "bob-not-an-admin", Role::Helper));
    let server = start(admin.clone()).await;

    let mut erased = Tracker::open(&server, None, "tab-1").await;
    erased
        .write(vec![identify(1, "erase-me@example.com")])
        .await;
    let mut kept = Tracker::open(&server, None, "tab-1").await;
    kept.write(vec![identify(1, "keep-me@example.com")]).await;
    let delete = |token: &'static str, id: String| {
        let url = format!("{}/api/v1/sessions/{id}", server.url());
        async move {
            http()
                .delete(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        delete(AGENT_TOKEN, erased.session_id.clone()).await,
        409,
        "a live session is not erased"
    );
    send(&mut erased.ws, &TrackerMessage::End { reason: None }).await;
    eventually(&server, &erased.session_id, |s| s["ended_ms"].is_number()).await;
    assert_eq!(
        delete("bob-not-an-admin", erased.session_id.clone()).await,
        403,
        "only an admin erases"
    );
    assert_eq!(delete(AGENT_TOKEN, erased.session_id.clone()).await, 204);

    assert_eq!(list_all(&server, "q=erase-me").await.len(), 0);
    assert_eq!(list_all(&server, "q=keep-me").await.len(), 1);
    let gone = http()
        .get(format!(
            "{}/api/v1/sessions/{}",
            server.url(),
            erased.session_id
        ))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404, "its stream is gone too");

    // The audit stream, which outlives the session, says who erased it.
    let audit = crate::common::get_json(&server, "/api/v1/audit").await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["record"]["action"] == "erase"
                && e["record"]["session"] == erased.session_id.as_str()
                && e["record"]["agent"] == "alice"),
        "{audit}"
    );

    drop(kept);
    server.stop().await;
    let restarted = start(admin).await;
    assert_eq!(
        list_all(&restarted, "q=erase-me").await.len(),
        0,
        "no directory stream holds the erased user any more"
    );
    assert_eq!(list_all(&restarted, "q=keep-me").await.len(), 1);
    restarted.stop().await;
}

#[tokio::test]
async fn sessions_written_before_the_directory_existed_are_added_to_it() {
    let store = EmbeddedS2::start(
        &StoreLocation::Memory,
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    // What an older server left: a session stream with its `start` and `end`, no directory.
    let old = Store::connect(
        &SdkConfig {
            endpoint: Some(store.endpoint()),
            token: "s2-lite".into(),
            basin: "cobrowse".into(),
        },
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    let created_ms = now_ms() - 120_000;
    let id = SessionId::from_uuid(Uuid::from_u128(
        (u128::from(created_ms) << 80) | 0x7000_8000_0000_0000_1234,
    ));
    let stream = old.create_session(id).await.unwrap();
    let begun = SessionStart {
        session_id: id,
        project_key: "demo".into(),
        created_ms,
        tab: "tab-1".into(),
        page: PageInfo {
            url: "https://shop.example/old".into(),
            ..PageInfo::default()
        },
        user_id: Some("from-before@example.com".into()),
        metadata: Default::default(),
        view: Default::default(),
    };
    let first = Event::server(RecordKind::Start, &begun);
    stream.claim(&first, "old-node", created_ms).await.unwrap();
    let end = SessionEnd {
        reason: EndReason::Idle,
        ended_ms: created_ms + 1_000,
    };
    stream
        .seal(
            &Event::server(RecordKind::End, &end),
            "old-node",
            created_ms + 1_000,
        )
        .await
        .unwrap();

    let mut config = config();
    config.s2_endpoint = Some(store.endpoint());
    let server = start(config).await;
    let found = eventually(&server, &id.to_string(), |s| s["ended_ms"].is_number()).await;
    assert_eq!(found["user_id"], "from-before@example.com");
    assert_eq!(found["url"], "https://shop.example/old");
    assert_eq!(found["end_reason"], "idle");
    assert_eq!(list_all(&server, "q=from-before").await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_session_whose_node_went_away_is_ended_by_another_after_the_idle_timeout() {
    let store = EmbeddedS2::start(
        &StoreLocation::Memory,
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let mut a_config = config();
    a_config.s2_endpoint = Some(store.endpoint());
    a_config.node_id = "node-a".into();
    a_config.heartbeat = Duration::from_secs(1);
    let mut b_config = a_config.clone();
    b_config.node_id = "node-b".into();
    b_config.idle_timeout = Duration::from_millis(500);
    let a = start(a_config).await;
    let b = start(b_config).await;
    let mut t = Tracker::open(&a, None, "tab-1").await;
    t.write(vec![rrweb(1)]).await;
    let id = t.session_id.clone();
    eventually(&b, &id, |s| s["live"] == true).await;
    // A stops with the session unended, and its tracker never comes back.
    drop(t);
    a.stop().await;
    let ended = eventually(&b, &id, |s| s["ended_ms"].is_number()).await;
    assert_eq!(ended["end_reason"], "idle");
    assert_eq!(ended["live"], false);
    // Its stream is sealed like any ended session's: it ends with `end`.
    let mut agent = crate::common::agent(&b, &id, "").await;
    let events = crate::common::agent_collect(&mut agent, |_| false).await;
    assert_eq!(events.last().unwrap().kind, RecordKind::End);
    assert_eq!(
        crate::common::rrweb_seqs(&events),
        [1],
        "what was written is kept"
    );
    b.stop().await;
}

#[tokio::test]
async fn bad_list_queries_get_a_clear_error() {
    let server = start(config()).await;
    for (query, says) in [
        ("status=sleeping", "status must be"),
        ("cursor=nope", "session id"),
        (&format!("q={}", "x".repeat(300)), "longer than"),
    ] {
        let response = http()
            .get(format!("{}/api/v1/sessions?{query}", server.url()))
            .bearer_auth(AGENT_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let body = response.text().await.unwrap();
        assert!(body.contains(says), "{query}: {body}");
    }
    let unauthenticated = http()
        .get(format!("{}/api/v1/sessions/watch", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    server.stop().await;
}

/// A console's view of `GET /api/v1/sessions/watch`.
struct Watch {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl Watch {
    async fn open(server: &impl Node, query: &str) -> Self {
        let response = http()
            .get(format!("{}/api/v1/sessions/watch?{query}", server.url()))
            .bearer_auth(AGENT_TOKEN)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        let mut watch = Watch {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        };
        assert_eq!(watch.next_event().await.0, "ready");
        watch
    }

    /// The next event's name and data.
    async fn next_event(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if name.is_empty() {
                    continue;
                }
                return (name, serde_json::from_str(&data).unwrap());
            }
            let chunk = tokio::time::timeout(WAIT, self.body.next())
                .await
                .expect("an event in time")
                .expect("the feed stays open")
                .unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    async fn next_session(&mut self) -> Value {
        loop {
            let (name, data) = self.next_event().await;
            if name == "session" {
                return data;
            }
        }
    }

    async fn next_gone(&mut self) -> String {
        loop {
            let (name, data) = self.next_event().await;
            if name == "gone" {
                return data["id"].as_str().unwrap().to_string();
            }
        }
    }
}
