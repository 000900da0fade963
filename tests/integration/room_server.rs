//! The room server end to end: real sockets, the embedded s2-lite, no mocks.

use std::time::{Duration, Instant};

use crate::common::*;
use cobrowse::app::web::WebRoot;
use cobrowse::protocol::{AgentMessage, RecordKind, ServerMessage, TrackerMessage, close};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn ingested_events_reach_an_agent_in_order_then_live() {
    let server = start(config()).await;
    let mut tracker = Tracker::open(&server, None, "tab-1").await;
    for batch in 0..10u64 {
        tracker
            .write((batch * 10 + 1..=batch * 10 + 10).map(rrweb).collect())
            .await;
    }
    let mut agent = agent(&server, &tracker.session_id, "from=beginning").await;
    let history = agent_collect(&mut agent, |e| rrweb_seqs(e).len() >= 100).await;
    assert_eq!(
        history[0].kind,
        RecordKind::Start,
        "a session opens with its start record"
    );
    assert_eq!(rrweb_seqs(&history), (1..=100).collect::<Vec<_>>());
    let seq_nums: Vec<u64> = history.iter().map(|e| e.seq_num).collect();
    assert!(seq_nums.windows(2).all(|w| w[0] < w[1]), "stream order");

    tracker.write((101..=110).map(rrweb).collect()).await;
    let live = agent_collect(&mut agent, |e| rrweb_seqs(e).len() >= 10).await;
    assert_eq!(rrweb_seqs(&live), (101..=110).collect::<Vec<_>>());
    let first_live = live.iter().find(|e| e.kind == RecordKind::Rrweb).unwrap();
    assert_eq!(
        first_live.data.as_ref(),
        br#"{"type":3,"data":{"source":0,"n":101},"timestamp":101}"#,
        "payload bytes reach the agent untouched"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_five_mib_event_round_trips_byte_identical() {
    let server = start(config()).await;
    let mut tracker = Tracker::open(&server, None, "tab-1").await;
    // Incompressible printable noise inside a JSON string, as a full snapshot with inline images.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let noise: String = (0..5 * 1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (b'a' + (x % 26) as u8) as char
        })
        .collect();
    let body = format!(r#"{{"type":2,"data":{{"html":"{noise}"}},"timestamp":1}}"#).into_bytes();
    tracker
        .write(vec![event_with(1, body.clone()), rrweb(2)])
        .await;

    let mut agent = agent(&server, &tracker.session_id, "").await;
    let events = agent_collect(&mut agent, |e| rrweb_seqs(e).len() >= 2).await;
    let big = events.iter().find(|e| e.client_seq == 1).unwrap();
    assert!(
        big.data.as_ref() == body.as_slice(),
        "live delivery is byte-identical"
    );

    let exported = http()
        .get(format!(
            "{}/api/v1/sessions/{}/events?format=rrweb",
            server.url(),
            tracker.session_id
        ))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let expected = [
        b"[".as_slice(),
        &body,
        b",",
        br#"{"type":3,"data":{"source":0,"n":2},"timestamp":2}"#,
        b"]",
    ]
    .concat();
    assert!(
        exported.as_ref() == expected.as_slice(),
        "export is byte-identical"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_tracker_killed_mid_batch_resends_with_no_loss_and_no_duplicate() {
    let server = start(config()).await;
    let mut tracker = Tracker::open(&server, None, "tab-1").await;
    tracker.write((1..=20).map(rrweb).collect()).await;
    // Fire more batches and kill the connection without waiting for their acks.
    for batch in 0..5u64 {
        tracker
            .send_events((21 + batch * 10..31 + batch * 10).map(rrweb).collect())
            .await;
    }
    let token = tracker.token.clone();
    let session = tracker.session_id.clone();
    drop(tracker);

    // The tracker knows only that 1..=20 were acknowledged: it resends 21..=70, then goes on.
    let mut again = Tracker::open(&server, Some(token), "tab-1").await;
    assert_eq!(
        again.session_id, session,
        "the token resumes the same session"
    );
    again.write((21..=70).map(rrweb).collect()).await;
    again.write((71..=80).map(rrweb).collect()).await;

    let mut agent = agent(&server, &session, "").await;
    let events = agent_collect(&mut agent, |e| rrweb_seqs(e).len() >= 80).await;
    assert_eq!(rrweb_seqs(&events), (1..=80).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn a_second_server_takes_a_session_over_and_the_first_lets_go() {
    let (store, a, b) = two_nodes_on_a_served_store().await;

    let mut on_a = Tracker::open(&a, None, "tab-1").await;
    on_a.write((1..=5).map(rrweb).collect()).await;
    // The same tab reconnects to B (say, after a network change) while A still holds it.
    let mut on_b = Tracker::open(&b, Some(on_a.token.clone()), "tab-1").await;
    assert_eq!(on_b.session_id, on_a.session_id);
    on_b.write((6..=10).map(rrweb).collect()).await;

    // A's next append is fenced out: it closes its tracker with "taken over", acking nothing.
    on_a.send_events(vec![rrweb(99)]).await;
    let mut acked_on_a = false;
    let close = loop {
        match recv(&mut on_a.ws).await {
            Ok(ServerMessage::Ack { seq: 99 }) => acked_on_a = true,
            Ok(_) => {}
            Err(close) => break close,
        }
    };
    assert!(!acked_on_a, "a fenced-out writer never acknowledges");
    assert_eq!(close.0, close::TAKEN_OVER, "{close:?}");

    on_b.write((11..=12).map(rrweb).collect()).await;
    // An agent on A (no sticky routing) sees everything B wrote, and nothing A failed to write.
    let mut agent = agent(&a, &on_b.session_id, "").await;
    let events = agent_collect(&mut agent, |e| rrweb_seqs(e).len() >= 12).await;
    assert_eq!(rrweb_seqs(&events), (1..=12).collect::<Vec<_>>());
    let pages: Vec<_> = events
        .iter()
        .filter(|e| e.kind == RecordKind::Page)
        .collect();
    assert!(String::from_utf8_lossy(&pages[0].data).contains("node-b"));

    a.stop().await;
    b.stop().await;
    store.close().await;
}

#[tokio::test]
async fn an_ended_session_rejects_a_late_writer() {
    let server = start(config()).await;
    let mut tracker = Tracker::open(&server, None, "tab-1").await;
    tracker.write((1..=3).map(rrweb).collect()).await;
    let mut second_tab = Tracker::open(&server, Some(tracker.token.clone()), "tab-2").await;
    send(
        &mut tracker.ws,
        &TrackerMessage::End {
            reason: Some("logout".into()),
        },
    )
    .await;
    assert_eq!(expect_close(&mut tracker.ws).await.0, 1000);
    assert_eq!(
        expect_close(&mut second_tab.ws).await.0,
        close::ENDED,
        "the session's other tabs are told it ended"
    );

    let mut late = connect(&server).await;
    send(
        &mut late,
        &TrackerMessage::Hello(hello(Some(tracker.token.clone()), "tab-1")),
    )
    .await;
    let (code, reason) = expect_close(&mut late).await;
    assert_eq!(code, close::ENDED);
    assert!(reason.contains("ended"), "{reason}");

    let summary = get_json(&server, &format!("/api/v1/sessions/{}", tracker.session_id)).await;
    assert_eq!(summary["live"], false);
    assert_eq!(summary["end_reason"], "ended");
    let mut agent = agent(&server, &tracker.session_id, "").await;
    let events = agent_collect(&mut agent, |_| false).await;
    assert_eq!(
        rrweb_seqs(&events),
        vec![1, 2, 3],
        "what was written is kept"
    );
    assert_eq!(events.last().unwrap().kind, RecordKind::End);
    server.stop().await;
}

#[tokio::test]
async fn sessions_list_newest_first_with_cursor_pagination_and_filters() {
    let server = start(config()).await;
    let mut ids = Vec::new();
    let mut trackers = Vec::new();
    for _ in 0..5 {
        let mut t = Tracker::open(&server, None, "tab-1").await;
        t.write(vec![rrweb(1)]).await;
        ids.push(t.session_id.clone());
        trackers.push(t);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    ids.reverse();

    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/sessions?limit=2&cursor={c}"),
            None => "/api/v1/sessions?limit=2".to_string(),
        };
        let page = get_json(&server, &path).await;
        let sessions = page["sessions"].as_array().unwrap();
        assert!(sessions.len() <= 2);
        listed.extend(
            sessions
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(listed, ids, "newest first, every session exactly once");

    let first = get_json(&server, "/api/v1/sessions?limit=1").await;
    let s = &first["sessions"][0];
    assert_eq!(s["url"], "https://shop.example/cart");
    assert_eq!(s["user_id"], "user-42");
    assert_eq!(s["metadata"]["plan"], "gold");
    assert_eq!(s["tabs"], serde_json::json!(["tab-1"]));
    assert_eq!(s["live"], true);

    for t in trackers.iter_mut().take(2) {
        send(&mut t.ws, &TrackerMessage::End { reason: None }).await;
        expect_close(&mut t.ws).await;
    }
    let live = get_json(&server, "/api/v1/sessions?live=true").await;
    let live_ids: Vec<&str> = live["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        live_ids,
        ids[..3].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let search = get_json(&server, "/api/v1/sessions?q=GOLD").await;
    assert_eq!(search["sessions"].as_array().unwrap().len(), 5);
    let none = get_json(&server, "/api/v1/sessions?q=nobody-has-this").await;
    assert!(none["sessions"].as_array().unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn bad_frames_close_the_connection_with_a_reason_and_others_go_on() {
    let mut cfg = config();
    cfg.limits.max_frame_bytes = 64 * 1024;
    cfg.limits.max_event_bytes = 16 * 1024;
    let server = start(cfg).await;
    let mut healthy = Tracker::open(&server, None, "tab-1").await;
    healthy.write(vec![rrweb(1)]).await;

    // Not MessagePack at all.
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.ws.send(Message::Binary(vec![0xc1, 0x00, 0x01].into()))
        .await
        .unwrap();
    assert_eq!(expect_close(&mut t.ws).await.0, close::INVALID_FRAME);

    // Text instead of binary.
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.ws.send(Message::Text("{}".into())).await.unwrap();
    assert_eq!(expect_close(&mut t.ws).await.0, close::INVALID_FRAME);

    // A message type nobody knows.
    let mut t = Tracker::open(&server, None, "tab-1").await;
    let unknown = rmp_serde::to_vec_named(&serde_json::json!({"type": "teleport"})).unwrap();
    t.ws.send(Message::Binary(unknown.into())).await.unwrap();
    let (code, reason) = expect_close(&mut t.ws).await;
    assert_eq!(code, close::PROTOCOL);
    assert!(reason.contains("teleport"), "{reason}");

    // Events before hello.
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        &TrackerMessage::Events {
            events: vec![rrweb(1)],
        },
    )
    .await;
    assert_eq!(expect_close(&mut ws).await.0, close::PROTOCOL);

    // A frame over the limit.
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.send_events(vec![event_with(1, vec![b' '; 100 * 1024])])
        .await;
    assert_eq!(expect_close(&mut t.ws).await.0, close::TOO_BIG);

    // The healthy session never noticed.
    healthy.write(vec![rrweb(2)]).await;
    server.stop().await;
}

#[tokio::test]
async fn bad_events_are_rejected_one_by_one_and_the_rest_of_the_batch_is_kept() {
    let mut cfg = config();
    cfg.limits.max_event_bytes = 16 * 1024;
    let server = start(cfg).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    let oversize = format!(r#"{{"pad":"{}"}}"#, "x".repeat(20 * 1024)).into_bytes();
    t.send_events(vec![
        rrweb(1),
        event_with(2, oversize),
        event_with(3, b"not json".to_vec()),
        rrweb(4),
    ])
    .await;
    let mut rejected = Vec::new();
    loop {
        match recv(&mut t.ws).await.expect("still open") {
            ServerMessage::Rejected { seq, reason } => rejected.push((seq, reason)),
            ServerMessage::Ack { seq: 4 } => break,
            // Sent after `welcome`: the session's grants (none), and that nobody watches.
            ServerMessage::Grants { grants } if grants.is_empty() => {}
            ServerMessage::Watching { agents: 0, .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0].0, 2);
    assert!(rejected[0].1.contains("limit"), "{}", rejected[0].1);
    assert_eq!(rejected[1].0, 3);
    assert!(rejected[1].1.contains("JSON"), "{}", rejected[1].1);

    let mut agent = agent(&server, &t.session_id, "").await;
    let events = agent_collect(&mut agent, |e| rrweb_seqs(e).len() >= 2).await;
    assert_eq!(rrweb_seqs(&events), vec![1, 4]);
    server.stop().await;
}

#[tokio::test]
async fn wrong_keys_and_tokens_are_refused() {
    let mut cfg = config();
    cfg.session_token_ttl = Duration::from_millis(1500);
    cfg.allowed_origins = vec!["https://shop.example".into()];
    let server = start(cfg).await;

    let mut ws = connect(&server).await;
    let mut wrong_key = hello(None, "tab-1");
    wrong_key.project_key = "stolen".into();
    send(&mut ws, &TrackerMessage::Hello(wrong_key)).await;
    assert_eq!(expect_close(&mut ws).await.0, close::UNAUTHORIZED);

    let mut ws = connect(&server).await;
    send(
        &mut ws,
        &TrackerMessage::Hello(hello(Some("forged.token".into()), "tab-1")),
    )
    .await;
    assert_eq!(expect_close(&mut ws).await.0, close::UNAUTHORIZED);

    let mut request = ws_url(&server, "/api/v1/track")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(&mut ws, &TrackerMessage::Hello(hello(None, "tab-1"))).await;
    assert_eq!(expect_close(&mut ws).await.0, close::FORBIDDEN_ORIGIN);

    let t = Tracker::open(&server, None, "tab-1").await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        &TrackerMessage::Hello(hello(Some(t.token.clone()), "tab-1")),
    )
    .await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close::UNAUTHORIZED);
    assert!(reason.contains("expired"), "{reason}");

    // Agents: no token, a wrong token.
    let url = format!("{}/api/v1/sessions", server.url());
    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    assert!(body["message"].as_str().unwrap().contains("Bearer"));
    let response = http().get(&url).bearer_auth("guess").send().await.unwrap();
    assert_eq!(response.status(), 401);
    let live = format!("{}/api/v1/sessions/{}/live", server.url(), t.session_id);
    assert_eq!(http().get(&live).send().await.unwrap().status(), 401);
    let unknown = format!("/api/v1/sessions/{}", uuid::Uuid::now_v7());
    let response = http()
        .get(format!("{}{unknown}", server.url()))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = http()
        .get(format!("{}/api/v1/sessions/nope", server.url()))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    server.stop().await;
}

#[tokio::test]
async fn a_flood_beyond_the_rate_limit_is_cut_off_and_acked_events_are_kept() {
    let mut cfg = config();
    cfg.limits.events_per_sec = 50;
    let server = start(cfg).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write((1..=100).map(rrweb).collect()).await;
    let mut seq = 100;
    let close = loop {
        let batch: Vec<_> = (seq + 1..=seq + 100).map(rrweb).collect();
        seq += 100;
        t.send_events(batch).await;
        match recv(&mut t.ws).await {
            Ok(_) => continue,
            Err(close) => break close,
        }
    };
    assert_eq!(close.0, close::RATE_LIMITED);
    assert!(close.1.contains("per second"), "{}", close.1);
    let mut agent = agent(&server, &t.session_id, "").await;
    let events = agent_collect(&mut agent, |e| rrweb_seqs(e).len() >= 100).await;
    assert_eq!(
        rrweb_seqs(&events)[..100],
        (1..=100).collect::<Vec<_>>()[..]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_stalled_agent_does_not_delay_another_agent() {
    let mut cfg = config();
    cfg.agent_send_timeout = Duration::from_secs(1);
    cfg.limits.events_per_sec = 100_000;
    let server = start(cfg).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write(vec![rrweb(1)]).await;

    // This agent connects with a tiny receive buffer and then never reads its socket.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(server.addr).await.unwrap();
    let request = agent_request(&server, AGENT_TOKEN, &t.session_id, "from=live");
    let (mut stalled, _) = tokio_tungstenite::client_async(request, tcp).await.unwrap();
    let mut reader = agent(&server, &t.session_id, "from=live").await;
    // Past its `joined`, and the records of agents joining, to where it is live.
    loop {
        match agent_recv(&mut reader).await {
            Some(AgentMessage::CaughtUp { .. }) => break,
            Some(AgentMessage::Joined { .. } | AgentMessage::Events { .. }) => {}
            other => panic!("expected to catch up, got {other:?}"),
        }
    }
    // The other agent reads all along.
    let reading = tokio::spawn(async move {
        let got = agent_collect(&mut reader, |e| rrweb_seqs(e).len() >= 200).await;
        (got, Instant::now())
    });
    let padding = "y".repeat(60 * 1024);
    let started = Instant::now();
    for batch in 0..20u64 {
        let events = (0..10)
            .map(|i| {
                let seq = 2 + batch * 10 + i;
                event_with(
                    seq,
                    format!(r#"{{"pad":"{padding}","n":{seq}}}"#).into_bytes(),
                )
            })
            .collect();
        t.write(events).await;
    }
    let (got, finished) = reading.await.unwrap();
    assert_eq!(rrweb_seqs(&got), (2..=201).collect::<Vec<_>>());
    let elapsed = finished - started;
    assert!(
        elapsed < Duration::from_secs(15),
        "the reading agent took {elapsed:?}"
    );

    // Stay stalled well past the send timeout.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The stalled agent was cut loose: reading again, it finds an in-order prefix of the events
    // and then the end of the connection (with 4008 and a resume point, if the close frame still
    // fit into its socket).
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(message) = stalled.next().await {
            match message {
                Ok(Message::Binary(b)) => {
                    if let AgentMessage::Events { events } = rmp_serde::from_slice(&b).unwrap() {
                        seen.extend(rrweb_seqs(&events));
                    }
                }
                Ok(Message::Close(Some(frame))) => {
                    assert_eq!(u16::from(frame.code), close::TOO_SLOW);
                    assert!(frame.reason.contains("from_seq="), "{}", frame.reason);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the stalled agent is disconnected");
    assert!(seen.len() < 200, "the stalled agent did not get everything");
    assert_eq!(seen, (2..2 + seen.len() as u64).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn sse_follows_a_session_and_resumes_from_last_event_id() {
    let server = start(config()).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write((1..=5).map(rrweb).collect()).await;
    let url = format!(
        "{}/api/v1/sessions/{}/events/stream",
        server.url(),
        t.session_id
    );

    let events = read_sse(&url, None, 6).await;
    assert_eq!(events[0].0, "start");
    let third: serde_json::Value = serde_json::from_str(&events[3].2).unwrap();
    assert_eq!(third["client_seq"], 3);
    assert_eq!(
        third["data"]["data"]["n"], 3,
        "the event's own JSON is inlined"
    );

    let resume_after: u64 = events[3].1.parse().unwrap();
    let resumed = read_sse(&url, Some(resume_after), 2).await;
    let next: serde_json::Value = serde_json::from_str(&resumed[0].2).unwrap();
    assert_eq!(next["client_seq"], 4);
    server.stop().await;
}

/// Reads `n` SSE events (skipping `caught_up`) as (event, id, data).
async fn read_sse(
    url: &str,
    last_event_id: Option<u64>,
    n: usize,
) -> Vec<(String, String, String)> {
    let mut request = http().get(url).bearer_auth(AGENT_TOKEN);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let mut events = Vec::new();
    while events.len() < n {
        let chunk = tokio::time::timeout(WAIT, body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
        events.extend(
            take_sse_blocks(&mut text)
                .into_iter()
                .filter(|(event, _, data)| event != "caught_up" && !data.is_empty()),
        );
    }
    events
}

#[tokio::test]
async fn shutdown_acknowledges_accepted_events_and_they_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.data_dir = Some(dir.path().to_path_buf());
    let server = start(cfg.clone()).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write((1..=10).map(rrweb).collect()).await;
    t.send_events((11..=20).map(rrweb).collect()).await;
    let stopping = tokio::spawn(server.stop());
    let mut acked = 10;
    // The server may or may not have read the second batch when it is told to stop; what it did
    // read it acknowledges before closing, what it did not the tracker still holds.
    let close = loop {
        match recv(&mut t.ws).await {
            Ok(ServerMessage::Ack { seq }) => acked = seq,
            Ok(_) => {}
            Err(close) => break close,
        }
    };
    stopping.await.unwrap();
    assert_eq!(close.0, close::GOING_AWAY);

    // After a restart on the same data directory, everything acknowledged is there; the tracker
    // resumes its session and resends the rest; each event appears exactly once.
    let server = start(cfg).await;
    let mut again = Tracker::open(&server, Some(t.token.clone()), "tab-1").await;
    assert_eq!(again.session_id, t.session_id);
    again.write((acked + 1..=21).map(rrweb).collect()).await;
    let mut agent = agent(&server, &t.session_id, "").await;
    let events = agent_collect(&mut agent, |e| rrweb_seqs(e).len() >= 21).await;
    assert_eq!(rrweb_seqs(&events), (1..=21).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let server = start(config()).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write((1..=3).map(rrweb).collect()).await;
    let get = |path: &str| http().get(format!("{}{path}", server.url())).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("cobrowse_events_appended_total 3"),
        "{metrics}"
    );
    assert!(metrics.contains("cobrowse_sessions_live 1"));
    assert!(metrics.contains("cobrowse_tracker_connections 1"));
    assert!(metrics.contains("cobrowse_append_latency_seconds_bucket"));
    server.stop().await;
}

#[tokio::test]
async fn the_cli_lists_and_exports_sessions() {
    let server = start(config()).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write((1..=2).map(rrweb).collect()).await;

    let list = run_cli(&server.url(), &["list"]).await;
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert!(String::from_utf8_lossy(&list.stdout).contains(&t.session_id));

    let export = run_cli(&server.url(), &["export", &t.session_id]).await;
    let events: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(events.as_array().unwrap().len(), 2);
    assert_eq!(events[1]["data"]["n"], 2);

    let missing = run_cli(
        &server.url(),
        &["export", &uuid::Uuid::now_v7().to_string()],
    )
    .await;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));

    let audit = run_cli(&server.url(), &["audit", "--session", &t.session_id]).await;
    let entries: Vec<serde_json::Value> = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(entries.len(), 1, "the one export: {entries:?}");
    assert_eq!(entries[0]["record"]["action"], "export");
    assert_eq!(entries[0]["record"]["agent"], "alice");

    let found = run_cli(
        &server.url(),
        &["list", "--user", "USER-4", "--status", "live"],
    )
    .await;
    assert!(String::from_utf8_lossy(&found.stdout).contains(&t.session_id));
    let none = run_cli(&server.url(), &["list", "--url", "checkout"]).await;
    assert!(!String::from_utf8_lossy(&none.stdout).contains(&t.session_id));
    let refused = run_cli(&server.url(), &["erase", &t.session_id]).await;
    assert!(!refused.status.success(), "a live session is not erased");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is live"));
    server.stop().await;
}

async fn run_cli(url: &str, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cobrowse"));
    command
        .args(["sessions", "--server", url, "--token", AGENT_TOKEN])
        .args(args);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_idle_session_ends_after_its_last_tracker_left_and_readers_see_the_end() {
    let mut cfg = config();
    cfg.idle_timeout = Duration::from_millis(300);
    let server = start(cfg).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write((1..=2).map(rrweb).collect()).await;
    let (id, token) = (t.session_id.clone(), t.token.clone());
    drop(t);

    let deadline = Instant::now() + WAIT;
    loop {
        let summary = get_json(&server, &format!("/api/v1/sessions/{id}")).await;
        if summary["end_reason"] == "idle" {
            assert_eq!(summary["live"], false);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the idle session was never ended: {summary}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut late = connect(&server).await;
    send(
        &mut late,
        &TrackerMessage::Hello(hello(Some(token), "tab-1")),
    )
    .await;
    assert_eq!(expect_close(&mut late).await.0, close::ENDED);

    // A reader that starts after the end (a reconnecting EventSource) is told so and let go.
    let url = format!(
        "{}/api/v1/sessions/{id}/events/stream?from=live",
        server.url()
    );
    let body = tokio::time::timeout(WAIT, async {
        http()
            .get(&url)
            .bearer_auth(AGENT_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
    .await
    .expect("the stream of an ended session finishes");
    assert!(body.contains("event: caught_up"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn an_agent_joining_asks_the_tracker_for_a_fresh_snapshot() {
    let server = start(config()).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    let _agent = agent(&server, &t.session_id, "from=live").await;
    loop {
        match recv(&mut t.ws).await {
            Ok(ServerMessage::Resync) => break,
            Ok(_) => continue,
            Err(close) => panic!("closed before resync: {close:?}"),
        }
    }
    server.stop().await;
}

/// A web root with a console, a tracker bundle and a demo page, each a file naming itself.
fn web_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for (path, text) in [
        ("agent-console/dist/index.html", "console"),
        ("tracker-plugin/dist/cobrowse-tracker.js", "tracker"),
        ("demo/index.html", "demo"),
    ] {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    root
}

#[tokio::test]
async fn the_console_tracker_bundle_and_demo_are_served() {
    let root = web_root();
    let mut cfg = config();
    cfg.web_root = WebRoot::Folder(root.path().to_path_buf());
    cfg.demo = true;
    let server = start(cfg).await;
    let text = |path: &'static str| {
        let url = format!("{}{path}", server.url());
        async move { http().get(url).send().await.unwrap() }
    };
    assert_eq!(text("/").await.text().await.unwrap(), "console");
    assert_eq!(
        text("/sessions/anything").await.text().await.unwrap(),
        "console",
        "client-side routes load the app"
    );
    assert_eq!(text("/tracker.js").await.text().await.unwrap(), "tracker");
    assert_eq!(text("/demo/").await.text().await.unwrap(), "demo");
    let missing = text("/api/v1/nothing").await;
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    server.stop().await;
}

#[tokio::test]
async fn the_demo_page_is_not_served_unless_asked_for() {
    let root = web_root();
    let mut cfg = config();
    cfg.web_root = WebRoot::Folder(root.path().to_path_buf());
    let server = start(cfg).await;
    let demo = http()
        .get(format!("{}/demo/", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(demo.status(), 404, "/demo/ is off by default");
    assert_ne!(demo.text().await.unwrap(), "demo");
    let nested = http()
        .get(format!("{}/demo/index.html", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(nested.status(), 404, "nor any file under it");
    server.stop().await;
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_content_security_policy() {
    let root = web_root();
    let mut cfg = config();
    cfg.web_root = WebRoot::Folder(root.path().to_path_buf());
    // The recorded site's own images load in replays, and its CDN's once named; nothing else.
    cfg.allowed_origins = vec!["https://shop.example".into()];
    cfg.asset_origins = vec!["https://cdn.shop.example/".into()];
    let server = start(cfg).await;
    let get = |path: &'static str| {
        let url = format!("{}{path}", server.url());
        async move { http().get(url).send().await.unwrap() }
    };
    for path in ["/", "/index.html", "/sessions/anything"] {
        let response = get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path} has no Content-Security-Policy"))
            .to_str()
            .unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self';",
            "img-src 'self' data: blob: https://cdn.shop.example https://shop.example;",
            "font-src 'self' data: https://cdn.shop.example https://shop.example;",
            "connect-src 'self';",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} in {csp}");
        }
        assert!(!csp.contains('*'), "{path}: no wildcard source in {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    for path in ["/tracker.js", "/api/v1/sessions", "/healthz"] {
        let response = get(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn an_asset_origin_that_is_not_an_origin_stops_the_server_from_starting() {
    for bad in [
        "https://cdn.example; script-src *",
        "https://cdn.example/images",
        "javascript:alert(1)",
        "*",
    ] {
        let mut cfg = config();
        cfg.asset_origins = vec![bad.into()];
        let error = cobrowse::app::server::start(cfg)
            .await
            .err()
            .unwrap_or_else(|| panic!("{bad} was taken as an asset origin"));
        assert!(error.to_string().contains("--asset-origin"), "{error}");
    }
}

#[tokio::test]
async fn agents_beyond_the_room_limit_are_refused_until_one_leaves() {
    let mut cfg = config();
    cfg.max_agents_per_room = 1;
    let server = start(cfg).await;
    let t = Tracker::open(&server, None, "tab-1").await;
    let first = agent(&server, &t.session_id, "").await;
    let url = format!(
        "{}/api/v1/sessions/{}/events/stream",
        server.url(),
        t.session_id
    );
    let refused = http()
        .get(&url)
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "too_many");
    drop(first);
    let deadline = Instant::now() + WAIT;
    loop {
        let response = http()
            .get(&url)
            .bearer_auth(AGENT_TOKEN)
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was never freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop().await;
}

/// A session token resumes its session only in the project it was started in, and only until
/// its lifetime from the session's start has passed, however often the tracker resumed since
/// (each `welcome` hands out a token with the first one's expiry).
#[tokio::test]
async fn a_session_token_is_bound_to_its_project_and_to_an_absolute_lifetime() {
    const TTL: Duration = Duration::from_secs(2);
    let mut cfg = config();
    cfg.project_keys = vec!["demo".into(), "other".into()];
    cfg.session_token_ttl = TTL;
    let server = start(cfg).await;
    let started = Instant::now();
    let t = Tracker::open(&server, None, "tab-1").await;

    let mut ws = connect(&server).await;
    let mut elsewhere = hello(Some(t.token.clone()), "tab-2");
    elsewhere.project_key = "other".into();
    send(&mut ws, &TrackerMessage::Hello(elsewhere)).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close::UNAUTHORIZED, "{reason}");
    assert!(reason.contains("another project"), "{reason}");

    let mut token = t.token.clone();
    for round in 0.. {
        let mut ws = connect(&server).await;
        let tab = format!("tab-r{round}");
        send(
            &mut ws,
            &TrackerMessage::Hello(hello(Some(token.clone()), &tab)),
        )
        .await;
        match recv(&mut ws).await {
            Ok(ServerMessage::Welcome { session_token, .. }) => {
                assert!(
                    started.elapsed() < TTL * 2,
                    "still resuming {:?} after the session started",
                    started.elapsed()
                );
                token = session_token;
                ws.close(None).await.unwrap();
            }
            Ok(other) => panic!("expected welcome or a close, got {other:?}"),
            Err((code, reason)) => {
                assert_eq!(code, close::UNAUTHORIZED);
                assert!(reason.contains("expired"), "{reason}");
                assert!(started.elapsed() >= TTL - Duration::from_millis(100));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
