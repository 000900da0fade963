//! What a load run measured, printed for people or as one JSON object.

use std::fmt;

use serde::Serialize;

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    pub samples: usize,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    /// From samples in microseconds.
    pub fn from_micros(mut samples: Vec<u64>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples[i] as f64 / 1000.0
        };
        Self {
            samples: samples.len(),
            p50: at(0.50),
            p90: at(0.90),
            p95: at(0.95),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// A process under load (the server, or its separate store), read from /proc when it runs on
/// this machine.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessCost {
    pub pid: u32,
    pub rss_before_mb: f64,
    pub rss_after_mb: f64,
    /// (RSS after connecting everyone − RSS before) / sessions.
    pub kb_per_session: f64,
    pub cpu_seconds: f64,
    /// CPU seconds spent per MB of event payload ingested.
    pub cpu_seconds_per_mb: f64,
    /// Share of one core over the measured window.
    pub cpu_cores: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub target: String,
    pub sessions: usize,
    /// Sessions with agents; end-to-end latency is measured over these alone.
    pub watched_sessions: usize,
    pub agents_per_session: usize,
    pub duration_s: f64,
    pub connections: usize,
    pub connect_failures: usize,
    pub events_sent: u64,
    /// Event batches the trackers sent per second: each one a store append (or a share of one).
    pub tracker_batches_per_s: f64,
    pub events_acked: u64,
    pub ingested_events_per_s: f64,
    pub ingested_mb_per_s: f64,
    pub delivered_events_per_s: f64,
    pub delivered_mb_per_s: f64,
    pub end_to_end_ms: Percentiles,
    pub ack_ms: Percentiles,
    pub lost: u64,
    pub duplicated: u64,
    /// The agents connected before the window: from its start, when their trackers send their
    /// first full snapshot, to that snapshot's arrival.
    pub initial_join_ms: Percentiles,
    /// Agents that joined during the window (`--joins`): from the WebSocket connect to the first
    /// full snapshot sent after it.
    pub join_ms: Percentiles,
    pub joins: usize,
    /// Joins that connected but had no snapshot within the timeout or before the window closed.
    pub joins_timed_out: u64,
    /// Joins the server refused or closed before a snapshot.
    pub joins_failed: u64,
    pub server: Option<ProcessCost>,
    /// A separate `cobrowse store`, when the server uses one.
    pub store: Option<ProcessCost>,
}

impl Report {
    /// Share of the events sent that were stored (acknowledged).
    pub fn ingested_fraction(&self) -> f64 {
        if self.events_sent == 0 {
            return 0.0;
        }
        self.events_acked as f64 / self.events_sent as f64
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = |p: &Percentiles| {
            format!(
                "p50 {:.1} / p90 {:.1} / p99 {:.1} / max {:.1} ms ({} samples)",
                p.p50, p.p90, p.p99, p.max, p.samples
            )
        };
        writeln!(f, "target            {}", self.target)?;
        writeln!(
            f,
            "sessions          {} ({} watched by {} agents each), {:.0} s, {} connections held, {} failed to connect",
            self.sessions,
            self.watched_sessions,
            self.agents_per_session,
            self.duration_s,
            self.connections,
            self.connect_failures
        )?;
        writeln!(
            f,
            "ingested          {:.0} events/s, {:.2} MB/s ({} sent in {:.0} batches/s, {} acknowledged)",
            self.ingested_events_per_s,
            self.ingested_mb_per_s,
            self.events_sent,
            self.tracker_batches_per_s,
            self.events_acked
        )?;
        writeln!(
            f,
            "delivered         {:.0} events/s, {:.2} MB/s",
            self.delivered_events_per_s, self.delivered_mb_per_s
        )?;
        writeln!(f, "end to end        {}", p(&self.end_to_end_ms))?;
        writeln!(f, "acknowledgement   {}", p(&self.ack_ms))?;
        writeln!(f, "lost / duplicated {} / {}", self.lost, self.duplicated)?;
        let joins = |p: &Percentiles| {
            format!(
                "p50 {:.1} / p95 {:.1} / p99 {:.1} / max {:.1} ms ({} samples)",
                p.p50, p.p95, p.p99, p.max, p.samples
            )
        };
        if self.initial_join_ms.samples > 0 {
            writeln!(f, "first snapshot    {}", joins(&self.initial_join_ms))?;
        }
        if self.joins > 0 {
            writeln!(
                f,
                "joins             {}; {} timed out, {} failed",
                joins(&self.join_ms),
                self.joins_timed_out,
                self.joins_failed
            )?;
        }
        for (name, cost) in [("server", &self.server), ("store ", &self.store)] {
            if let Some(s) = cost {
                writeln!(
                    f,
                    "{name} pid {}     RSS {:.0} -> {:.0} MB ({:.0} KB/session), CPU {:.1} s ({:.2} cores, {:.3} s/MB)",
                    s.pid,
                    s.rss_before_mb,
                    s.rss_after_mb,
                    s.kb_per_session,
                    s.cpu_seconds,
                    s.cpu_cores,
                    s.cpu_seconds_per_mb
                )?;
            }
        }
        Ok(())
    }
}

