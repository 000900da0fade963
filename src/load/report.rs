//! What a load run measured, printed for people or as one JSON object.

use std::fmt;

use serde::Serialize;

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    pub samples: usize,
    pub p50: f64,
    pub p90: f64,
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
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// The server process, read from /proc when it runs on this machine.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerCost {
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
    pub agents_per_session: usize,
    pub duration_s: f64,
    pub connections: usize,
    pub connect_failures: usize,
    pub events_sent: u64,
    pub events_acked: u64,
    pub ingested_events_per_s: f64,
    pub ingested_mb_per_s: f64,
    pub delivered_events_per_s: f64,
    pub delivered_mb_per_s: f64,
    pub end_to_end_ms: Percentiles,
    pub ack_ms: Percentiles,
    pub lost: u64,
    pub duplicated: u64,
    pub server: Option<ServerCost>,
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
            "sessions          {} x {} agents, {:.0} s, {} connections held, {} failed to connect",
            self.sessions,
            self.agents_per_session,
            self.duration_s,
            self.connections,
            self.connect_failures
        )?;
        writeln!(
            f,
            "ingested          {:.0} events/s, {:.2} MB/s ({} sent, {} acknowledged)",
            self.ingested_events_per_s, self.ingested_mb_per_s, self.events_sent, self.events_acked
        )?;
        writeln!(
            f,
            "delivered         {:.0} events/s, {:.2} MB/s",
            self.delivered_events_per_s, self.delivered_mb_per_s
        )?;
        writeln!(f, "end to end        {}", p(&self.end_to_end_ms))?;
        writeln!(f, "acknowledgement   {}", p(&self.ack_ms))?;
        writeln!(f, "lost / duplicated {} / {}", self.lost, self.duplicated)?;
        if let Some(s) = &self.server {
            writeln!(
                f,
                "server pid {}     RSS {:.0} -> {:.0} MB ({:.0} KB/session), CPU {:.1} s ({:.2} cores, {:.3} s/MB)",
                s.pid,
                s.rss_before_mb,
                s.rss_after_mb,
                s.kb_per_session,
                s.cpu_seconds,
                s.cpu_cores,
                s.cpu_seconds_per_mb
            )?;
        }
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
        assert_eq!(p.p99, 99.0);
        assert_eq!(p.max, 100.0);
        assert_eq!(Percentiles::from_micros(vec![]).samples, 0);
    }
}
