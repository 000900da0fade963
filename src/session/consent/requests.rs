//! Requests and answers: an agent asking for a grant, the prompt the user sees, and the user's
//! answer. Throttled so that an agent cannot flash prompts at the user, and exclusive where only
//! one agent may hold a grant at a time.

use std::time::Instant;

use super::{
    Consent, Effect, NO_GRANT, Pending, REQUEST_INTERVAL, REQUEST_TIMEOUT, TOO_SOON, record,
};
use crate::protocol::{AgentAction, AgentRef, DeclineReason, Grant, GrantKind, ServerMessage};

impl Consent {
    pub(super) fn request(
        &mut self,
        agent: AgentRef,
        kind: GrantKind,
        video: bool,
        now: Instant,
    ) -> Vec<Effect> {
        // Only someone in the call may ask to record it.
        if kind == GrantKind::Record && !self.allows(&agent.id, GrantKind::Call) {
            return self.refuse(agent, "request", NO_GRANT, now);
        }
        let video = video && kind == GrantKind::Call;
        let asked = self
            .pending
            .values()
            .any(|p| p.kind == kind && p.agent.id == agent.id);
        if self.allows(&agent.id, kind) || asked {
            return Vec::new();
        }
        let key = (agent.id.clone(), kind);
        if self
            .asked
            .get(&key)
            .is_some_and(|at| now.duration_since(*at) < REQUEST_INTERVAL)
        {
            return self.refuse(agent, "request", TOO_SOON, now);
        }
        if let Some(holder) = self.exclusive_holder(kind, &agent.id) {
            return vec![record(&agent, AgentAction::Busy { kind, holder })];
        }
        // Only a request that shows the user a prompt counts toward the interval.
        self.asked.insert(key, now);
        let request_id = uuid::Uuid::new_v4().to_string();
        self.pending.insert(
            request_id.clone(),
            Pending {
                agent: agent.clone(),
                kind,
                video,
                deadline: now + REQUEST_TIMEOUT,
            },
        );
        vec![
            record(
                &agent,
                AgentAction::Requested {
                    kind,
                    request_id: request_id.clone(),
                    video,
                },
            ),
            Effect::Tracker(ServerMessage::ConsentRequest {
                request_id,
                kind,
                agent,
                video,
            }),
        ]
    }

    /// Only one agent controls at a time, and one recording runs at a time; any number may draw
    /// or be in the call.
    fn exclusive_holder(&self, kind: GrantKind, asker: &str) -> Option<AgentRef> {
        if !matches!(kind, GrantKind::Control | GrantKind::Record) {
            return None;
        }
        self.grants
            .iter()
            .find(|g| g.kind == kind && g.agent.id != asker)
            .map(|g| g.agent.clone())
    }

    /// The user's answer, from any tab; the first one counts.
    pub fn on_answer(
        &mut self,
        request_id: &str,
        granted: bool,
        reason: Option<DeclineReason>,
    ) -> Vec<Effect> {
        let Some(Pending {
            agent, kind, video, ..
        }) = self.pending.remove(request_id)
        else {
            // Too late (withdrawn, timed out, answered elsewhere): make sure the tab shows the
            // grants as they are.
            return vec![Effect::Tracker(self.grants_message())];
        };
        let cancel = Effect::Tracker(ServerMessage::ConsentCancel {
            request_id: request_id.to_string(),
        });
        if !granted {
            let reason = reason.unwrap_or(DeclineReason::Declined);
            let request_id = request_id.to_string();
            return vec![
                record(
                    &agent,
                    AgentAction::Declined {
                        kind,
                        request_id,
                        reason,
                    },
                ),
                cancel,
            ];
        }
        if let Some(holder) = self.exclusive_holder(kind, &agent.id) {
            return vec![
                record(&agent, AgentAction::Busy { kind, holder }),
                cancel,
                Effect::Tracker(self.grants_message()),
            ];
        }
        // A recording asked for by someone who has since left the call is not started.
        if kind == GrantKind::Record && !self.allows(&agent.id, GrantKind::Call) {
            let request_id = request_id.to_string();
            return vec![
                record(&agent, AgentAction::Withdrawn { kind, request_id }),
                cancel,
            ];
        }
        self.grants.push(Grant {
            kind,
            agent: agent.clone(),
            video,
        });
        // Drops counted before the grant are recorded before it, so no reader takes them for
        // drops of the new grant's input.
        let mut effects = self.flush_drops(&agent.id);
        let request_id = request_id.to_string();
        effects.extend([
            record(
                &agent,
                AgentAction::Granted {
                    kind,
                    request_id,
                    video,
                },
            ),
            cancel,
            Effect::Tracker(self.grants_message()),
        ]);
        effects
    }
}
