//! How a session's steps are labelled in the metrics: the names of `GrantKind` and
//! `EndReason`, and a consent record's outcome, as [`crate::metrics`] lists them.

use crate::metrics::Metrics;
use crate::protocol::{AgentAction, DeclineReason, EndReason, GrantKind};

/// Counts a consent step's record, if it is one, once it is `queued` behind the session's events.
pub fn count_consent(metrics: &Metrics, action: &AgentAction, queued: bool) {
    if let (true, Some(labels)) = (queued, consent(action)) {
        metrics.consent.with_label_values(&labels).inc();
    }
}

/// `[kind, outcome]` of a consent step's record; `None` for other agent records.
pub fn consent(action: &AgentAction) -> Option<[&'static str; 2]> {
    let (kind, outcome) = match action {
        AgentAction::Requested { kind, .. } => (kind, "requested"),
        AgentAction::Busy { kind, .. } => (kind, "busy"),
        AgentAction::Granted { kind, .. } => (kind, "granted"),
        AgentAction::Declined { kind, reason, .. } => match reason {
            DeclineReason::Declined => (kind, "declined"),
            DeclineReason::Timeout => (kind, "timeout"),
        },
        AgentAction::Withdrawn { kind, .. } => (kind, "withdrawn"),
        _ => return None,
    };
    let kind = match kind {
        GrantKind::Control => "control",
        GrantKind::Annotate => "annotate",
        GrantKind::Call => "call",
        GrantKind::Record => "record",
        GrantKind::View => "view",
    };
    Some([kind, outcome])
}

pub fn end_reason(reason: EndReason) -> &'static str {
    match reason {
        EndReason::Ended => "ended",
        EndReason::Idle => "idle",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{CONSENT_KINDS, CONSENT_OUTCOMES, END_REASONS};

    /// Every label given here starts at zero in the metrics, so no series appears late.
    #[test]
    fn the_labels_are_those_the_metrics_start_with() {
        for kind in [
            GrantKind::Control,
            GrantKind::Annotate,
            GrantKind::Call,
            GrantKind::Record,
        ] {
            for reason in [DeclineReason::Declined, DeclineReason::Timeout] {
                let action = AgentAction::Declined {
                    kind,
                    request_id: "r".into(),
                    reason,
                };
                let [kind, outcome] = consent(&action).expect("a consent step");
                assert!(CONSENT_KINDS.contains(&kind));
                assert!(CONSENT_OUTCOMES.contains(&outcome));
            }
        }
        for reason in [EndReason::Ended, EndReason::Idle] {
            assert!(END_REASONS.contains(&end_reason(reason)));
        }
    }
}
