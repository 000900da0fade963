//! What an operator watches: `/metrics` carries the server's own metrics, s2-lite's (embedded),
//! the process's and the build's, consent steps are counted, `--metrics-listen` moves the metrics
//! to a private port, every response carries a request id, and the shipped dashboard and alert
//! rules name only metrics a live server exports.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Instant;

use cobrowse::protocol::{GrantKind, ServerMessage, Signal, TrackerMessage};

use crate::common::{
    Tracker, WAIT, agent, agent_recv, config, http, metrics, recv, rrweb, send, start,
};
use crate::signalling::send_signal;

/// The value of the sample `series` (name and labels, as printed) in a scrape.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

/// A running server with a session: a tracker that wrote events, an agent watching, a control
/// request the user declined.
async fn busy_server() -> (cobrowse::app::server::RunningServer, Tracker) {
    let server = start(config()).await;
    let mut tracker = Tracker::open(&server, None, "tab-1").await;
    tracker.write((1..=3).map(rrweb).collect()).await;
    let mut watcher = agent(&server, &tracker.session_id, "from=live").await;
    agent_recv(&mut watcher).await;
    send_signal(
        &mut watcher,
        &Signal::Request {
            kind: GrantKind::Control,
            video: false,
        },
    )
    .await;
    let request_id = loop {
        match recv(&mut tracker.ws).await {
            Ok(ServerMessage::ConsentRequest { request_id, .. }) => break request_id,
            Ok(_) => {}
            Err(close) => panic!("tracker closed: {close:?}"),
        }
    };
    let answer = TrackerMessage::Consent {
        request_id,
        granted: false,
        reason: None,
    };
    send(&mut tracker.ws, &answer).await;
    (server, tracker)
}

#[tokio::test]
async fn metrics_carry_s2_lite_the_process_the_build_and_consent_steps() {
    let (server, _tracker) = busy_server().await;
    let declined = r#"cobrowse_consent_requests_total{kind="control",outcome="declined"}"#;
    let started = Instant::now();
    let scrape = loop {
        let scrape = metrics(&server).await;
        if sample(&scrape, declined).is_some_and(|n| n >= 1.0) {
            break scrape;
        }
        assert!(
            started.elapsed() < WAIT,
            "the declined request is never counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let requested = r#"cobrowse_consent_requests_total{kind="control",outcome="requested"}"#;
    assert!(sample(&scrape, requested).is_some_and(|n| n >= 1.0));
    for series in [
        // s2-lite's own, from the process-wide registry (the embedded store).
        "s2_append_ack_latency_seconds_count",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
        "cobrowse_ready",
        r#"cobrowse_store_errors_total{operation="append"}"#,
        r#"cobrowse_sessions_ended_total{reason="idle"}"#,
    ] {
        assert!(sample(&scrape, series).is_some(), "{series} in {scrape}");
    }
    assert_eq!(sample(&scrape, "cobrowse_ready"), Some(1.0));
    let build = scrape
        .lines()
        .find(|l| l.starts_with("cobrowse_build_info{"))
        .unwrap_or_default();
    assert!(
        build.contains(&format!(r#"version="{}""#, env!("CARGO_PKG_VERSION")))
            && build.contains("git_sha=")
            && build.ends_with(" 1"),
        "build info: {build:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn metrics_listen_moves_metrics_to_their_own_port() {
    let mut config = config();
    config.metrics_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    let server = start(config).await;
    let private = server.metrics_addr.expect("a metrics listener");
    let scrape = http()
        .get(format!("http://{private}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    assert!(
        scrape
            .text()
            .await
            .unwrap()
            .contains("cobrowse_sessions_live")
    );
    let public = http()
        .get(format!("{}/metrics", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404, "not on the public port");
    server.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_callers() {
    let server = start(config()).await;
    let fresh = http()
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    let id = fresh.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let kept = http()
        .get(format!("{}/healthz", server.url()))
        .header("x-request-id", "from-the-proxy-42")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "from-the-proxy-42");
    server.stop().await;
}

/// The metric names a PromQL file uses (those of this server, s2-lite and the process).
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = ["cobrowse_", "s2_", "process_"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let boundary = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        if boundary && name != "cobrowse_" {
            names.insert(name.clone());
        }
        rest = &rest[at + name.len().max(1)..];
    }
    names
}

#[tokio::test]
async fn the_dashboard_and_alert_rules_name_only_metrics_the_server_exports() {
    let (server, _tracker) = busy_server().await;
    let scrape = metrics(&server).await;
    let exported: BTreeSet<&str> = scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let root = env!("CARGO_MANIFEST_DIR");
    for file in [
        "deploy/grafana/cobrowse.json",
        "deploy/prometheus/alerts.yaml",
    ] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        let names = metric_names(&text);
        assert!(names.len() >= 4, "{file} names its metrics: {names:?}");
        let missing: Vec<_> = names
            .iter()
            .filter(|n| !exported.contains(n.as_str()))
            .collect();
        assert!(missing.is_empty(), "{file} names {missing:?}, not exported");
    }
    server.stop().await;
}
