//! `cobrowse load --call-agents N`: what the server's SFU costs per media stream it forwards.
//!
//! Each simulated call is one tracker (the user's page) and `N` agents on the agent WebSocket,
//! every one of them a [`Participant`] of the library's call client sending a synthetic camera and
//! microphone. The agents ask for a video call, the page grants each, everyone sends `call_join`
//! with audio and video, and the peers answer the server's offers and trickle candidates as a
//! browser would. Once every participant receives every stream, the measured window starts: each
//! participant receives two tracks from each of the `N` others, so a call forwards
//! `(N + 1) × N × 2` streams, and the server's CPU over the window divided by the streams that
//! actually flowed is its cost per forwarded stream.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::join_all;

use cobrowse::client::call::{Agent, Page, Participant, Received, StreamCount, packets_per_sec};
use cobrowse::protocol::{GrantKind, ServerMessage, Signal, TrackerMessage};

use super::agent::open_agent;
use super::process::{local_pid, read_proc};
use super::report::{CallReport, CallServerCost, Percentiles};
use super::sim::{LoadError, open_tracker};

/// How long a call may take to set up: consent, offers, ICE, DTLS, the first packets.
const SETUP: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct CallLoadConfig {
    /// `http://host:port` of a cobrowse server started with `--rtc-bind` reachable from here.
    pub server: String,
    /// Calls at once, each in its own session.
    pub calls: usize,
    pub agents_per_call: usize,
    pub duration: Duration,
    pub agent_token: String,
    pub project_key: String,
    pub server_pid: Option<u32>,
}

/// One call's participants, the user's page first.
struct Call {
    page: Participant<Page>,
    agents: Vec<Participant<Agent>>,
    setup: Duration,
}

impl Call {
    fn received(&self) -> impl Iterator<Item = &Received> {
        std::iter::once(&self.page.received).chain(self.agents.iter().map(|a| &a.received))
    }
}

/// Runs `config.calls` calls at once and reports what forwarding their media cost the server.
pub async fn run_calls(config: CallLoadConfig) -> Result<CallReport, LoadError> {
    let pid = config.server_pid.or_else(|| local_pid(&config.server));
    let before = pid.and_then(read_proc);
    let set_up = join_all((0..config.calls).map(|i| set_up(&config, i))).await;
    let mut calls = Vec::new();
    for call in set_up {
        match call {
            Ok(call) => calls.push(call),
            Err(reason) => tracing::warn!(%reason, "a call could not be set up"),
        }
    }
    if calls.is_empty() {
        return Err(LoadError::NothingConnected(config.server.clone()));
    }
    let setup_s = calls
        .iter()
        .map(|c| c.setup.as_secs_f64())
        .fold(0.0, f64::max);

    let snapshot = |calls: &[Call]| -> Vec<BTreeMap<u32, StreamCount>> {
        calls
            .iter()
            .flat_map(Call::received)
            .map(|r| {
                let _ = r.take_latencies();
                r.streams()
            })
            .collect()
    };
    let start_streams = snapshot(&calls);
    let own = std::process::id();
    let (server_start, own_start) = (pid.and_then(read_proc), read_proc(own));
    let start = Instant::now();
    tokio::time::sleep(config.duration).await;
    let elapsed = start.elapsed().as_secs_f64();
    let (server_end, own_end) = (pid.and_then(read_proc), read_proc(own));
    let latencies: Vec<u64> = calls
        .iter()
        .flat_map(Call::received)
        .flat_map(Received::take_latencies)
        .collect();
    let end_streams: Vec<_> = calls
        .iter()
        .flat_map(Call::received)
        .map(Received::streams)
        .collect();

    let (mut flowing, mut packets, mut bytes, mut lost, mut expected_packets) = (0, 0, 0, 0, 0);
    let mut slowest = f64::INFINITY;
    for (start, end) in start_streams.iter().zip(&end_streams) {
        for (ssrc, after) in end {
            let before = start.get(ssrc).copied().unwrap_or(StreamCount {
                highest: after.highest - after.packets as i64,
                ..*after
            });
            let got = after.packets - before.packets.min(after.packets);
            if got == 0 {
                continue;
            }
            flowing += 1;
            packets += got;
            bytes += after.bytes - before.bytes;
            let sequence = (after.highest - before.highest).max(0) as u64;
            lost += sequence.saturating_sub(got);
            expected_packets += sequence;
            let rate = got as f64 / elapsed / packets_per_sec(after.audio);
            slowest = slowest.min(rate * 100.0);
        }
    }
    let streams_expected = calls.len() * (config.agents_per_call + 1) * config.agents_per_call * 2;
    let forwarded_mbit_s = bytes as f64 * 8.0 / elapsed / 1_000_000.0;
    let server = match (pid, before, server_start, server_end) {
        (Some(pid), Some(before), Some(cpu0), Some(cpu1)) => {
            let cores = (cpu1.cpu_seconds - cpu0.cpu_seconds) / elapsed;
            Some(CallServerCost {
                pid,
                rss_before_mb: before.rss_kb as f64 / 1024.0,
                rss_after_mb: cpu1.rss_kb as f64 / 1024.0,
                cpu_cores: cores,
                cpu_percent_per_stream: cores * 100.0 / flowing.max(1) as f64,
                cpu_percent_per_mbit_s: cores * 100.0 / forwarded_mbit_s.max(f64::EPSILON),
            })
        }
        _ => None,
    };
    let load_tool_cores = match (own_start, own_end) {
        (Some(a), Some(b)) => (b.cpu_seconds - a.cpu_seconds) / elapsed,
        _ => 0.0,
    };
    let report = CallReport {
        target: config.server.clone(),
        calls: calls.len(),
        agents_per_call: config.agents_per_call,
        participants: calls.len() * (config.agents_per_call + 1),
        duration_s: elapsed,
        setup_s,
        streams_expected,
        streams_flowing: flowing,
        packets_per_s: packets as f64 / elapsed,
        forwarded_mbit_s,
        lost_packets: lost,
        loss_percent: if expected_packets > 0 {
            lost as f64 * 100.0 / expected_packets as f64
        } else {
            0.0
        },
        latency_ms: Percentiles::from_micros(latencies),
        slowest_stream_percent: if slowest.is_finite() { slowest } else { 0.0 },
        server,
        load_tool_cores,
    };
    // Dropping the participants closes their peers and WebSockets: the server ends the calls.
    drop(calls);
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(report)
}

