//! `cobrowse load --seed-sessions N --seed-live L`: fills a server's session directory with N
//! sessions that a console can find, for measuring the list and its search
//! ([`directory`](super::directory)). Each session is one simulated tracker whose `hello` names a
//! distinct user and carries metadata; it sends a few events and waits for their acknowledgement,
//! so the session is in the store. L of them, spread evenly over the N, stay connected (live) for
//! `--duration` or until interrupted; the others end (`end`, as the tracker's `cobrowse.end()`)
//! and the tool waits for the server to close them, which it does once the end is recorded.
//!
//! The values are chosen so a search can be aimed: user `user-00042@example.com` (a `user=` prefix
//! of `user-0004` matches ten), metadata `plan` (free, team or enterprise: a third each) and
//! `account` (`acct-0004`: ten consecutive sessions share one).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cobrowse::clock::now_micros;
use futures::{SinkExt, StreamExt};
use serde::Serialize;
use serde_bytes::ByteBuf;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use cobrowse::protocol::{
    Hello, PROTOCOL_VERSION, PageInfo, ServerMessage, TrackerEvent, TrackerEventKind,
    TrackerMessage, Viewport,
};

use super::mix::EventMix;
use super::process::{local_pid, read_proc};
use super::sim::{Socket, binary, is_watched, open_tracker_with};

/// Trackers connecting at once.
const CONNECT_CONCURRENCY: usize = 64;
/// How long a tracker waits for its events' acknowledgement, or an ended one for its close.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest snapshot event a seeded tracker sends.
const SMALL_EVENT: usize = 1024;
const PLANS: [&str; 3] = ["free", "team", "enterprise"];

#[derive(Debug, Clone)]
pub struct SeedConfig {
    pub server: String,
    pub project_key: String,
    /// Sessions to create.
    pub sessions: usize,
    /// Of those, how many stay connected.
    pub live: usize,
    /// Events each tracker sends before it ends or holds.
    pub events: usize,
    /// How long the live ones stay connected after seeding.
    pub hold: Duration,
    pub mix: EventMix,
    pub server_pid: Option<u32>,
}

