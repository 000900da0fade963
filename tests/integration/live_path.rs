//! The live path: agents on the node that writes a session are fed from the writer's append
//! acknowledgements, agents elsewhere from an S2 read session, and a joining agent switches from
//! reading the stream to the feed. What users rely on: every acknowledged event reaches every
//! agent once, in order, whatever joins, takeovers or crashes happen meanwhile, and what the feed
//! hands out is exactly what the stream holds.

use std::sync::Arc;
use std::time::Duration;

use cobrowse::metrics::Metrics;
use cobrowse::protocol::SessionId;
use cobrowse::protocol::{RecordKind, ServerMessage, TrackerMessage};
use cobrowse::store::embedded::{EmbeddedEngine, EmbeddedS2};
use cobrowse::store::feed::Feed;
use cobrowse::store::frame::Event;
use cobrowse::store::lite::LiteBackend;
use cobrowse::store::location::StoreLocation;
use cobrowse::store::sdk::SdkConfig;
use cobrowse::store::stream::{Landed, Store, session_settings};
use cobrowse::store::writer::{Claim, Writer};
use cobrowse::store::{ReadFrom, StoredRecord};
use futures::SinkExt;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::cluster;
use crate::common::*;

const RETENTION: Duration = Duration::from_secs(3600);

fn event(seq: u64, body: Vec<u8>) -> Event {
    Event {
        kind: RecordKind::Rrweb,
        tab: "tab-1".into(),
        seq,
        ts: 1_700_000_000_000 + seq,
        body: body.into(),
    }
}

