//! Trackers that do not play by the rules: oversized and padded frames, integer tags, floods,
//! slow and silent clients. Each test says what the server refuses and what it keeps: whatever
//! it acknowledged before refusing is still there for an agent to read.

use std::collections::BTreeMap;
use std::time::Duration;

use cobrowse::protocol::{ServerMessage, TrackerMessage, close};
use cobrowse::tracker::MAX_HELLO_BYTES;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

/// Resets the process's peak RSS, so that `VmHWM` says what came after.
fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").expect("clear_refs (Linux)");
}

/// A `VmHWM:`/`VmRSS:` figure of this process, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// `{type: T, pad: [nil × n]}` as MessagePack, built by hand (with `events: []` for a batch).
fn padded(kind: &str, n: usize) -> Vec<u8> {
    let mut out = vec![if kind == "events" { 0x83 } else { 0x82 }, 0xa4];
    out.extend_from_slice(b"type");
    out.push(0xa0 | kind.len() as u8);
    out.extend_from_slice(kind.as_bytes());
    if kind == "events" {
        out.push(0xa6);
        out.extend_from_slice(b"events");
        out.push(0x90);
    }
    out.push(0xa3);
    out.extend_from_slice(b"pad");
    out.push(0xdd);
    out.extend_from_slice(&(n as u32).to_be_bytes());
    out.resize(out.len() + n, 0xc0);
    out
}

#[tokio::test]
async fn frames_padded_with_nils_cost_a_small_multiple_of_their_size() {
    let server = start(config()).await;
    let nils = 16 * 1024 * 1024 - 64;
    let hello_frame = padded("hello", nils);
    let events_frame = padded("events", nils);
    let before = status_kib("VmRSS:");
    reset_peak_rss();

    // Refused: a first frame over 64 KiB, before anything in it is decoded.
    let mut ws = connect(&server).await;
    ws.send(Message::Binary(hello_frame.into())).await.unwrap();
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close::TOO_BIG, "{reason}");

    // After the handshake the frame may be 16 MiB; its unknown field is skipped, not kept.
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write(vec![rrweb(1)]).await;
    t.ws.send(Message::Binary(events_frame.into()))
        .await
        .unwrap();
    // Kept: the connection, and what comes next.
    t.write(vec![rrweb(2)]).await;
    let grown_mib = status_kib("VmHWM:").saturating_sub(before) / 1024;
    // Before: one such hello alone raised the peak by about 528 MiB. The frames themselves are
    // 16 MiB each on both ends of the socket.
    assert!(grown_mib < 160, "peak RSS grew by {grown_mib} MiB");
    eprintln!("16 MiB nil frames: peak RSS grew by {grown_mib} MiB");
    server.stop().await;
}

/// A client frame as a tracker would write it, masked, with `opcode` (and the FIN bit unless
/// `fragment`) and a header announcing `announced` bytes, of which only `payload` follows.
fn raw_frame(opcode: u8, fragment: bool, announced: u64, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![if fragment { opcode } else { 0x80 | opcode }];
    match announced {
        0..=125 => out.push(0x80 | announced as u8),
        126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(announced as u16).to_be_bytes());
        }
        _ => {
            out.push(0x80 | 127);
            out.extend_from_slice(&announced.to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Opens a tracker socket and writes `bytes` on it as they are, past the client's framing.
async fn first_bytes(server: &impl Node, bytes: &[u8]) -> Ws {
    let mut ws = connect(server).await;
    ws.get_mut().write_all(bytes).await.unwrap();
    ws
}

#[tokio::test]
async fn a_first_frame_announcing_16_mib_is_refused_from_its_header() {
    let server = start(config()).await;
    // Before: the socket took frames up to 32 MiB, so it waited for the other 16 MiB (and would
    // have buffered them) until the 10 s hello timeout closed it with 4002.
    let started = std::time::Instant::now();
    let mut ws = first_bytes(&server, &raw_frame(0x2, false, 16 << 20, b"\x82\xa4type")).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close::TOO_BIG, "{reason}");
    assert!(reason.contains("16777216 bytes"), "{reason}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "refused after {:?}",
        started.elapsed()
    );
    // So is a first fragment that announces too much.
    let mut ws = first_bytes(&server, &raw_frame(0x2, true, 1 << 20, b"")).await;
    assert_eq!(expect_close(&mut ws).await.0, close::TOO_BIG);
    // Kept: a tracker whose hello is within the limit.
    Tracker::open(&server, None, "tab-1")
        .await
        .write(vec![rrweb(1)])
        .await;
    server.stop().await;
}

#[tokio::test]
async fn the_hello_limit_is_64_kib_to_the_byte() {
    let server = start(config()).await;
    let overhead = padded("hello", 0).len();
    let mut ws = connect(&server).await;
    let over = padded("hello", MAX_HELLO_BYTES + 1 - overhead);
    assert_eq!(over.len(), MAX_HELLO_BYTES + 1);
    ws.send(Message::Binary(over.into())).await.unwrap();
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close::TOO_BIG, "{reason}");
    assert!(reason.contains("65537 bytes"), "{reason}");
    // At the limit the frame is read and decoded: refused for what it holds, not its size.
    let mut ws = connect(&server).await;
    let at = padded("hello", MAX_HELLO_BYTES - overhead);
    ws.send(Message::Binary(at.into())).await.unwrap();
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close::INVALID_FRAME, "{reason}");
    server.stop().await;
}

