//! `cobrowse load --step START:INCREMENT:MAX`: finds the knee, the most sessions a server carries
//! within its targets.
//!
//! [`Stepper`] is the decision without the runs: it says which session count to run next, takes
//! each run's [`Report`] (or the error that stopped it), checks it against the [`Targets`] and
//! stops at the first count that breaks one. The caller runs the load and prints.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use super::report::Report;
use super::sim::LoadError;

/// Between two steps, for the previous step's connections to close. The server keeps their rooms
/// until its `--idle-timeout` (a tab may come back), so a later step's RSS starts higher.
pub const PAUSE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StepError {
    #[error("--step '{0}' must look like START:INCREMENT:MAX (session counts, e.g. 500:500:5000)")]
    Format(String),
    #[error("--step '{0}': START must be at least 1, INCREMENT at least 1, and MAX at least START")]
    Range(String),
}

/// Session counts START, START + INCREMENT, ... up to MAX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepPlan {
    pub start: usize,
    pub increment: usize,
    pub max: usize,
}

impl FromStr for StepPlan {
    type Err = StepError;

    fn from_str(text: &str) -> Result<Self, StepError> {
        let parts: Vec<usize> = text
            .split(':')
            .map(|p| p.trim().parse())
            .collect::<Result<_, _>>()
            .map_err(|_| StepError::Format(text.into()))?;
        let [start, increment, max] = parts[..] else {
            return Err(StepError::Format(text.into()));
        };
        if start == 0 || increment == 0 || max < start {
            return Err(StepError::Range(text.into()));
        }
        Ok(Self {
            start,
            increment,
            max,
        })
    }
}

impl StepPlan {
    /// The count after `sessions`, unless that passes MAX.
    fn after(&self, sessions: usize) -> Option<usize> {
        sessions
            .checked_add(self.increment)
            .filter(|next| *next <= self.max)
    }
}

/// What a step must meet to pass. Every session must connect, whatever else is asked.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// Acknowledgement p99, ms.
    pub max_ack_p99: Option<f64>,
    /// Acknowledged / sent.
    pub min_ingested: Option<f64>,
    /// Tracker → agent p99, ms.
    pub max_e2e_p99: Option<f64>,
}

impl Targets {
    /// The targets `report` misses, each said with its figure; empty when it passes.
    pub fn missed(&self, report: &Report) -> Vec<String> {
        let mut missed = Vec::new();
        if report.connect_failures > 0 {
            missed.push(format!(
                "{} of {} sessions failed to connect",
                report.connect_failures, report.sessions
            ));
        }
        if let Some(max) = self.max_ack_p99 {
            let ack = &report.ack_ms;
            if ack.samples == 0 {
                missed.push("no batch was acknowledged".into());
            } else if ack.p99 > max {
                missed.push(format!("ack p99 {:.0} ms > {max} ms", ack.p99));
            }
        }
        if let Some(min) = self.min_ingested {
            let ingested = report.ingested_fraction();
            if ingested < min {
                missed.push(format!(
                    "ingested {ingested:.3} of what was sent < {min} ({} of {})",
                    report.events_acked, report.events_sent
                ));
            }
        }
        if let Some(max) = self.max_e2e_p99 {
            let e2e = &report.end_to_end_ms;
            if e2e.samples == 0 {
                missed.push("no event reached an agent (is any session watched?)".into());
            } else if e2e.p99 > max {
                missed.push(format!("e2e p99 {:.0} ms > {max} ms", e2e.p99));
            }
        }
        missed
    }
}

/// One step's run and verdict: a JSON line of its own.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    #[serde(flatten)]
    pub report: Report,
    pub passed: bool,
    /// The targets it missed, or why it could not run.
    pub missed: Vec<String>,
}

impl fmt::Display for StepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.report)?;
        if self.passed {
            writeln!(f, "step              passed")
        } else {
            writeln!(f, "step              broke: {}", self.missed.join("; "))
        }
    }
}

/// The outcome of a step run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Knee {
    /// The last session count that met every target; none when the first step broke.
    pub knee: Option<usize>,
    /// The count that broke a target; none when every step up to MAX passed.
    pub broke_at: Option<usize>,
    /// What broke there.
    pub missed: Vec<String>,
}

impl fmt::Display for Knee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.knee, self.broke_at) {
            (Some(knee), Some(broke)) => writeln!(
                f,
                "knee              {knee} sessions; {broke} broke: {}",
                self.missed.join("; ")
            ),
            (None, Some(broke)) => writeln!(
                f,
                "knee              below {broke} sessions, the first step: {}",
                self.missed.join("; ")
            ),
            (Some(knee), None) => {
                writeln!(
                    f,
                    "knee              not reached: {knee} sessions still passed"
                )
            }
            (None, None) => writeln!(f, "knee              no step ran"),
        }
    }
}

/// Which count to run next, and the knee so far.
#[derive(Debug)]
pub struct Stepper {
    plan: StepPlan,
    targets: Targets,
    next: Option<usize>,
    knee: Knee,
}

impl Stepper {
    pub fn new(plan: StepPlan, targets: Targets) -> Self {
        Self {
            next: Some(plan.start),
            plan,
            targets,
            knee: Knee::default(),
        }
    }

