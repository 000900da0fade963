//! The simulated agents: following a session live and accounting for every event, and joining
//! sessions during the window to time the first full snapshot.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;

use cobrowse::protocol::{AgentMessage, DeliveredEvent, RecordKind};

use super::sim::{DRAIN, LoadConfig, Socket, Totals, ws_base};
use cobrowse::clock::now_micros;

/// How long an agent joining during the window waits for its first full snapshot.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// An agent's live WebSocket, once it has caught up with the session.
pub(super) async fn open_agent(server: &str, token: &str, session_id: &str) -> Option<Socket> {
    let (mut ws, _) = tokio_tungstenite::connect_async(agent_request(server, token, session_id)?)
        .await
        .ok()?;
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Binary(b) = message
            && let Ok(AgentMessage::CaughtUp { .. }) = rmp_serde::from_slice(&b)
        {
            return Some(ws);
        }
    }
    None
}

/// The upgrade request of an agent's live WebSocket, the token in its `Authorization` header
/// (the server takes no token in a URL); `None` if the token cannot be a header value.
fn agent_request(server: &str, token: &str, session_id: &str) -> Option<Request> {
    let mut request = format!(
        "{}/api/v1/sessions/{session_id}/live?from=live",
        ws_base(server)
    )
    .into_client_request()
    .ok()?;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
    request.headers_mut().insert(AUTHORIZATION, bearer);
    Some(request)
}

/// An agent joining a random live session during the window: times its connect to the first
/// full snapshot sent after it (the one its tracker sends on the `resync` the join causes), then
/// stays, reading, until the window closes.
async fn join(
    config: Arc<LoadConfig>,
    totals: Arc<Totals>,
    session_id: String,
    window_end: Instant,
    mut stop: watch::Receiver<bool>,
) {
    let connect = now_micros();
    let Some(request) = agent_request(&config.server, &config.agent_token, &session_id) else {
        return;
    };
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(request).await else {
        totals.joins_failed.fetch_add(1, Ordering::SeqCst);
        return;
    };
    let deadline = (Instant::now() + JOIN_TIMEOUT).min(window_end);
    let snapshot = tokio::time::timeout_at(deadline.into(), async {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Binary(b) = message
                && let Ok(AgentMessage::Events { events }) = rmp_serde::from_slice(&b)
                && has_snapshot_sent_since(&events, connect)
            {
                return Some(now_micros());
            }
        }
        None
    })
    .await;
    match snapshot {
        Ok(Some(at)) => totals
            .joins
            .lock()
            .expect("lock")
            .push(at.saturating_sub(connect)),
        Ok(None) => {
            totals.joins_failed.fetch_add(1, Ordering::SeqCst);
            return;
        }
        Err(_) => {
            totals.joins_timed_out.fetch_add(1, Ordering::SeqCst);
        }
    }
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            message = ws.next() => if !matches!(message, Some(Ok(_))) { return },
        }
    }
    let _ = ws.close(None).await;
}

/// Starts `config.joins` agents at even intervals over the first three quarters of the window,
/// so that the last has a quarter of it to get its snapshot, each on a random connected
/// session; returns once they have all finished.
pub(super) async fn join_during(
    config: Arc<LoadConfig>,
    totals: Arc<Totals>,
    live: Arc<Mutex<Vec<String>>>,
    window_end: Instant,
    stop: watch::Receiver<bool>,
) {
    let start = Instant::now();
    let mut joins = Vec::new();
    for k in 0..config.joins {
        tokio::time::sleep_until((start + join_offset(k, config.joins, config.duration)).into())
            .await;
        let session_id = {
            let live = live.lock().expect("lock");
            if live.is_empty() {
                break;
            }
            live[rand::random_range(0..live.len())].clone()
        };
        joins.push(tokio::spawn(join(
            config.clone(),
            totals.clone(),
            session_id,
            window_end,
            stop.clone(),
        )));
    }
    for join in joins {
        let _ = join.await;
    }
}

/// When join `k` of `joins` starts, counted from the window's start.
fn join_offset(k: usize, joins: usize, window: Duration) -> Duration {
    window.mul_f64(0.75 * (k + 1) as f64 / (joins + 1) as f64)
}

/// Whether `events` hold a full snapshot that its tracker sent at or after `since` (µs): one sent
/// earlier was on its way before the agent asked and says nothing about the join.
fn has_snapshot_sent_since(events: &[DeliveredEvent], since: u64) -> bool {
    /// The one field of an rrweb event that tells a full snapshot (type 2).
    #[derive(serde::Deserialize)]
    struct Rrweb {
        #[serde(rename = "type")]
        kind: u8,
    }
    events
        .iter()
        .filter(|e| e.kind == RecordKind::Rrweb && e.client_ts >= since)
        .any(|e| serde_json::from_slice::<Rrweb>(&e.data).is_ok_and(|r| r.kind == 2))
}