/// Writes a mix of appends through a writer on `store` and checks that what the feed handed
/// out, record by record (sequence number, timestamp, body), is what a read of the same range
/// returns.
async fn feed_equals_read(store: Store) {
    let id = SessionId::new();
    let stream = store.create_session(id).await.unwrap();
    let feed = Feed::new(stream.clone());
    let timestamp = cobrowse::clock::now_ms();
    let landed = stream
        .claim(&event(0, b"{}".to_vec()), "test.claim", timestamp)
        .await
        .unwrap();
    let claim = Claim {
        token: "test.claim".into(),
        timestamp,
        landed,
    };
    let writer = Writer::spawn(
        stream.clone(),
        claim,
        feed.clone(),
        Arc::new(Metrics::new()),
        Duration::from_secs(60),
    );
    let mut live = feed.subscribe();
    let first = stream.tail().await.unwrap().seq_num;

    // Small batches; one over S2's 1000 records per append; one event split over records.
    let mut seq = 1;
    for size in [1, 5, 1200, 3] {
        let events = (0..size)
            .map(|_| {
                seq += 1;
                event(seq, format!(r#"{{"n":{seq}}}"#).into_bytes())
            })
            .collect();
        writer.append(events).await.await.unwrap();
    }
    let big: Vec<u8> = (0..1_500_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let big = event(seq + 1, big);
    let big_parts = cobrowse::store::frame::encode(&big).len();
    assert!(big_parts > 1, "the big event spans records");
    writer.append(vec![big]).await.await.unwrap();
    let end = stream.tail().await.unwrap().seq_num;

    let mut fed: Vec<StoredRecord> = Vec::new();
    while fed.last().is_none_or(|r| r.seq_num + 1 < end) {
        let batch = tokio::time::timeout(WAIT, live.recv())
            .await
            .expect("the feed delivers")
            .unwrap();
        match batch.as_ref() {
            Landed::Records(records) => fed.extend(records.iter().cloned()),
            Landed::Unknown { .. } => panic!("the store kept the writer's timestamps"),
        }
    }
    let mut read = Vec::new();
    while read.len() < fed.len() {
        let from = first + read.len() as u64;
        read.extend(stream.read(ReadFrom::SeqNum(from), 1000).await.unwrap());
    }
    assert_eq!(
        fed.len(),
        1 + 5 + 1200 + 3 + big_parts,
        "each event a record, the big one its parts"
    );
    assert_eq!(fed, read, "the feed is what the stream holds");
    let stamps: Vec<u64> = fed.iter().map(|r| r.timestamp).collect();
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "timestamps never go back"
    );
    assert!(*stamps.last().unwrap() <= cobrowse::clock::now_ms());
}

#[tokio::test]
async fn the_writer_feed_equals_a_read_of_the_embedded_store() {
    let engine = EmbeddedEngine::open(&StoreLocation::Memory).await.unwrap();
    let lite = LiteBackend::open(engine.backend(), "cobrowse", session_settings(RETENTION))
        .await
        .unwrap();
    feed_equals_read(Store::new(Arc::new(lite), RETENTION)).await;
    engine.close().await;
}

#[tokio::test]
async fn the_writer_feed_equals_a_read_of_a_separate_store() {
    let served = EmbeddedS2::start(&StoreLocation::Memory, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let sdk = SdkConfig {
        endpoint: Some(served.endpoint()),
        token: "s2-lite".into(),
        basin: "cobrowse".into(),
    };
    feed_equals_read(Store::connect(&sdk, RETENTION).await.unwrap()).await;
    served.close().await;
}

/// Sends events `from..=to` in batches of `per_batch` without waiting between them, and returns
/// the tracker once the last one is acknowledged (or, if the socket closes, the highest
/// acknowledged sequence number).
fn burst(mut tracker: Tracker, from: u64, to: u64, per_batch: u64) -> JoinHandle<(Tracker, u64)> {
    tokio::spawn(async move {
        let mut next = from;
        let mut acked = from - 1;
        while next <= to {
            let last = (next + per_batch - 1).min(to);
            let events = TrackerMessage::Events {
                events: (next..=last).map(rrweb).collect(),
            };
            let bytes = rmp_serde::to_vec_named(&events).expect("encodes");
            if tracker
                .ws
                .send(Message::Binary(bytes.into()))
                .await
                .is_err()
            {
                // The node went away: what it acknowledged is all this burst got.
                break;
            }
            next = last + 1;
            // A little pacing, so agents can join while the burst goes on.
            tokio::time::sleep(Duration::from_millis(2)).await;
            while let Ok(Ok(message)) =
                tokio::time::timeout(Duration::ZERO, recv(&mut tracker.ws)).await
            {
                if let ServerMessage::Ack { seq } = message {
                    acked = acked.max(seq);
                }
            }
        }
        loop {
            if acked >= to {
                break;
            }
            match recv(&mut tracker.ws).await {
                Ok(ServerMessage::Ack { seq }) => acked = acked.max(seq),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        (tracker, acked)
    })
}

/// Collects an agent's rrweb events until it has `last`.
async fn until_seq(agent: &mut Ws, last: u64) -> Vec<u64> {
    rrweb_seqs(&agent_collect(agent, |e| rrweb_seqs(e).last().is_some_and(|s| *s >= last)).await)
}

/// A run of consecutive sequence numbers ending at `last`: nothing missed, nothing twice.
fn assert_whole_run(seqs: &[u64], last: u64, who: &str) {
    assert!(!seqs.is_empty(), "{who} received nothing");
    let first = seqs[0];
    assert_eq!(seqs, (first..=last).collect::<Vec<_>>(), "{who}");
}

#[tokio::test]
async fn agents_joining_during_a_burst_get_every_event_once_in_order() {
    let server = start(config()).await;
    let mut tracker = Tracker::open(&server, None, "tab-1").await;
    tracker.write((1..=20).map(rrweb).collect()).await;
    let session = tracker.session_id.clone();
    const LAST: u64 = 3000;
    let writing = burst(tracker, 21, LAST, 5);

    // Joining at different moments of the burst, from its beginning, from live and from the
    // middle of the stream; two of them before the first feed batch exists at all.
    let mut joined = Vec::new();
    for (i, query) in ["", "from=live", "", "from=live", "from_seq=10", "from=live"]
        .into_iter()
        .enumerate()
    {
        joined.push((query, agent(&server, &session, query).await));
        tokio::time::sleep(Duration::from_millis(15 * i as u64)).await;
    }
    let (_tracker, acked) = writing.await.unwrap();
    assert_eq!(acked, LAST);
    for (query, mut agent) in joined {
        let seqs = until_seq(&mut agent, LAST).await;
        if query.is_empty() {
            assert_eq!(
                seqs,
                (1..=LAST).collect::<Vec<_>>(),
                "agent from the beginning"
            );
        } else {
            assert_whole_run(&seqs, LAST, query);
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_takeover_during_a_burst_costs_no_agent_an_event() {
    let (store, a, b) = two_nodes_on_a_served_store().await;

    let mut on_a = Tracker::open(&a, None, "tab-1").await;
    on_a.write((1..=10).map(rrweb).collect()).await;
    let session = on_a.session_id.clone();
    let token = on_a.token.clone();
    // Fed by A's writer, and by B's S2 tail.
    let mut agent_a = agent(&a, &session, "").await;
    let mut agent_b = agent(&b, &session, "").await;
    let (on_a, acked) = burst(on_a, 11, 1000, 10).await.unwrap();
    assert_eq!(acked, 1000);

    // The tab moves to B mid-stream: A's writer is fenced out, and A's agents switch from its
    // writer to an S2 tail while B's agents switch from the tail to B's writer.
    let on_b = Tracker::open(&b, Some(token), "tab-1").await;
    let joining_a = agent(&a, &session, "from=live").await;
    let writing = burst(on_b, 1001, 2000, 10);
    let joining_b = agent(&b, &session, "from=live").await;
    let (_on_b, acked) = writing.await.unwrap();
    assert_eq!(acked, 2000);
    drop(on_a);

    let full: Vec<u64> = (1..=2000).collect();
    assert_eq!(until_seq(&mut agent_a, 2000).await, full, "agent on A");
    assert_eq!(until_seq(&mut agent_b, 2000).await, full, "agent on B");
    for (name, mut agent) in [("joined A", joining_a), ("joined B", joining_b)] {
        assert_whole_run(&until_seq(&mut agent, 2000).await, 2000, name);
    }
    a.stop().await;
    b.stop().await;
    store.close().await;
}

#[tokio::test]
async fn killing_the_writer_node_loses_no_acknowledged_event() {
    let store = cluster::store().await;
    let a = cluster::node(&store, "node-a").await;
    let b = cluster::node(&store, "node-b").await;

    let mut on_a = Tracker::open(&a, None, "tab-1").await;
    on_a.write((1..=10).map(rrweb).collect()).await;
    let session = on_a.session_id.clone();
    let token = on_a.token.clone();
    let mut watching_b = agent(&b, &session, "").await;
    let writing = burst(on_a, 11, 5000, 5);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The writer's process dies mid-burst, with appends in flight.
    let killed = std::time::Instant::now();
    drop(a);
    let (_on_a, acked) = writing.await.unwrap();
    assert!(
        acked < 5000,
        "the burst was cut short (acked {acked}); kill sooner"
    );

    // An agent joins while no node writes the session; then the tab comes back on B and
    // resends everything it holds unacknowledged.
    let mut joined_b = agent(&b, &session, "from=live").await;
    let mut on_b = Tracker::open(&b, Some(token), "tab-1").await;
    // In batches the server takes (at most --max-batch-events each), as a tracker sends them.
    let resend: Vec<u64> = (acked + 1..=5000).collect();
    for batch in resend.chunks(1000) {
        on_b.send_events(batch.iter().copied().map(rrweb).collect())
            .await;
    }
    on_b.wait_ack(5000).await;
    let recovery = killed.elapsed();

    let seqs = until_seq(&mut watching_b, 5000).await;
    let mut distinct = seqs.clone();
    distinct.sort_unstable();
    distinct.dedup();
    eprintln!(
        "fault writer node kill -9: acknowledged 5000 ({acked} before the kill), lost {}, duplicates {}, {} ms from the kill until the resend on node B was acknowledged",
        5000 - distinct.len(),
        seqs.len() - distinct.len(),
        recovery.as_millis()
    );
    let mut deduped = seqs.clone();
    deduped.dedup();
    assert_eq!(
        deduped, seqs,
        "nothing shown twice, even what A wrote and the tab resent"
    );
    assert_eq!(
        seqs,
        (1..=5000).collect::<Vec<_>>(),
        "nothing acknowledged was lost"
    );
    let joined = until_seq(&mut joined_b, 5000).await;
    assert_whole_run(&joined, 5000, "agent that joined during the crash");
}
