//! The load tool, run as people run it (`cobrowse load --json`, a separate process), against a
//! real server and against its baseline relay (`cobrowse relay`): every acknowledged event must
//! reach every agent exactly once, and the report must say so.

use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::process::Command;

use crate::cluster::spawn;
use crate::common::*;

/// How long one run may take: connecting, its 2 s window, and the drain (up to 10 s).
const RUN: Duration = Duration::from_secs(60);

/// The fields of the JSON report the tests look at; one missing or renamed fails the parse.
#[derive(Debug, Deserialize)]
struct Report {
    watched_sessions: usize,
    connections: usize,
    connect_failures: usize,
    events_sent: u64,
    events_acked: u64,
    tracker_batches_per_s: f64,
    lost: u64,
    duplicated: u64,
    end_to_end_ms: Samples,
    initial_join_ms: Samples,
    join_ms: Samples,
    joins_timed_out: u64,
    joins_failed: u64,
    server: Option<ProcessCost>,
}

#[derive(Debug, Deserialize)]
struct Samples {
    samples: u64,
}

#[derive(Debug, Deserialize)]
struct ProcessCost {
    pid: u32,
    cpu_seconds: f64,
}

/// `cobrowse load --json` against `server`: 4 sessions of 2 agents each, 30 events a second for
/// 2 s, and `extra` flags. Its report, from the one JSON line it prints on stdout.
async fn load(server: &str, extra: &[&str]) -> Report {
    let run = Command::new(env!("CARGO_BIN_EXE_cobrowse"))
        .args(["load", "--server", server, "--token", AGENT_TOKEN])
        .args(["--project-key", "demo", "--sessions", "4"])
        .args(["--agents-per-session", "2", "--duration", "2s"])
        .args(["--events-per-sec", "30", "--json"])
        .args(extra)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RUN, run)
        .await
        .expect("the load run ends in time")
        .expect("the cobrowse binary starts");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|error| panic!("one JSON report on stdout ({error}): {stdout}"))
}

#[tokio::test]
async fn a_load_run_accounts_for_every_event_and_reads_the_server_cost() {
    let mut cfg = config();
    // Pings every second: the simulated trackers must keep reading their acks through them.
    cfg.ingress.tracker_idle_timeout = Duration::from_secs(3);
    let server = start(cfg).await;
    let report = load(&server.url(), &[]).await;
    assert_eq!(report.connections, 4 * 3);
    assert_eq!(report.connect_failures, 0);
    assert!(report.events_acked > 100, "{report:?}");
    assert_eq!(report.events_acked, report.events_sent);
    assert_eq!((report.lost, report.duplicated), (0, 0), "{report:?}");
    assert_eq!(report.end_to_end_ms.samples, 2 * report.events_acked);
    let cost = report
        .server
        .expect("the server runs here, so its cost is read from /proc");
    // The server is in this process; the load tool finds it from the port.
    assert_eq!(cost.pid, std::process::id());
    assert!(cost.cpu_seconds > 0.0);
    server.stop().await;
}

#[tokio::test]
async fn the_baseline_relay_carries_the_same_traffic() {
    let relay = spawn(
        &["relay", "--listen", "127.0.0.1:0"],
        "baseline relay listening at",
    )
    .await;
    let report = load(&relay.url, &["--joins", "2"]).await;
    assert_eq!((report.lost, report.duplicated), (0, 0), "{report:?}");
    assert_eq!(report.end_to_end_ms.samples, 2 * report.events_acked);
    assert_eq!(report.join_ms.samples, 2, "{report:?}");
    relay.terminate().await;
}

#[tokio::test]
async fn only_watched_sessions_have_agents_and_late_agents_time_their_first_snapshot() {
    let server = start(config()).await;
    let report = load(&server.url(), &["--watched", "0.5", "--joins", "3"]).await;
    assert_eq!(report.watched_sessions, 2);
    assert_eq!(report.connections, 4 + 2 * 2, "{report:?}");
    assert_eq!(report.events_acked, report.events_sent, "{report:?}");
    assert_eq!((report.lost, report.duplicated), (0, 0), "{report:?}");
    // Latency comes from the watched sessions' agents alone.
    assert!(report.end_to_end_ms.samples <= 2 * report.events_acked);
    assert!(report.end_to_end_ms.samples > 0, "{report:?}");
    // Every agent there from the start saw its tracker's first snapshot; every joiner saw one.
    assert_eq!(report.initial_join_ms.samples, 4, "{report:?}");
    assert_eq!(report.join_ms.samples, 3, "{report:?}");
    assert_eq!((report.joins_timed_out, report.joins_failed), (0, 0));
    server.stop().await;
}