/// One session with its user and agents in a video call, every stream flowing (or as many as
/// did within [`SETUP`]).
async fn set_up(config: &CallLoadConfig, index: usize) -> Result<Call, String> {
    let (ws, session_id) = open_tracker(&config.server, &config.project_key, index)
        .await
        .ok_or("the tracker could not connect")?;
    let mut page = Participant::<Page>::spawn(ws)
        .await
        .map_err(|e| e.to_string())?;
    let mut agents = Vec::new();
    for _ in 0..config.agents_per_call {
        let ws = open_agent(&config.server, &config.agent_token, &session_id)
            .await
            .ok_or("an agent could not connect; is the token right?")?;
        agents.push(
            Participant::<Agent>::spawn(ws)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + SETUP;
    for agent in &agents {
        agent.send(&Signal::Request {
            kind: GrantKind::Call,
            video: true,
        });
    }
    // The user accepts every agent's call, then waits for the grants to say so.
    let mut granted = 0;
    while granted < agents.len() {
        let message = tokio::time::timeout_at(deadline, page.seen.recv())
            .await
            .map_err(|_| "the user was not asked for every call in time")?
            .ok_or("the tracker's connection closed")?;
        match message {
            ServerMessage::ConsentRequest {
                request_id,
                kind: GrantKind::Call,
                ..
            } => page.send(&TrackerMessage::Consent {
                request_id,
                granted: true,
                reason: None,
            }),
            ServerMessage::Grants { grants } => {
                granted = grants.iter().filter(|g| g.kind == GrantKind::Call).count();
            }
            _ => {}
        }
    }
    page.stop_listening();
    page.send(&TrackerMessage::CallJoin {
        audio: true,
        video: true,
        canvases: vec![],
    });
    for agent in &mut agents {
        agent.stop_listening();
        agent.send(&Signal::CallJoin {
            audio: true,
            video: true,
        });
    }
    let call = Call {
        page,
        agents,
        setup: Duration::ZERO,
    };
    // Everyone receives the two tracks of every other participant.
    let streams = 2 * config.agents_per_call;
    loop {
        let all = call
            .received()
            .all(|r| r.counts().iter().filter(|c| **c > 0).count() >= streams);
        if all {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            tracing::warn!(
                index,
                "not every stream flows after {SETUP:?}; measuring anyway"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Call {
        setup: started.elapsed(),
        ..call
    })
}