    /// The session count of the next run; none once a step broke or MAX passed.
    pub fn next_sessions(&self) -> Option<usize> {
        self.next
    }

    /// Takes the outcome of the run at [`Self::next_sessions`] and judges it.
    pub fn record(&mut self, sessions: usize, outcome: Result<Report, LoadError>) -> StepReport {
        let (report, missed) = match outcome {
            Ok(report) => {
                let missed = self.targets.missed(&report);
                (report, missed)
            }
            Err(error) => (
                Report {
                    sessions,
                    ..Report::default()
                },
                vec![error.to_string()],
            ),
        };
        let passed = missed.is_empty();
        if passed {
            self.knee.knee = Some(sessions);
            self.next = self.plan.after(sessions);
        } else {
            self.knee.broke_at = Some(sessions);
            self.knee.missed = missed.clone();
            self.next = None;
        }
        StepReport {
            report,
            passed,
            missed,
        }
    }

    pub fn knee(&self) -> &Knee {
        &self.knee
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::report::Percentiles;

    fn report(sessions: usize, ack_p99: f64, acked: u64, e2e_p99: f64) -> Report {
        let ms = |p99: f64| Percentiles {
            samples: 100,
            p99,
            ..Percentiles::default()
        };
        Report {
            sessions,
            events_sent: 1000,
            events_acked: acked,
            ack_ms: ms(ack_p99),
            end_to_end_ms: ms(e2e_p99),
            ..Report::default()
        }
    }

    fn targets() -> Targets {
        Targets {
            max_ack_p99: Some(1000.0),
            min_ingested: Some(0.99),
            max_e2e_p99: Some(150.0),
        }
    }

    #[test]
    fn a_step_plan_is_three_counts() {
        assert_eq!(
            "500:250:2000".parse(),
            Ok(StepPlan {
                start: 500,
                increment: 250,
                max: 2000
            })
        );
        assert!(matches!(
            "500:250".parse::<StepPlan>(),
            Err(StepError::Format(_))
        ));
        assert!(matches!(
            "a:1:2".parse::<StepPlan>(),
            Err(StepError::Format(_))
        ));
        assert!(matches!(
            "1:2:3:4".parse::<StepPlan>(),
            Err(StepError::Format(_))
        ));
        assert!(matches!(
            "0:1:2".parse::<StepPlan>(),
            Err(StepError::Range(_))
        ));
        assert!(matches!(
            "1:0:2".parse::<StepPlan>(),
            Err(StepError::Range(_))
        ));
        assert!(matches!(
            "3:1:2".parse::<StepPlan>(),
            Err(StepError::Range(_))
        ));
    }

    #[test]
    fn steps_stop_at_max_even_when_the_increment_overshoots_it() {
        let plan: StepPlan = "100:300:800".parse().unwrap();
        let mut stepper = Stepper::new(plan, Targets::default());
        let mut ran = Vec::new();
        while let Some(n) = stepper.next_sessions() {
            ran.push(n);
            assert!(stepper.record(n, Ok(report(n, 1.0, 1000, 1.0))).passed);
        }
        assert_eq!(ran, [100, 400, 700]);
        assert_eq!(
            stepper.knee(),
            &Knee {
                knee: Some(700),
                broke_at: None,
                missed: vec![]
            }
        );
    }

    #[test]
    fn the_knee_is_the_last_count_before_a_target_broke() {
        let mut stepper = Stepper::new("1000:1000:10000".parse().unwrap(), targets());
        assert!(
            stepper
                .record(1000, Ok(report(1000, 200.0, 1000, 60.0)))
                .passed
        );
        assert_eq!(stepper.next_sessions(), Some(2000));
        let step = stepper.record(2000, Ok(report(2000, 1400.0, 900, 60.0)));
        assert!(!step.passed);
        assert_eq!(step.missed.len(), 2, "{:?}", step.missed);
        assert!(step.missed[0].starts_with("ack p99 1400 ms"));
        assert!(step.missed[1].starts_with("ingested 0.900"));
        assert_eq!(stepper.next_sessions(), None);
        let knee = stepper.knee();
        assert_eq!((knee.knee, knee.broke_at), (Some(1000), Some(2000)));
        assert_eq!(knee.missed, step.missed);
    }

    #[test]
    fn a_first_step_that_breaks_leaves_no_knee() {
        let mut stepper = Stepper::new("10:10:20".parse().unwrap(), targets());
        let step = stepper.record(10, Err(LoadError::NothingConnected("x".into())));
        assert!(!step.passed);
        assert_eq!(step.report.sessions, 10);
        assert_eq!(stepper.knee().knee, None);
        assert_eq!(stepper.knee().broke_at, Some(10));
    }

    #[test]
    fn failed_connections_and_missing_samples_break_a_step() {
        let mut failing = report(100, 1.0, 1000, 1.0);
        failing.connect_failures = 3;
        assert_eq!(
            Targets::default().missed(&failing),
            ["3 of 100 sessions failed to connect"]
        );
        let mut unwatched = report(100, 1.0, 1000, 1.0);
        unwatched.end_to_end_ms = Percentiles::default();
        assert_eq!(targets().missed(&unwatched).len(), 1);
        assert!(
            targets()
                .missed(&report(100, 1000.0, 990, 150.0))
                .is_empty()
        );
    }
}
