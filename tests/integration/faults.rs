//! Fault injection on real processes: a store killed with -9 mid-burst and restarted on its data
//! directory, and a store that stalls for 10 s. A tracker keeps sending through the fault the way
//! the tracker plugin does (reconnect, resume the session, resend what was not acknowledged) and
//! agents stay attached (reconnecting where their socket closed, from the last record they had).
//! What operators rely on, checked and printed: every acknowledged event reaches the agents,
//! none twice, and how long the fault held acknowledgements up. The writer node killed mid-burst
//! is `live_path::killing_the_writer_node_loses_no_acknowledged_event`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cobrowse::protocol::{AgentMessage, RecordKind, ServerMessage, TrackerMessage};
use futures::SinkExt;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::cluster::{self, Process};
use crate::common::*;

const EVENTS: u64 = 2000;
const PER_BATCH: u64 = 10;
/// Longer than any fault here lasts, plus the time to come back from it.
const PATIENCE: Duration = Duration::from_secs(40);

/// When each acknowledgement arrived, so recovery is measured from the acks themselves.
type Acks = Arc<Mutex<Vec<(Instant, u64)>>>;

/// Opens a tracker on `node`, resuming with `token`; `None` while the node cannot take it.
async fn try_open(node: &impl Node, token: Option<String>) -> Option<Tracker> {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(node, "/api/v1/track"))
        .await
        .ok()?;
    send(&mut ws, &TrackerMessage::Hello(hello(token, "tab-1"))).await;
    match tokio::time::timeout(WAIT, recv(&mut ws)).await {
        Ok(Ok(ServerMessage::Welcome {
            session_id,
            session_token,
            ..
        })) => Some(Tracker {
            ws,
            session_id: session_id.to_string(),
            token: session_token,
        }),
        _ => None,
    }
}

/// Sends events `1..=EVENTS` in batches, each after the one before it was acknowledged; when the
/// connection fails, reconnects to `node` and resends from the first unacknowledged event.
fn keep_sending(node: Process, mut tracker: Tracker, acks: Acks) -> JoinHandle<Process> {
    tokio::spawn(async move {
        let deadline = Instant::now() + PATIENCE;
        let mut acked = 0;
        while acked < EVENTS {
            assert!(Instant::now() < deadline, "events acknowledged in time");
            let last = (acked + PER_BATCH).min(EVENTS);
            let batch = TrackerMessage::Events {
                events: (acked + 1..=last).map(rrweb).collect(),
            };
            let bytes = rmp_serde::to_vec_named(&batch).expect("encodes");
            let mut sent = tracker.ws.send(Message::Binary(bytes.into())).await.is_ok();
            while sent && acked < last {
                match tokio::time::timeout(PATIENCE, recv(&mut tracker.ws)).await {
                    Ok(Ok(ServerMessage::Ack { seq })) => {
                        acked = acked.max(seq);
                        acks.lock().unwrap().push((Instant::now(), seq));
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) | Err(_) => sent = false,
                }
            }
            while !sent {
                tokio::time::sleep(Duration::from_millis(100)).await;
                assert!(Instant::now() < deadline, "the tracker reconnects in time");
                if let Some(again) = try_open(&node, Some(tracker.token.clone())).await {
                    assert_eq!(again.session_id, tracker.session_id, "the session resumes");
                    tracker = again;
                    sent = true;
                }
            }
        }
        node
    })
}

/// What an agent saw of the tab's events, across reconnections.
struct Seen {
    distinct: usize,
    duplicates: usize,
    missing: Vec<u64>,
}