/// What seeding did, printed as soon as every session is created (before the live ones are
/// held), so a script can go on.
#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    pub target: String,
    /// Sessions created, acknowledged and (if not live) ended.
    pub sessions: u64,
    pub live: u64,
    pub ended: u64,
    /// Trackers refused, not acknowledged, or not closed after their end.
    pub failures: u64,
    pub seconds: f64,
    pub sessions_per_s: f64,
    /// The server's RSS before and after, when it runs on this machine.
    pub server_rss_before_mb: Option<f64>,
    pub server_rss_after_mb: Option<f64>,
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "target    {}", self.target)?;
        writeln!(
            f,
            "seeded    {} sessions ({} live, {} ended, {} failed) in {:.1} s, {:.0} sessions/s",
            self.sessions, self.live, self.ended, self.failures, self.seconds, self.sessions_per_s
        )?;
        if let (Some(before), Some(after)) = (self.server_rss_before_mb, self.server_rss_after_mb) {
            writeln!(f, "server    RSS {before:.1} → {after:.1} MB")?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Counts {
    live: AtomicU64,
    ended: AtomicU64,
    failures: AtomicU64,
}

/// The `hello` of seeded session `index`.
pub fn seed_hello(project_key: &str, index: usize) -> Hello {
    let mut metadata = BTreeMap::new();
    metadata.insert("plan".to_string(), PLANS[index % PLANS.len()].to_string());
    metadata.insert("account".to_string(), format!("acct-{:04}", index / 10));
    Hello {
        protocol: PROTOCOL_VERSION,
        project_key: project_key.to_string(),
        session_token: None,
        tab: format!("seed-{index}"),
        page: PageInfo {
            url: format!("https://shop.example/cart/{index}"),
            referrer: None,
            title: Some("seed".into()),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36".into(),
            viewport: Viewport {
                width: 1280,
                height: 800,
            },
        },
        user_id: Some(format!("user-{index:05}@example.com")),
        metadata,
        view: Default::default(),
    }
}

/// Creates the sessions; calls `seeded` with the report once all are created, then holds the
/// live ones until `hold` elapses or `stop` fires.
pub async fn seed(
    config: SeedConfig,
    seeded: impl FnOnce(&SeedReport),
    stop: impl std::future::Future<Output = ()>,
) -> SeedReport {
    let config = Arc::new(config);
    let counts = Arc::new(Counts::default());
    let server_pid = config.server_pid.or_else(|| local_pid(&config.server));
    let rss = || {
        server_pid
            .and_then(read_proc)
            .map(|p| p.rss_kb as f64 / 1024.0)
    };
    let rss_before = rss();
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let (release_tx, release) = watch::channel(false);
    let started = Instant::now();
    let mut created = Vec::with_capacity(config.sessions);
    for index in 0..config.sessions {
        let live = is_watched(index, config.sessions, config.live.min(config.sessions));
        let (config, counts, gate) = (config.clone(), counts.clone(), gate.clone());
        let (done_tx, done) = tokio::sync::oneshot::channel::<()>();
        let release = release.clone();
        tokio::spawn(async move {
            let permit = gate.acquire_owned().await.expect("never closed");
            let ws = create(&config, index, live).await;
            drop(permit);
            match (ws, live) {
                (Some(ws), true) => {
                    counts.live.fetch_add(1, Ordering::SeqCst);
                    let _ = done_tx.send(());
                    hold(ws, release).await;
                }
                (Some(_), false) => {
                    counts.ended.fetch_add(1, Ordering::SeqCst);
                    let _ = done_tx.send(());
                }
                (None, _) => {
                    counts.failures.fetch_add(1, Ordering::SeqCst);
                    let _ = done_tx.send(());
                }
            }
        });
        created.push(done);
    }
    for done in created {
        let _ = done.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (live, ended) = (
        counts.live.load(Ordering::SeqCst),
        counts.ended.load(Ordering::SeqCst),
    );
    let report = SeedReport {
        target: config.server.clone(),
        sessions: live + ended,
        live,
        ended,
        failures: counts.failures.load(Ordering::SeqCst),
        seconds,
        sessions_per_s: (live + ended) as f64 / seconds.max(1e-9),
        server_rss_before_mb: rss_before,
        server_rss_after_mb: rss(),
    };
    seeded(&report);
    if live > 0 {
        tokio::select! {
            _ = tokio::time::sleep(config.hold) => {}
            _ = stop => {}
        }
    }
    let _ = release_tx.send(true);
    report
}

/// Opens session `index`, sends its events and waits for their acknowledgement; ends it unless
/// it is to stay live. The socket of a live one.
async fn create(config: &SeedConfig, index: usize, live: bool) -> Option<Socket> {
    let hello = seed_hello(&config.project_key, index);
    let (mut ws, _) = open_tracker_with(&config.server, hello).await?;
    let mix = &config.mix;
    // The page's Meta but not its full snapshot (17 KB in the demo mix): the directory is what is
    // measured, and 10 000 snapshots would put 170 MB in an in-memory store.
    let bodies = mix
        .snapshot
        .iter()
        .filter(|body| body.len() <= SMALL_EVENT)
        .chain(mix.incremental.iter().cycle().take(config.events));
    let events: Vec<TrackerEvent> = bodies
        .enumerate()
        .map(|(i, body)| TrackerEvent {
            seq: i as u64 + 1,
            ts: now_micros(),
            kind: TrackerEventKind::Rrweb,
            data: ByteBuf::from(body.clone()),
        })
        .collect();
    let last = events.len() as u64;
    ws.send(binary(&TrackerMessage::Events { events }))
        .await
        .ok()?;
    tokio::time::timeout(REPLY_TIMEOUT, acked(&mut ws, last))
        .await
        .ok()??;
    if live {
        return Some(ws);
    }
    ws.send(binary(&TrackerMessage::End { reason: None }))
        .await
        .ok()?;
    // The server closes the socket normally once the end is recorded.
    tokio::time::timeout(REPLY_TIMEOUT, closed_normally(&mut ws))
        .await
        .ok()??;
    Some(ws)
}

/// Reads until the server acknowledges `seq`.
async fn acked(ws: &mut Socket, seq: u64) -> Option<()> {
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Binary(b) = message
            && let Ok(ServerMessage::Ack { seq: acked }) = rmp_serde::from_slice(&b)
            && acked >= seq
        {
            return Some(());
        }
    }
    None
}

/// Reads until the server closes the socket; whether it closed with 1000 (the session ended),
/// not with a refusal.
async fn closed_normally(ws: &mut Socket) -> Option<()> {
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Close(frame) = message {
            return frame
                .is_some_and(|f| f.code == CloseCode::Normal)
                .then_some(());
        }
    }
    None
}

/// Keeps a live session's tracker connected (reading, so the server's pings are answered) until
/// released.
async fn hold(mut ws: Socket, mut release: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = release.wait_for(|r| *r) => break,
            message = ws.next() => match message {
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
    let _ = ws.close(None).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_user_prefix_and_account_each_match_ten_sessions() {
        let hellos: Vec<Hello> = (0..10_000).map(|i| seed_hello("demo", i)).collect();
        let users = hellos
            .iter()
            .filter(|h| {
                h.user_id
                    .as_deref()
                    .is_some_and(|u| u.starts_with("user-0004"))
            })
            .count();
        let accounts = hellos
            .iter()
            .filter(|h| h.metadata.get("account").map(String::as_str) == Some("acct-0042"))
            .count();
        assert_eq!((users, accounts), (10, 10));
    }
}