#[tokio::test]
async fn first_frames_that_are_not_one_binary_hello_are_refused() {
    let server = start(config()).await;
    // Text, even when it announces more than a hello may be: 1007, as for text at any time.
    let mut ws = connect(&server).await;
    ws.send(Message::Text("{}".into())).await.unwrap();
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close::INVALID_FRAME, "{reason}");
    assert!(reason.contains("not text"), "{reason}");
    let mut ws = first_bytes(&server, &raw_frame(0x1, false, 16 << 20, b"{")).await;
    assert_eq!(expect_close(&mut ws).await.0, close::INVALID_FRAME);
    // The first part of a fragmented message, and a ping: not a hello.
    let mut ws = first_bytes(&server, &raw_frame(0x2, true, 3, b"\x81\xa4t")).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close::PROTOCOL, "{reason}");
    assert!(reason.contains("fragmented"), "{reason}");
    let mut ws = connect(&server).await;
    ws.send(Message::Ping("hi".into())).await.unwrap();
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close::PROTOCOL, "{reason}");
    assert!(reason.contains("must be 'hello'"), "{reason}");
    server.stop().await;
}

#[tokio::test]
async fn a_batch_written_with_the_hello_is_read_after_it() {
    let server = start(config()).await;
    let mut ws = connect(&server).await;
    // One write: the hello is read by hand and must leave the batch behind it to the socket.
    for message in [
        TrackerMessage::Hello(hello(None, "tab-1")),
        TrackerMessage::Events {
            events: vec![rrweb(1), rrweb(2)],
        },
    ] {
        let bytes = rmp_serde::to_vec_named(&message).unwrap();
        ws.feed(Message::Binary(bytes.into())).await.unwrap();
    }
    ws.flush().await.unwrap();
    assert!(matches!(
        recv(&mut ws).await,
        Ok(ServerMessage::Welcome { .. })
    ));
    loop {
        match recv(&mut ws).await {
            Ok(ServerMessage::Ack { seq }) => break assert_eq!(seq, 2),
            Ok(_) => {}
            Err(close) => panic!("closed: {close:?}"),
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_request_that_is_not_a_websocket_upgrade_is_a_clear_400() {
    let server = start(config()).await;
    let plain = http()
        .get(format!("{}/api/v1/track", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
    assert!(plain.text().await.unwrap().contains("upgrade"));
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let request = "GET /api/v1/track HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n\
                   Upgrade: websocket\r\nSec-WebSocket-Version: 12\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(WAIT, tcp.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("Sec-WebSocket-Version"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn an_integer_type_tag_is_refused_not_read_as_end() {
    let server = start(config()).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write(vec![rrweb(1)]).await;
    // `{type: 2}` was variant 2 of the message enum, `end`: it ended the session.
    let frame = rmp_serde::to_vec_named(&BTreeMap::from([("type", 2u8)])).unwrap();
    t.ws.send(Message::Binary(frame.into())).await.unwrap();
    let (code, reason) = expect_close(&mut t.ws).await;
    assert_eq!(code, close::PROTOCOL, "{reason}");
    // Kept: the session, which resumes.
    let mut again = Tracker::open(&server, Some(t.token.clone()), "tab-1").await;
    again.write(vec![rrweb(2)]).await;
    server.stop().await;
}

#[tokio::test]
async fn hello_fields_over_their_caps_are_refused() {
    let server = start(config()).await;
    let mut long_url = hello(None, "tab-1");
    long_url.page.url = format!("https://shop.example/{}", "x".repeat(9 * 1024));
    let mut many = hello(None, "tab-1");
    many.metadata = (0..65)
        .map(|i| (format!("k{i}"), "v".to_string()))
        .collect();
    let mut agent = hello(None, "tab-1");
    agent.page.user_agent = "u".repeat(2048);
    for (what, hello) in [("url", long_url), ("metadata", many), ("user_agent", agent)] {
        let mut ws = connect(&server).await;
        send(&mut ws, &TrackerMessage::Hello(hello)).await;
        let (code, reason) = expect_close(&mut ws).await;
        assert_eq!(code, close::PROTOCOL, "{what}: {reason}");
    }
    // Kept: a hello within the caps.
    Tracker::open(&server, None, "tab-1").await;
    let listed = get_json(&server, "/api/v1/sessions").await;
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn new_sessions_from_one_address_are_rate_limited_but_resumes_are_not() {
    let mut cfg = config();
    cfg.ingress.sessions_per_minute_per_address = 5;
    let server = start(cfg).await;
    let mut first = None;
    for _ in 0..5 {
        let t = Tracker::open(&server, None, "tab-1").await;
        first.get_or_insert(t);
    }
    let mut ws = connect(&server).await;
    send(&mut ws, &TrackerMessage::Hello(hello(None, "tab-1"))).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close::RATE_LIMITED);
    assert!(reason.contains("address"), "{reason}");
    // Kept: resuming an existing session does not start one.
    let first = first.unwrap();
    let mut again = Tracker::open(&server, Some(first.token), "tab-2").await;
    again.write(vec![rrweb(1)]).await;
    server.stop().await;
}

#[tokio::test]
async fn a_batch_over_the_event_limit_is_refused_and_acked_events_are_kept() {
    let mut cfg = config();
    cfg.ingress.max_batch_events = 100;
    let server = start(cfg).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write((1..=10).map(rrweb).collect()).await;
    // Before: one frame of 800 000 events was 800 000 records when the bucket was full.
    t.send_events((11..=111).map(rrweb).collect()).await;
    let (code, reason) = expect_close(&mut t.ws).await;
    assert_eq!(code, close::TOO_BIG);
    assert!(reason.contains("101 events"), "{reason}");
    let mut agent = agent(&server, &t.session_id, "").await;
    let events = agent_collect(&mut agent, |e| rrweb_seqs(e).len() >= 10).await;
    assert_eq!(rrweb_seqs(&events), (1..=10).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn bytes_per_second_per_session_are_limited() {
    let mut cfg = config();
    cfg.limits.max_frame_bytes = 256 * 1024;
    cfg.ingress.bytes_per_sec = 32 * 1024;
    let server = start(cfg).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    let big = |seq| event_with(seq, format!("\"{}\"", "x".repeat(100 * 1024)).into_bytes());
    t.write(vec![big(1)]).await;
    t.write(vec![big(2)]).await;
    // The third 100 KiB within a second is over the 128 KiB burst.
    t.send_events(vec![big(3)]).await;
    let (code, reason) = expect_close(&mut t.ws).await;
    assert_eq!(code, close::RATE_LIMITED);
    assert!(reason.contains("bytes per second"), "{reason}");
    server.stop().await;
}

#[tokio::test]
async fn a_batch_out_of_seq_order_is_refused_whole_and_nothing_vanishes() {
    let server = start(config()).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write(vec![rrweb(1), rrweb(2)]).await;
    // Before: acknowledged as 5, and 3 and 4 vanished without `rejected`.
    t.send_events(vec![rrweb(5), rrweb(3), rrweb(4)]).await;
    let (code, reason) = expect_close(&mut t.ws).await;
    assert_eq!(code, close::PROTOCOL);
    assert!(reason.contains("seq order"), "{reason}");
    // Kept: the tracker still holds 3, 4, 5 (nothing acked them) and resends them in order.
    let mut again = Tracker::open(&server, Some(t.token), "tab-1").await;
    again.write(vec![rrweb(3), rrweb(4), rrweb(5)]).await;
    let mut agent = agent(&server, &again.session_id, "").await;
    let events = agent_collect(&mut agent, |e| rrweb_seqs(e).len() >= 5).await;
    assert_eq!(rrweb_seqs(&events), vec![1, 2, 3, 4, 5]);
    server.stop().await;
}

/// The server refuses a tracker that floods with input unread, and reads (dropping) what still
/// comes for a while after its close frame. Closing a socket with unread input makes Linux send a
/// reset at once and throw away what it had not sent yet. This tracker has a small receive
/// buffer and writes for a second without reading, so the server's answers (a `rejected` for
/// each event that is not JSON, acks, the close frame) wait in the server's send queue; without
/// the linger they are lost to the reset and the tracker sees ECONNRESET.
#[tokio::test]
async fn a_flooding_tracker_sees_its_close_code_and_acks_not_a_reset() {
    let mut cfg = config();
    cfg.limits.events_per_sec = 1000;
    cfg.ingress.max_batch_events = 1000;
    let server = start(cfg).await;
    let t = small_buffered_tracker(&server, None).await;
    let (mut sink, mut stream) = t.ws.split();
    // Batches of 1000 events, every other one not JSON. The burst is 4000 events: the fifth batch
    // is refused (4029) with more queued behind it, unread.
    let flooding = tokio::time::timeout(Duration::from_secs(1), async {
        for batch in 0u64.. {
            let events = (batch * 1000 + 1..=batch * 1000 + 1000)
                .map(|seq| event_with(seq, if seq % 2 == 0 { b"x" } else { b"1" }.to_vec()))
                .collect();
            let frame = rmp_serde::to_vec_named(&TrackerMessage::Events { events }).unwrap();
            if sink.send(Message::Binary(frame.into())).await.is_err() {
                break;
            }
        }
    });
    let _ = flooding.await;
    let mut acked = 0;
    let close = loop {
        match tokio::time::timeout(WAIT, stream.next()).await.unwrap() {
            Some(Ok(Message::Binary(b))) => {
                if let Ok(ServerMessage::Ack { seq }) = rmp_serde::from_slice(&b) {
                    acked = seq;
                }
            }
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            // Without the linger: the server closed with input unread, and the reset came instead.
            Some(Err(e)) => panic!("connection reset instead of a close frame: {e}"),
            None => break None,
        }
    };
    // Refused: the flood, with its close code. Kept: the acks sent before it.
    assert_eq!(close, Some(close::RATE_LIMITED));
    assert!(acked >= 1000, "the acks before the close arrived: {acked}");
    server.stop().await;
}

#[tokio::test]
async fn tracker_control_messages_are_rate_limited() {
    let mut cfg = config();
    cfg.ingress.control_messages_per_sec = 2;
    let server = start(cfg).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write(vec![rrweb(1)]).await;
    for _ in 0..40 {
        let refused = TrackerMessage::Refused {
            agent_id: "nobody".into(),
            action: "click".into(),
            reason: "spam".into(),
        };
        send(&mut t.ws, &refused).await;
    }
    let (code, reason) = expect_close(&mut t.ws).await;
    assert_eq!(code, close::RATE_LIMITED);
    assert!(reason.contains("control messages"), "{reason}");
    server.stop().await;
}

#[tokio::test]
async fn tabs_per_session_are_capped_on_a_node() {
    let mut cfg = config();
    cfg.ingress.max_tabs_per_session = 2;
    let server = start(cfg).await;
    let first = Tracker::open(&server, None, "tab-1").await;
    let _second = Tracker::open(&server, Some(first.token.clone()), "tab-2").await;
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        &TrackerMessage::Hello(hello(Some(first.token.clone()), "tab-3")),
    )
    .await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close::RATE_LIMITED);
    assert!(reason.contains("tabs"), "{reason}");
    // Kept: once a tab leaves, another may join.
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let token = _second.token.clone();
    Tracker::open(&server, Some(token), "tab-3").await;
    server.stop().await;
}

#[tokio::test]
async fn a_silent_tracker_is_closed_after_the_idle_timeout() {
    let mut cfg = config();
    cfg.ingress.tracker_idle_timeout = Duration::from_secs(3);
    let server = start(cfg).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write(vec![rrweb(1)]).await;
    // Not read, so not even the pings are answered.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (code, reason) = expect_close(&mut t.ws).await;
    assert_eq!(code, close::TOO_SLOW, "{reason}");
    server.stop().await;
}

#[tokio::test]
async fn a_tracker_that_answers_pings_stays_connected() {
    let mut cfg = config();
    cfg.ingress.tracker_idle_timeout = Duration::from_secs(3);
    let server = start(cfg).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    // Reading answers the server's pings; nothing else is sent for 5 s.
    let quiet = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match t.ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                other => panic!("connection lost: {other:?}"),
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "closed: {:?}", quiet.ok());
    t.write(vec![rrweb(1)]).await;
    server.stop().await;
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_addresses_hold_their_share() {
    let mut cfg = config();
    cfg.ingress.header_read_timeout = Duration::from_secs(1);
    cfg.ingress.max_connections_per_address = 210;
    let server = start(cfg).await;
    // 200 clients sending a header byte every 500 ms.
    let mut slow = Vec::new();
    for _ in 0..200 {
        slow.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Refused: connections beyond the address's share are closed at once.
    let mut extra = Vec::new();
    for _ in 0..20 {
        extra.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let mut closed_at_once = 0;
    for socket in &mut extra {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(500), socket.read(&mut byte)).await
        {
            closed_at_once += 1;
        }
    }
    assert!(closed_at_once >= 10, "closed at once: {closed_at_once}");
    drop(extra);
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n";
    let started = std::time::Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(3) {
        for socket in &mut slow {
            let _ = socket.write_all(&request[i % request.len()..][..1]).await;
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut open = 0;
    for socket in &mut slow {
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(Duration::from_millis(200), socket.read(&mut buf)).await {
            // Cut off: end of stream, a reset, or hyper's 408 answer before closing.
            Ok(Ok(0) | Err(_)) => {}
            Ok(Ok(_)) => {}
            Err(_) => open += 1,
        }
    }
    assert_eq!(open, 0, "{open} slow connections still open after 3 s");
    // Kept: a client that sends its request at once is served.
    let ok = http()
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert!(ok.status().is_success());
    server.stop().await;
}

/// hyper's header timeout covers HTTP/1 only: an HTTP/2 client that dribbles its preface, or
/// sends it and then never a request, must not hold its connection either. Refused: both, once
/// the header timeout passes without a request. Kept: a client that asks at once is served.
#[tokio::test]
async fn http2_connections_without_a_request_are_cut_off_too() {
    let mut cfg = config();
    cfg.ingress.header_read_timeout = Duration::from_secs(1);
    let server = start(cfg).await;
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    // An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
    const SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
    let mut dribbling = TcpStream::connect(server.addr).await.unwrap();
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    silent.write_all(PREFACE).await.unwrap();
    silent.write_all(SETTINGS).await.unwrap();
    let started = std::time::Instant::now();
    for byte in PREFACE.iter().cycle().take(10) {
        if dribbling.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for (name, socket) in [("dribbling", &mut dribbling), ("silent", &mut silent)] {
        let closed = async {
            let mut buf = [0u8; 1024];
            // The silent one first gets the server's SETTINGS; then the connection ends.
            while let Ok(n) = socket.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(3), closed)
            .await
            .unwrap_or_else(|_| panic!("the {name} HTTP/2 connection is still open"));
    }
    assert!(started.elapsed() < Duration::from_secs(6));
    let ok = http()
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert!(ok.status().is_success());
    server.stop().await;
}

#[tokio::test]
async fn a_last_event_id_past_every_sequence_number_is_a_clear_400() {
    let server = start(config()).await;
    let t = Tracker::open(&server, None, "tab-1").await;
    let response = http()
        .get(format!(
            "{}/api/v1/sessions/{}/events/stream",
            server.url(),
            t.session_id
        ))
        .bearer_auth(AGENT_TOKEN)
        .header("Last-Event-ID", u64::MAX.to_string())
        .send()
        .await
        .expect("an answer, not a dropped connection");
    assert_eq!(response.status(), 400);
    let body = response.text().await.unwrap();
    assert!(body.contains("Last-Event-ID"), "{body}");
    server.stop().await;
}

/// A `/metrics` figure of `server` (a gauge or counter without labels).
async fn metric(server: &impl Node, name: &str) -> f64 {
    let text = metrics(server).await;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

/// Polls `metric` until it is `want`; false if it is not within `within`.
async fn metric_becomes(server: &impl Node, name: &str, want: f64, within: Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        if metric(server, name).await == want {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A tracker socket on a TCP connection with small kernel buffers (`SO_RCVBUF`, `SO_SNDBUF`), so
/// that a side that stops reading stalls the other soon; after its `hello` and `welcome`.
async fn small_buffered_tracker(server: &impl Node, token: Option<String>) -> Tracker {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(8 * 1024).unwrap();
    socket.set_send_buffer_size(64 * 1024).unwrap();
    let tcp = socket.connect(server.addr()).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(
        ws_url(server, "/api/v1/track"),
        MaybeTlsStream::Plain(tcp),
    )
    .await
    .expect("websocket connects");
    send(&mut ws, &TrackerMessage::Hello(hello(token, "tab-1"))).await;
    let Ok(ServerMessage::Welcome {
        session_id,
        session_token,
        ..
    }) = recv(&mut ws).await
    else {
        panic!("expected welcome");
    };
    Tracker {
        ws,
        session_id: session_id.to_string(),
        token: session_token,
    }
}

#[tokio::test]
async fn a_tracker_that_stops_reading_is_dropped_after_the_send_timeout() {
    let mut cfg = config();
    cfg.ingress.tracker_send_timeout = Duration::from_secs(1);
    // The listener's own write deadline (any socket) stays out of the way: this is the tracker's.
    cfg.ingress.send_timeout = Duration::from_secs(60);
    cfg.limits.events_per_sec = 1_000_000;
    cfg.ingress.max_batch_events = 10_000;
    let server = start(cfg).await;
    let t = small_buffered_tracker(&server, None).await;
    let (token, session) = (t.token.clone(), t.session_id.clone());
    assert_eq!(metric(&server, "cobrowse_tracker_connections").await, 1.0);
    // Batches of events that are not JSON: each event is answered with its own `rejected`, about
    // 1.7 times the batch's size, which this tracker never reads.
    let (mut sink, stream) = t.ws.split();
    let flood = tokio::spawn(async move {
        for batch in 0u64..200 {
            let events = (batch * 10_000 + 1..=batch * 10_000 + 10_000)
                .map(|seq| event_with(seq, b"x".to_vec()))
                .collect();
            let frame = rmp_serde::to_vec_named(&TrackerMessage::Events { events }).unwrap();
            if sink.send(Message::Binary(frame.into())).await.is_err() {
                break;
            }
        }
    });
    // Refused: a tracker that takes nothing for 1 s. Before: held (with its room seat) until the
    // 60 s listener deadline, or for ever without one.
    let dropped = metric_becomes(
        &server,
        "cobrowse_tracker_connections",
        0.0,
        Duration::from_secs(6),
    )
    .await;
    flood.abort();
    drop(stream);
    assert!(dropped, "a tracker that stopped reading is still connected");
    // Kept: the session, which the tab resumes.
    let mut again = Tracker::open(&server, Some(token), "tab-1").await;
    assert_eq!(again.session_id, session);
    again.write(vec![rrweb(1)]).await;
    server.stop().await;
}

#[tokio::test]
async fn an_sse_client_that_stops_reading_is_dropped_after_the_send_timeout() {
    let mut cfg = config();
    cfg.ingress.send_timeout = Duration::from_secs(1);
    cfg.limits.max_frame_bytes = 2 << 20;
    cfg.ingress.bytes_per_sec = 1 << 30;
    let server = start(cfg).await;
    let mut t = Tracker::open(&server, None, "tab-1").await;
    t.write(vec![rrweb(1)]).await;
    // An SSE client with a small receive buffer that reads the response head and then nothing.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(8 * 1024).unwrap();
    let mut tcp = socket.connect(server.addr).await.unwrap();
    let request = format!(
        "GET /api/v1/sessions/{}/events/stream HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {AGENT_TOKEN}\r\nAccept: text/event-stream\r\n\r\n",
        t.session_id
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 512];
    let n = tokio::time::timeout(WAIT, tcp.read(&mut head))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        metric_becomes(
            &server,
            "cobrowse_agent_connections",
            1.0,
            Duration::from_secs(5)
        )
        .await
    );
    // The session produces 8 MiB while the client reads nothing.
    let big = |seq| event_with(seq, format!("\"{}\"", "z".repeat(512 * 1024)).into_bytes());
    for seq in 2..=17 {
        t.write(vec![big(seq)]).await;
    }
    // Refused: a stream whose socket took nothing for 1 s. Before: the agent seat, its
    // subscription and the connection were held for as long as the client stayed silent.
    let dropped = metric_becomes(
        &server,
        "cobrowse_agent_connections",
        0.0,
        Duration::from_secs(6),
    )
    .await;
    assert!(
        dropped,
        "an SSE client that stopped reading is still attached"
    );
    drop(tcp);
    // Kept: the tracker, whose socket kept taking its acks, and a reader that reads.
    t.write(vec![rrweb(18)]).await;
    let mut agent = agent(&server, &t.session_id, "").await;
    let events = agent_collect(&mut agent, |e| rrweb_seqs(e).contains(&18)).await;
    assert_eq!(rrweb_seqs(&events), (1..=18).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn a_tracker_socket_is_not_read_past_its_bytes_in_flight() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let store = crate::cluster::store().await;
    let mut cfg = config();
    cfg.s2_endpoint = Some(store.url.clone());
    cfg.ingress.max_in_flight_bytes = 512 * 1024;
    cfg.ingress.bytes_per_sec = 1 << 30;
    let server = start(cfg).await;
    let mut t = small_buffered_tracker(&server, None).await;
    t.write(vec![rrweb(1)]).await;
    let session = t.session_id.clone();
    // Acks cannot come while the store is stopped.
    store.signal("STOP").await;
    // 60 batches of 256 KiB (15 MiB): fewer than the 64 batches a socket may have in flight, so
    // only the byte cap stops the server reading.
    let last = 61;
    let big = |seq| event_with(seq, format!("\"{}\"", "w".repeat(256 * 1024)).into_bytes());
    let (mut sink, mut stream) = t.ws.split();
    let sent = Arc::new(AtomicU64::new(1));
    let sender = tokio::spawn({
        let sent = sent.clone();
        async move {
            for seq in 2..=last {
                let batch = TrackerMessage::Events {
                    events: vec![big(seq)],
                };
                let frame = rmp_serde::to_vec_named(&batch).unwrap();
                sink.send(Message::Binary(frame.into()))
                    .await
                    .expect("send");
                sent.store(seq, Ordering::SeqCst);
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Refused: reading past 512 KiB unacknowledged; the tracker's writes back up into its socket.
    // Before (and with the cap lifted): all 15 MiB read and held for the store.
    let stalled_at = sent.load(Ordering::SeqCst);
    assert!(stalled_at > 1, "batches under the cap are taken");
    assert!(
        stalled_at < last,
        "all {last} batches were taken while none could be acknowledged"
    );
    store.signal("CONT").await;
    // Kept: everything, acknowledged once the store is back.
    tokio::time::timeout(WAIT, sender)
        .await
        .expect("the rest is taken once acks come")
        .unwrap();
    let acked = tokio::time::timeout(WAIT, async {
        while let Some(Ok(message)) = stream.next().await {
            if let Message::Binary(b) = message
                && let Ok(ServerMessage::Ack { seq }) = rmp_serde::from_slice(&b)
                && seq == last
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(acked, Ok(true), "every batch acknowledged");
    eprintln!("bytes in flight: the tracker's writes stalled after batch {stalled_at} of {last}");
    let unlimited = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    let (mut agent, _) = tokio_tungstenite::connect_async_with_config(
        agent_request(&server, AGENT_TOKEN, &session, ""),
        Some(unlimited),
        false,
    )
    .await
    .unwrap();
    let events = agent_collect(&mut agent, |e| rrweb_seqs(e).contains(&last)).await;
    assert_eq!(rrweb_seqs(&events), (1..=last).collect::<Vec<_>>());
    server.stop().await;
}
