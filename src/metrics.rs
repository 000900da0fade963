//! Prometheus metrics, served as text at `/metrics`: this server's own, in a registry of its
//! own (tests run several servers in one process), followed by the process-wide default
//! registry's, where s2-lite registers its metrics (embedded mode) and the `prometheus` crate its
//! process metrics (CPU, memory, open files, start time).
//!
//! Metrics with labels start with every label value this server uses at zero, so that every
//! series exists from the first scrape and `rate()` and alerts see its first increase.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The kinds of consent (`GrantKind`'s names) and what became of a request.
pub const CONSENT_KINDS: [&str; 4] = ["control", "annotate", "call", "record"];
pub const CONSENT_OUTCOMES: [&str; 6] = [
    "requested",
    "busy",
    "granted",
    "declined",
    "timeout",
    "withdrawn",
];
/// Why sessions end (`EndReason`'s names).
pub const END_REASONS: [&str; 2] = ["ended", "idle"];
/// The store's operations (the `Backend` trait's methods).
pub const STORE_OPERATIONS: [&str; 8] = [
    "append",
    "read",
    "check_tail",
    "follow",
    "create_stream",
    "ensure_stream",
    "delete_stream",
    "list_streams",
];

pub struct Metrics {
    registry: Registry,
    /// Sessions this node currently writes.
    pub sessions_live: IntGauge,
    pub tracker_connections: IntGauge,
    pub agent_connections: IntGauge,
    pub events_appended: IntCounter,
    pub bytes_appended: IntCounter,
    pub events_delivered: IntCounter,
    /// Seconds from S2 accepting an append to S2 acknowledging it, as the writer sees it.
    pub append_latency: Histogram,
    /// Seconds between S2 storing an event and this node sending it to an agent.
    pub agent_lag: Histogram,
    pub signal_latency: Histogram,
    /// Inputs refused, by reason.
    pub rejected: IntCounterVec,
    /// `agent` records that could not be queued on their session's writer. Only steps that take
    /// power away (or touch nothing on the page) go ahead without their record, so this counts
    /// what the audit trail is missing; everything else is refused (`rejected{reason="no_record"}`).
    pub agent_records_lost: IntCounter,
    /// The session directory's size, set from `Directory::stats` when `/metrics` is read.
    pub directory_sessions: IntGauge,
    pub directory_live: IntGauge,
    pub directory_entries: IntGauge,
    pub directory_heap_bytes: IntGauge,
    /// Consent steps, by kind and outcome (a request, then its answer).
    pub consent: IntCounterVec,
    /// Sessions this node ended, by reason.
    pub sessions_ended: IntCounterVec,
    /// Store operations that failed (S2 unavailable or misconfigured), by operation; expected
    /// refusals (a fenced stream, a moved tail, a missing stream) are not errors.
    pub store_errors: IntCounterVec,
    /// Calls running on this node (one per session with a call).
    pub calls_active: IntGauge,
    /// Call recordings being written on this node.
    pub recordings_active: IntGauge,
    /// Call media payload bytes the SFU sent to participants.
    pub call_bytes_forwarded: IntCounter,
    /// Call connections that failed (ICE or DTLS could not connect, or the connection broke).
    pub call_connection_failures: IntCounter,
    /// 1 when `/readyz` would say ready, set when `/metrics` is read.
    pub ready: IntGauge,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let latency_buckets = vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ];
        let m = Self {
            sessions_live: IntGauge::new("cobrowse_sessions_live", "Sessions this node writes")
                .expect("valid metric"),
            tracker_connections: IntGauge::new(
                "cobrowse_tracker_connections",
                "Open tracker WebSockets",
            )
            .expect("valid metric"),
            agent_connections: IntGauge::new(
                "cobrowse_agent_connections",
                "Open agent WebSockets and SSE streams",
            )
            .expect("valid metric"),
            events_appended: IntCounter::new(
                "cobrowse_events_appended_total",
                "Events durably appended to S2",
            )
            .expect("valid metric"),
            bytes_appended: IntCounter::new(
                "cobrowse_bytes_appended_total",
                "Event payload bytes durably appended to S2 (before compression)",
            )
            .expect("valid metric"),
            events_delivered: IntCounter::new(
                "cobrowse_events_delivered_total",
                "Events sent to agents",
            )
            .expect("valid metric"),
            append_latency: Histogram::with_opts(
                HistogramOpts::new(
                    "cobrowse_append_latency_seconds",
                    "Time for S2 to acknowledge an append",
                )
                .buckets(latency_buckets.clone()),
            )
            .expect("valid metric"),
            agent_lag: Histogram::with_opts(
                HistogramOpts::new(
                    "cobrowse_agent_lag_seconds",
                    "Time from S2 storing an event to sending it to an agent",
                )
                .buckets(latency_buckets.clone()),
            )
            .expect("valid metric"),
            signal_latency: Histogram::with_opts(
                HistogramOpts::new(
                    "cobrowse_signal_latency_seconds",
                    "Time from S2 storing an agent's signal to this node handling it",
                )
                .buckets(latency_buckets),
            )
            .expect("valid metric"),
            rejected: IntCounterVec::new(
                Opts::new("cobrowse_rejected_total", "Inputs refused, by reason"),
                &["reason"],
            )
            .expect("valid metric"),
            agent_records_lost: IntCounter::new(
                "cobrowse_agent_records_lost_total",
                "Agent records that could not be queued on their session's writer",
            )
            .expect("valid metric"),
            directory_sessions: IntGauge::new(
                "cobrowse_directory_sessions",
                "Sessions in this node's session directory",
            )
            .expect("valid metric"),
            directory_live: IntGauge::new(
                "cobrowse_directory_live",
                "Live sessions in this node's session directory",
            )
            .expect("valid metric"),
            directory_entries: IntGauge::new(
                "cobrowse_directory_entries",
                "Entries in the session directory index: listed, or waiting for their start record",
            )
            .expect("valid metric"),
            directory_heap_bytes: IntGauge::new(
                "cobrowse_directory_heap_bytes",
                "The session directory index's own estimate of its heap use",
            )
            .expect("valid metric"),
            consent: IntCounterVec::new(
                Opts::new(
                    "cobrowse_consent_requests_total",
                    "Consent steps by kind and outcome: requested, then granted, declined, \
                     timeout, withdrawn or busy",
                ),
                &["kind", "outcome"],
            )
            .expect("valid metric"),
            sessions_ended: IntCounterVec::new(
                Opts::new(
                    "cobrowse_sessions_ended_total",
                    "Sessions this node ended, by reason",
                ),
                &["reason"],
            )
            .expect("valid metric"),
            store_errors: IntCounterVec::new(
                Opts::new(
                    "cobrowse_store_errors_total",
                    "Store operations that failed, by operation",
                ),
                &["operation"],
            )
            .expect("valid metric"),
            calls_active: IntGauge::new("cobrowse_calls_active", "Calls running on this node")
                .expect("valid metric"),
            recordings_active: IntGauge::new(
                "cobrowse_recordings_active",
                "Call recordings being written on this node",
            )
            .expect("valid metric"),
            call_bytes_forwarded: IntCounter::new(
                "cobrowse_call_bytes_forwarded_total",
                "Call media payload bytes sent to participants by this node's SFU",
            )
            .expect("valid metric"),
            call_connection_failures: IntCounter::new(
                "cobrowse_call_connection_failures_total",
                "Call connections that failed (ICE or DTLS)",
            )
            .expect("valid metric"),
            ready: IntGauge::new(
                "cobrowse_ready",
                "1 if the node is ready (directory loaded, store answering), else 0",
            )
            .expect("valid metric"),
            registry,
        };
        for kind in CONSENT_KINDS {
            for outcome in CONSENT_OUTCOMES {
                m.consent.with_label_values(&[kind, outcome]);
            }
        }
        for reason in END_REASONS {
            m.sessions_ended.with_label_values(&[reason]);
        }
        for operation in STORE_OPERATIONS {
            m.store_errors.with_label_values(&[operation]);
        }
        let build_info = IntGaugeVec::new(
            Opts::new(
                "cobrowse_build_info",
                "The running build: always 1, its version and commit as labels",
            ),
            &["version", "git_sha"],
        )
        .expect("valid metric");
        build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                option_env!("COBROWSE_GIT_SHA").unwrap_or("unknown"),
            ])
            .set(1);
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(m.sessions_live.clone()),
            Box::new(m.tracker_connections.clone()),
            Box::new(m.agent_connections.clone()),
            Box::new(m.events_appended.clone()),
            Box::new(m.bytes_appended.clone()),
            Box::new(m.events_delivered.clone()),
            Box::new(m.append_latency.clone()),
            Box::new(m.agent_lag.clone()),
            Box::new(m.signal_latency.clone()),
            Box::new(m.rejected.clone()),
            Box::new(m.agent_records_lost.clone()),
            Box::new(m.directory_sessions.clone()),
            Box::new(m.directory_live.clone()),
            Box::new(m.directory_entries.clone()),
            Box::new(m.directory_heap_bytes.clone()),
            Box::new(m.consent.clone()),
            Box::new(m.sessions_ended.clone()),
            Box::new(m.store_errors.clone()),
            Box::new(m.calls_active.clone()),
            Box::new(m.recordings_active.clone()),
            Box::new(m.call_bytes_forwarded.clone()),
            Box::new(m.call_connection_failures.clone()),
            Box::new(m.ready.clone()),
            Box::new(build_info),
        ];
        for c in collectors {
            m.registry.register(c).expect("metric names are unique");
        }
        m
    }

    pub fn render(&self) -> String {
        let mut families = self.registry.gather();
        families.extend(prometheus::gather());
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut out)
            .expect("text encoding cannot fail");
        String::from_utf8(out).expect("prometheus text is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