/// What a call load run measured: the SFU's cost per stream it forwards.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallReport {
    pub target: String,
    pub calls: usize,
    pub agents_per_call: usize,
    /// The user and the agents, in every call.
    pub participants: usize,
    pub duration_s: f64,
    /// From the first `request` to every participant receiving every stream, slowest call.
    pub setup_s: f64,
    /// (receiver, sender track) pairs that should flow: participants × others × 2 per call.
    pub streams_expected: usize,
    /// Of those, the ones that brought packets during the window.
    pub streams_flowing: usize,
    pub packets_per_s: f64,
    /// RTP payload forwarded to the participants, in Mbit/s.
    pub forwarded_mbit_s: f64,
    /// Sequence numbers never received during the window (skipped by the SFU or lost).
    pub lost_packets: u64,
    pub loss_percent: f64,
    /// Send → receive per packet, through the SFU, on one clock.
    pub latency_ms: Percentiles,
    /// The slowest stream's rate against what its sender sends.
    pub slowest_stream_percent: f64,
    pub server: Option<CallServerCost>,
    /// The load tool's own CPU (its peers encrypt and decrypt as much as the server does).
    pub load_tool_cores: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CallServerCost {
    pub pid: u32,
    pub rss_before_mb: f64,
    pub rss_after_mb: f64,
    pub cpu_cores: f64,
    /// Percent of one core per forwarded stream.
    pub cpu_percent_per_stream: f64,
    /// Percent of one core per forwarded Mbit/s.
    pub cpu_percent_per_mbit_s: f64,
}

impl fmt::Display for CallReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.latency_ms;
        writeln!(f, "target            {}", self.target)?;
        writeln!(
            f,
            "calls             {} x (user + {} agents), {:.0} s, set up in {:.1} s",
            self.calls, self.agents_per_call, self.duration_s, self.setup_s
        )?;
        writeln!(
            f,
            "streams           {} of {} flowing, slowest at {:.0}% of its sender's rate",
            self.streams_flowing, self.streams_expected, self.slowest_stream_percent
        )?;
        writeln!(
            f,
            "forwarded         {:.0} packets/s, {:.1} Mbit/s",
            self.packets_per_s, self.forwarded_mbit_s
        )?;
        writeln!(
            f,
            "lost              {} packets ({:.2}%)",
            self.lost_packets, self.loss_percent
        )?;
        writeln!(
            f,
            "latency           p50 {:.1} / p90 {:.1} / p99 {:.1} / max {:.1} ms ({} samples)",
            p.p50, p.p90, p.p99, p.max, p.samples
        )?;
        if let Some(s) = &self.server {
            writeln!(
                f,
                "server pid {}     RSS {:.0} -> {:.0} MB, CPU {:.2} cores, {:.2}% of a core per stream, {:.2}% per Mbit/s",
                s.pid,
                s.rss_before_mb,
                s.rss_after_mb,
                s.cpu_cores,
                s.cpu_percent_per_stream,
                s.cpu_percent_per_mbit_s
            )?;
        }
        writeln!(f, "load tool         CPU {:.2} cores", self.load_tool_cores)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_sorted_samples_in_ms() {
        let p = Percentiles::from_micros((1..=100).rev().map(|x| x * 1000).collect());
        assert_eq!(p.samples, 100);
        assert_eq!(p.p50, 51.0);
        assert_eq!(p.p95, 95.0);
        assert_eq!(p.p99, 99.0);
        assert_eq!(p.max, 100.0);
        assert_eq!(Percentiles::from_micros(vec![]).samples, 0);
    }
}
