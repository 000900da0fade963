//! The load tool against a real server and against its baseline relay: every acknowledged event
//! must reach every agent exactly once, and the report must say so.

use std::time::Duration;

use crate::common::*;
use cobrowse::load::mix::EventMix;
use cobrowse::load::relay::Relay;
use cobrowse::load::{LoadConfig, Sending, run};

fn load(server: String) -> LoadConfig {
    LoadConfig {
        server,
        sessions: 4,
        agents_per_session: 2,
        watched: 1.0,
        joins: 0,
        duration: Duration::from_secs(2),
        events_per_sec: 30,
        sending: Sending::Burst,
        mix: EventMix::demo(),
        agent_token: AGENT_TOKEN.into(),
        project_key: "demo".into(),
        server_pid: None,
        store_pid: None,
        store_endpoint: None,
    }
}

#[tokio::test]
async fn a_load_run_accounts_for_every_event_and_reads_the_server_cost() {
    let server = start(config()).await;
    let report = run(load(server.url())).await.unwrap();
    assert_eq!(report.connections, 4 * 3);
    assert_eq!(report.connect_failures, 0);
    assert!(report.events_acked > 100, "{report}");
    assert_eq!(report.events_acked, report.events_sent);
    assert_eq!((report.lost, report.duplicated), (0, 0), "{report}");
    assert_eq!(report.end_to_end_ms.samples as u64, 2 * report.events_acked);
    let cost = report
        .server
        .expect("the server runs here, so its cost is read from /proc");
    assert_eq!(cost.pid, std::process::id());
    assert!(cost.cpu_seconds > 0.0);
    server.stop().await;
}

#[tokio::test]
async fn the_baseline_relay_carries_the_same_traffic() {
    let relay = Relay::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let report = run(LoadConfig {
        joins: 2,
        ..load(relay.url())
    })
    .await
    .unwrap();
    assert_eq!((report.lost, report.duplicated), (0, 0), "{report}");
    assert_eq!(report.end_to_end_ms.samples as u64, 2 * report.events_acked);
    assert_eq!(report.join_ms.samples, 2, "{report}");
    relay.stop();
}

#[tokio::test]
async fn only_watched_sessions_have_agents_and_late_agents_time_their_first_snapshot() {
    let server = start(config()).await;
    let report = run(LoadConfig {
        watched: 0.5,
        joins: 3,
        ..load(server.url())
    })
    .await
    .unwrap();
    assert_eq!(report.watched_sessions, 2);
    assert_eq!(report.connections, 4 + 2 * 2, "{report}");
    assert_eq!(report.events_acked, report.events_sent, "{report}");
    assert_eq!((report.lost, report.duplicated), (0, 0), "{report}");
    // Latency comes from the watched sessions' agents alone.
    assert!(report.end_to_end_ms.samples as u64 <= 2 * report.events_acked);
    assert!(report.end_to_end_ms.samples > 0, "{report}");
    // Every agent there from the start saw its tracker's first snapshot; every joiner saw one.
    assert_eq!(report.initial_join_ms.samples, 4, "{report}");
    assert_eq!(report.join_ms.samples, 3, "{report}");
    assert_eq!((report.joins_timed_out, report.joins_failed), (0, 0));
    server.stop().await;
}

#[tokio::test]
async fn trackers_sending_on_acknowledgement_or_on_a_timer_lose_nothing() {
    let server = start(config()).await;
    for sending in [Sending::Timer, Sending::OnAck] {
        let report = run(LoadConfig {
            sending,
            ..load(server.url())
        })
        .await
        .unwrap();
        assert_eq!(
            report.events_acked, report.events_sent,
            "{sending:?}: {report}"
        );
        assert_eq!(
            (report.lost, report.duplicated),
            (0, 0),
            "{sending:?}: {report}"
        );
        assert!(report.events_acked > 100, "{sending:?}: {report}");
        // A steady trickle of 30 events a second per tracker: the timer sends about ten
        // batches a second, sending on the ack up to one per event.
        let per_tracker = report.tracker_batches_per_s / 4.0;
        match sending {
            Sending::Timer => assert!((5.0..=11.0).contains(&per_tracker), "{report}"),
            _ => assert!(per_tracker > 11.0, "{report}"),
        }
    }
    server.stop().await;
}