/// What an agent needs to know about its session to settle its account.
pub(super) struct Progress {
    /// The tracker's last acknowledged seq.
    pub(super) acked_through: Arc<AtomicU64>,
    /// The tracker has had its last acknowledgement.
    pub(super) tracker_done: Arc<AtomicBool>,
    /// When the agent's join is timed from (µs): its first full snapshot must be sent after it.
    pub(super) joined: u64,
}

/// An agent following a session: records latency, and counts what it missed or saw twice. It
/// settles its account only once its tracker has had its last acknowledgement.
pub(super) async fn follow(
    mut ws: Socket,
    totals: Arc<Totals>,
    progress: Progress,
    mut stop: watch::Receiver<bool>,
) {
    let Progress {
        acked_through,
        tracker_done,
        joined,
    } = progress;
    let mut snapshot_at = None;
    let mut seen: Vec<bool> = Vec::new();
    let mut latencies = Vec::new();
    let mut draining: Option<Instant> = None;
    loop {
        let message = tokio::select! {
            message = ws.next() => message,
            _ = stop.changed(), if draining.is_none() => {
                draining = Some(Instant::now() + DRAIN);
                continue;
            }
            _ = tokio::time::sleep(Duration::from_millis(50)), if draining.is_some() => None,
        };
        if let Some(Ok(Message::Binary(b))) = &message
            && let Ok(AgentMessage::Events { events }) = rmp_serde::from_slice(b)
        {
            let now = now_micros();
            if snapshot_at.is_none() && has_snapshot_sent_since(&events, joined) {
                snapshot_at = Some(now);
            }
            for e in events.iter().filter(|e| e.kind == RecordKind::Rrweb) {
                let i = e.client_seq as usize;
                if seen.len() <= i {
                    seen.resize(i + 1, false);
                }
                if seen[i] {
                    totals.duplicated.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                seen[i] = true;
                latencies.push(now.saturating_sub(e.client_ts));
                totals.delivered.fetch_add(1, Ordering::Relaxed);
                totals
                    .delivered_bytes
                    .fetch_add(e.data.len() as u64, Ordering::Relaxed);
            }
        }
        if let Some(deadline) = draining {
            let acked = acked_through.load(Ordering::SeqCst) as usize;
            let complete = tracker_done.load(Ordering::SeqCst)
                && seen.len() > acked
                && seen[1..=acked].iter().all(|s| *s);
            if complete || Instant::now() > deadline || matches!(message, Some(Err(_))) {
                break;
            }
        }
    }
    let acked = acked_through.load(Ordering::SeqCst) as usize;
    let missing = (1..=acked)
        .filter(|&i| !seen.get(i).copied().unwrap_or(false))
        .count();
    totals.lost.fetch_add(missing as u64, Ordering::SeqCst);
    totals.latencies.lock().expect("lock").extend(latencies);
    if let Some(at) = snapshot_at {
        totals
            .initial_joins
            .lock()
            .expect("lock")
            .push(at.saturating_sub(joined));
    }
    let _ = ws.close(None).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_bytes::ByteBuf;

    #[test]
    fn joins_are_spread_over_the_first_three_quarters_of_the_window() {
        let window = Duration::from_secs(40);
        let offsets: Vec<Duration> = (0..3).map(|k| join_offset(k, 3, window)).collect();
        assert_eq!(
            offsets,
            [7.5, 15.0, 22.5].map(Duration::from_secs_f64).to_vec()
        );
        assert_eq!(join_offset(0, 1, window), Duration::from_secs(15));
    }

    fn event(client_ts: u64, json: &str) -> DeliveredEvent {
        DeliveredEvent {
            seq_num: 0,
            ts: 0,
            kind: RecordKind::Rrweb,
            tab: "t".into(),
            client_seq: 1,
            client_ts,
            data: ByteBuf::from(json.as_bytes().to_vec()),
        }
    }

    #[test]
    fn a_join_counts_only_a_full_snapshot_sent_after_it() {
        let snapshot = r#"{"type":2,"data":{"node":{}},"timestamp":1}"#;
        let meta = r#"{"type":4,"data":{"href":"x"},"timestamp":1}"#;
        assert!(has_snapshot_sent_since(
            &[event(100, meta), event(100, snapshot)],
            100
        ));
        assert!(!has_snapshot_sent_since(&[event(99, snapshot)], 100));
        assert!(!has_snapshot_sent_since(&[event(100, meta)], 100));
        assert!(!has_snapshot_sent_since(&[event(100, "not json")], 100));
        let mut start = event(100, snapshot);
        start.kind = RecordKind::Start;
        assert!(!has_snapshot_sent_since(&[start], 100));
    }
}
