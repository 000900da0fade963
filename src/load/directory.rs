//! `cobrowse load --directory-bench`: times the session list and its search on a server already
//! holding sessions (see [`seed`](super::seed)), one request after another and then several at
//! once, and, with `--peer`, how long a session started or ended on this server takes to show in
//! another node's list, watched through that node's `GET /api/v1/sessions/watch`.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::mpsc;

use cobrowse::protocol::TrackerMessage;

use super::report::Percentiles;
use super::seed::seed_hello;
use super::sim::{binary, open_tracker_with};

/// How long a propagation sample waits for the peer before it counts as missed.
const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(10);

/// The queries timed when none is given: the list and searches over the seeded
/// sessions.
pub const DEFAULT_QUERIES: [(&str, &str); 5] = [
    ("list_live", "status=live&limit=50"),
    ("list_all", "limit=50"),
    ("search_account_10", "q=acct-0042&limit=50"),
    ("search_nothing", "q=nomatch-zzz&limit=50"),
    ("user_prefix_10", "user=user-0004&limit=50"),
];

#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    pub server: String,
    pub token: String,
    pub project_key: String,
    /// (name, query string) pairs.
    pub queries: Vec<(String, String)>,
    /// Requests per query and concurrency.
    pub requests: usize,
    /// Requests in flight at once for the concurrent rows (1: sequential only).
    pub concurrency: usize,
    /// Another node sharing the store, for the propagation measurement.
    pub peer: Option<String>,
    /// Sessions started and ended on `server` while watching `peer`.
    pub propagation: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueryTiming {
    pub name: String,
    pub query: String,
    pub concurrency: usize,
    pub requests: usize,
    /// Requests that failed or answered other than 200.
    pub failures: usize,
    /// Sessions on the first page answered.
    pub returned: usize,
    pub requests_per_s: f64,
    pub ms: Percentiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct Propagation {
    pub peer: String,
    pub sessions: usize,
    /// `welcome` on this server → the peer's `session` event for it, live.
    pub started_ms: Percentiles,
    /// `end` sent to this server → the peer's `session` event showing it ended.
    pub ended_ms: Percentiles,
    /// Samples the peer did not show within 10 s.
    pub missed: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DirectoryReport {
    pub target: String,
    pub queries: Vec<QueryTiming>,
    pub propagation: Option<Propagation>,
}

impl std::fmt::Display for DirectoryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "target {}", self.target)?;
        for q in &self.queries {
            writeln!(
                f,
                "{:<20} x{:<3} {:>5} req {:>3} failed {:>4} returned  p50 {:.2} / p99 {:.2} / max {:.2} ms  {:.0} req/s",
                q.name,
                q.concurrency,
                q.requests,
                q.failures,
                q.returned,
                q.ms.p50,
                q.ms.p99,
                q.ms.max,
                q.requests_per_s
            )?;
        }
        if let Some(p) = &self.propagation {
            writeln!(
                f,
                "to {}: started p50 {:.1} / p99 {:.1} / max {:.1} ms; ended p50 {:.1} / p99 {:.1} / max {:.1} ms; {} of {} missed",
                p.peer,
                p.started_ms.p50,
                p.started_ms.p99,
                p.started_ms.max,
                p.ended_ms.p50,
                p.ended_ms.p99,
                p.ended_ms.max,
                p.missed,
                p.sessions
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryBenchError {
    #[error("building the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("watching {peer}'s session list: {source}")]
    Watch {
        peer: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{peer} answered the watch with {status}; is the token right?")]
    WatchRefused {
        peer: String,
        status: reqwest::StatusCode,
    },
}

/// Times every query, then measures propagation to the peer if one is given.
pub async fn run_directory(
    config: DirectoryConfig,
) -> Result<DirectoryReport, DirectoryBenchError> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(config.concurrency.max(1))
        .build()
        .map_err(DirectoryBenchError::Client)?;
    let mut concurrencies = vec![1];
    if config.concurrency > 1 {
        concurrencies.push(config.concurrency);
    }
    let mut queries = Vec::new();
    for concurrency in concurrencies {
        for (name, query) in &config.queries {
            let timing = time_query(&client, &config, name, query, concurrency).await;
            tracing::info!(name, concurrency, p99_ms = timing.ms.p99, "query timed");
            queries.push(timing);
        }
    }
    let propagation = match &config.peer {
        Some(peer) => Some(propagation(&client, &config, peer).await?),
        None => None,
    };
    Ok(DirectoryReport {
        target: config.server.clone(),
        queries,
        propagation,
    })
}

/// `requests` GETs of the list with `query`, `concurrency` at a time.
async fn time_query(
    client: &reqwest::Client,
    config: &DirectoryConfig,
    name: &str,
    query: &str,
    concurrency: usize,
) -> QueryTiming {
    let url = format!(
        "{}/api/v1/sessions?{query}",
        config.server.trim_end_matches('/')
    );
    let returned = get(client, &url, &config.token)
        .await
        .map_or(0, |(_, sessions)| sessions);
    let started = Instant::now();
    let per_task = config.requests.div_ceil(concurrency);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, token) = (client.clone(), url.clone(), config.token.clone());
            tokio::spawn(async move {
                let mut samples = Vec::with_capacity(per_task);
                let mut failures = 0;
                for _ in 0..per_task {
                    match get(&client, &url, &token).await {
                        Some((micros, _)) => samples.push(micros),
                        None => failures += 1,
                    }
                }
                (samples, failures)
            })
        })
        .collect();
    let (mut samples, mut failures) = (Vec::new(), 0);
    for task in tasks {
        if let Ok((s, f)) = task.await {
            samples.extend(s);
            failures += f;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    QueryTiming {
        name: name.to_string(),
        query: query.to_string(),
        concurrency,
        requests: per_task * concurrency,
        failures,
        returned,
        requests_per_s: (per_task * concurrency) as f64 / secs,
        ms: Percentiles::from_micros(samples),
    }
}

/// One list request: its time in µs (sent → body read) and the sessions in the page; `None` if
/// it failed.
async fn get(client: &reqwest::Client, url: &str, token: &str) -> Option<(u64, usize)> {
    let sent = Instant::now();
    let response = client.get(url).bearer_auth(token).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body = response.bytes().await.ok()?;
    let micros = sent.elapsed().as_micros() as u64;
    let page: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let sessions = page.get("sessions")?.as_array()?.len();
    Some((micros, sessions))
}

/// What the peer's watch said about one session, and when it arrived.
struct Seen {
    id: String,
    ended: bool,
    at: Instant,
}

/// Starts and ends sessions on the server one at a time, each timed until the peer's watch shows
/// it started, then ended.
async fn propagation(
    client: &reqwest::Client,
    config: &DirectoryConfig,
    peer: &str,
) -> Result<Propagation, DirectoryBenchError> {
    let url = format!("{}/api/v1/sessions/watch", peer.trim_end_matches('/'));
    let response = client
        .get(url)
        .bearer_auth(&config.token)
        .send()
        .await
        .map_err(|source| DirectoryBenchError::Watch {
            peer: peer.to_string(),
            source,
        })?;
    if !response.status().is_success() {
        return Err(DirectoryBenchError::WatchRefused {
            peer: peer.to_string(),
            status: response.status(),
        });
    }
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    let watching = tokio::spawn(read_watch(response, seen_tx, ready_tx));
    let _ = tokio::time::timeout(PROPAGATION_TIMEOUT, ready).await;
    let (mut started_us, mut ended_us, mut missed) = (Vec::new(), Vec::new(), 0);
    for i in 0..config.propagation {
        // Indices past any seeded ones, so these sessions are told apart.
        let hello = seed_hello(&config.project_key, 1_000_000 + i);
        let Some((mut ws, id)) = open_tracker_with(&config.server, hello).await else {
            missed += 1;
            continue;
        };
        let welcomed = Instant::now();
        match wait_for(&mut seen, &id, false).await {
            Some(at) => started_us.push(at.duration_since(welcomed).as_micros() as u64),
            None => missed += 1,
        }
        let ended = Instant::now();
        if ws
            .send(binary(&TrackerMessage::End { reason: None }))
            .await
            .is_err()
        {
            missed += 1;
            continue;
        }
        match wait_for(&mut seen, &id, true).await {
            Some(at) => ended_us.push(at.duration_since(ended).as_micros() as u64),
            None => missed += 1,
        }
        let _ = ws.close(None).await;
    }
    watching.abort();
    Ok(Propagation {
        peer: peer.to_string(),
        sessions: config.propagation,
        started_ms: Percentiles::from_micros(started_us),
        ended_ms: Percentiles::from_micros(ended_us),
        missed,
    })
}

/// When the watch first showed session `id` live (or ended).
async fn wait_for(
    seen: &mut mpsc::UnboundedReceiver<Seen>,
    id: &str,
    ended: bool,
) -> Option<Instant> {
    let deadline = tokio::time::Instant::now() + PROPAGATION_TIMEOUT;
    loop {
        let event = tokio::time::timeout_at(deadline, seen.recv())
            .await
            .ok()??;
        if event.id == id && event.ended == ended {
            return Some(event.at);
        }
    }
}

/// Reads the watch's Server-Sent Events: `ready` once, then each `session` as a [`Seen`].
async fn read_watch(
    response: reqwest::Response,
    seen: mpsc::UnboundedSender<Seen>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    while let Some(Ok(chunk)) = body.next().await {
        let at = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let (mut kind, mut data) = ("", String::new());
            for line in event.lines() {
                if let Some(k) = line.strip_prefix("event:") {
                    kind = k.trim();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            match kind {
                "ready" => {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(());
                    }
                }
                "session" => {
                    let Ok(summary) = serde_json::from_str::<serde_json::Value>(&data) else {
                        continue;
                    };
                    let Some(id) = summary.get("id").and_then(|v| v.as_str()) else {
                        continue;
                    };
                    let ended = summary.get("ended_ms").is_some_and(|v| !v.is_null());
                    let seen_now = Seen {
                        id: id.to_string(),
                        ended,
                        at,
                    };
                    if seen.send(seen_now).is_err() {
                        return;
                    }
                }
                _ => {}
            }
        }
    }
}

/// The query list from `--query NAME:PARAMS` flags (a flag without a name is named by its
/// parameters), or the defaults.
pub fn queries(given: &[String]) -> Vec<(String, String)> {
    if given.is_empty() {
        return DEFAULT_QUERIES
            .iter()
            .map(|(n, q)| (n.to_string(), q.to_string()))
            .collect();
    }
    given
        .iter()
        .map(|q| match q.split_once(':') {
            Some((name, params)) => (name.to_string(), params.to_string()),
            None => (q.clone(), q.clone()),
        })
        .collect()
}