/// Follows the session until it has event `EVENTS`, reconnecting after the last record it got.
async fn watch(node: &impl Node, session: &str, mut ws: Ws) -> Seen {
    let deadline = Instant::now() + PATIENCE;
    let mut seqs = Vec::new();
    let mut resume = None;
    while seqs.last() != Some(&EVENTS) {
        assert!(Instant::now() < deadline, "the agent catches up in time");
        match agent_recv(&mut ws).await {
            Some(AgentMessage::Events { events }) => {
                for e in events {
                    resume = Some(e.seq_num + 1);
                    if e.kind == RecordKind::Rrweb {
                        seqs.push(e.client_seq);
                    }
                }
            }
            Some(_) => {}
            None => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let query = resume.map_or(String::new(), |s| format!("from_seq={s}"));
                ws = agent(node, session, &query).await;
            }
        }
    }
    let mut distinct = seqs.clone();
    distinct.sort_unstable();
    distinct.dedup();
    Seen {
        distinct: distinct.len(),
        duplicates: seqs.len() - distinct.len(),
        missing: (1..=EVENTS)
            .filter(|s| distinct.binary_search(s).is_err())
            .collect(),
    }
}

/// The first acknowledgement after `since`, as time since `since`.
fn recovered_after(acks: &Acks, since: Instant) -> Duration {
    acks.lock()
        .unwrap()
        .iter()
        .find(|(at, _)| *at > since)
        .map(|(at, _)| *at - since)
        .expect("acknowledgements resumed")
}

/// Runs a burst on one node over `store`, with one agent attached before it and one that joins
/// after; `fault` breaks the store mid-burst and returns when it is over, with the store to stop
/// at the end. Asserts nothing acknowledged is lost or shown twice, and prints the figures.
async fn through_a_fault<F, Fut>(name: &str, store: Process, fault: F)
where
    F: FnOnce(Process) -> Fut,
    Fut: Future<Output = Process>,
{
    let node = cluster::node(&store, "node-a").await;
    let mut tracker = Tracker::open(&node, None, "tab-1").await;
    tracker.write(vec![rrweb(1)]).await;
    let session = tracker.session_id.clone();
    let before = agent(&node, &session, "").await;
    let acks: Acks = Arc::new(Mutex::new(vec![(Instant::now(), 1)]));
    let sending = keep_sending(node, tracker, acks.clone());
    tokio::time::sleep(Duration::from_millis(700)).await;
    let acked_before = acks.lock().unwrap().last().map_or(0, |a| a.1);
    let store = fault(store).await;
    let over = Instant::now();
    let node = sending.await.expect("the tracker task");
    let recovery = recovered_after(&acks, over);
    let after = agent(&node, &session, "").await;

    for (who, ws) in [("attached", before), ("joined after", after)] {
        let seen = watch(&node, &session, ws).await;
        eprintln!(
            "fault {name}: agent {who}: acknowledged {EVENTS} ({acked_before} before the fault), lost {}, duplicates {}, recovered {} ms after the fault ended",
            seen.missing.len(),
            seen.duplicates,
            recovery.as_millis()
        );
        assert!(
            acked_before < EVENTS,
            "the fault came mid-burst (acked {acked_before})"
        );
        assert_eq!(seen.missing, Vec::<u64>::new(), "agent {who}: lost");
        assert_eq!(seen.duplicates, 0, "agent {who}: duplicates");
        assert_eq!(seen.distinct as u64, EVENTS);
    }
    node.kill().await;
    store.kill().await;
}

#[tokio::test]
async fn a_store_killed_mid_burst_and_restarted_on_its_data_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = cluster::durable_store(dir.path(), "127.0.0.1:0".parse().unwrap()).await;
    let path = dir.path().to_path_buf();
    through_a_fault("store kill -9 and restart", store, |store| async move {
        let addr = store.addr();
        store.kill().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        cluster::durable_store(&path, addr).await
    })
    .await;
}

#[tokio::test]
async fn a_store_that_stalls_for_ten_seconds_loses_nothing_acknowledged() {
    let store = cluster::store().await;
    through_a_fault("store stalled 10 s", store, |store| async move {
        store.signal("STOP").await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        store.signal("CONT").await;
        store
    })
    .await;
}