#[tokio::test]
async fn trackers_sending_on_acknowledgement_or_on_a_timer_lose_nothing() {
    let server = start(config()).await;
    for sending in ["timer", "on-ack"] {
        let report = load(&server.url(), &["--sending", sending]).await;
        assert_eq!(
            report.events_acked, report.events_sent,
            "{sending}: {report:?}"
        );
        assert_eq!(
            (report.lost, report.duplicated),
            (0, 0),
            "{sending}: {report:?}"
        );
        assert!(report.events_acked > 100, "{sending}: {report:?}");
        // A steady trickle of 30 events a second per tracker: the timer sends about ten
        // batches a second, sending on the ack up to one per event.
        let per_tracker = report.tracker_batches_per_s / 4.0;
        match sending {
            "timer" => assert!((5.0..=11.0).contains(&per_tracker), "{report:?}"),
            _ => assert!(per_tracker > 11.0, "{report:?}"),
        }
    }
    server.stop().await;
}

/// `cobrowse load --seed-sessions 20 --seed-live 5` fills the directory (the five live ones held
/// while the seeder runs), and `--directory-bench` times queries over it that find what the
/// seeding put there.
#[tokio::test]
async fn seeded_sessions_are_listed_and_the_directory_bench_finds_them() {
    use tokio::io::AsyncBufReadExt;

    let server = start(config()).await;
    let mut seeder = Command::new(env!("CARGO_BIN_EXE_cobrowse"))
        .args(["load", "--server", &server.url(), "--project-key", "demo"])
        .args([
            "--seed-sessions",
            "20",
            "--seed-live",
            "5",
            "--duration",
            "60s",
        ])
        .arg("--json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the cobrowse binary starts");
    // The report comes as soon as every session is created; the live ones are held after it.
    let stdout = seeder.stdout.take().expect("piped");
    let mut line = String::new();
    tokio::time::timeout(RUN, tokio::io::BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("seeding ends in time")
        .expect("the seeder prints its report");
    let seeded: serde_json::Value = serde_json::from_str(&line).expect("one JSON report");
    assert_eq!(
        (
            &seeded["sessions"],
            &seeded["live"],
            &seeded["ended"],
            &seeded["failures"]
        ),
        (&20.into(), &5.into(), &15.into(), &0.into()),
        "{seeded}"
    );

    let page = get_json(&server, "/api/v1/sessions?limit=50").await;
    let sessions = page["sessions"].as_array().expect("a page");
    assert_eq!(sessions.len(), 20, "{page}");
    let live = sessions.iter().filter(|s| s["live"] == true).count();
    assert_eq!(live, 5, "{page}");
    assert!(
        sessions
            .iter()
            .any(|s| s["user_id"] == "user-00007@example.com" && s["metadata"]["plan"] == "team"),
        "{page}"
    );

    let bench = Command::new(env!("CARGO_BIN_EXE_cobrowse"))
        .args(["load", "--server", &server.url(), "--token", AGENT_TOKEN])
        .args(["--directory-bench", "--requests", "4", "--concurrency", "2"])
        .args(["--query", "live:status=live&limit=50"])
        .args([
            "--query",
            "account:q=acct-0001",
            "--query",
            "user:user=user-0000",
        ])
        .args(["--query", "nothing:q=nomatch-zzz", "--json"])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RUN, bench)
        .await
        .expect("the bench ends in time")
        .expect("the cobrowse binary starts");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON report");
    let rows = report["queries"].as_array().expect("timed queries");
    // Each query once sequentially and once two at a time.
    assert_eq!(rows.len(), 8, "{report}");
    for row in rows {
        assert_eq!(row["failures"], 0, "{row}");
        assert_eq!(row["ms"]["samples"], 4, "{row}");
        let expected = match row["name"].as_str() {
            Some("live") => 5,
            Some("account" | "user") => 10,
            _ => 0,
        };
        assert_eq!(row["returned"], expected, "{row}");
    }
    let _ = seeder.kill().await;
    server.stop().await;
}
