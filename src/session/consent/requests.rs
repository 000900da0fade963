//! Requests and answers: an agent asking for a grant, the prompt the user sees, and the user's
//! answer. Throttled so that an agent cannot flash prompts at the user, and exclusive where only
//! one agent may hold a grant at a time.

use std::time::{Duration, Instant};

use super::{
    Consent, Effect, NO_GRANT, Pending, REQUEST_INTERVAL, REQUEST_TIMEOUT, TOO_SOON, record,
};
use crate::protocol::{AgentAction, AgentRef, DeclineReason, Grant, GrantKind, ServerMessage};

/// After the user said no (declined, let the prompt time out, or stopped an agent watching), the
/// same agent waits this long before the next prompt of that kind, doubling with each further no,
/// up to [`MAX_BACKOFF`]: an agent the user turned away cannot keep putting prompts in front of
/// them every [`REQUEST_INTERVAL`].
pub const DECLINE_BACKOFF: Duration = Duration::from_secs(10);
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// When one agent (for `view`, one account) last had the user prompted for one kind, and how
/// many times the user said no since it was first asked.
#[derive(Debug, Clone, Copy)]
pub(super) struct Asked {
    at: Instant,
    declines: u32,
}

impl Asked {
    /// The least time from this prompt to the next.
    fn wait(self) -> Duration {
        match self.declines {
            0 => REQUEST_INTERVAL,
            n => DECLINE_BACKOFF
                .saturating_mul(1 << (n - 1).min(16))
                .min(MAX_BACKOFF),
        }
    }

    /// Nothing to remember any more: the longest backoff has passed since the last prompt.
    pub(super) fn forgotten(self, now: Instant) -> bool {
        now.duration_since(self.at) >= MAX_BACKOFF.max(REQUEST_TIMEOUT)
    }
}

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
        if self.too_soon(&key, now) {
            return self.refuse(agent, "request", TOO_SOON, now);
        }
        if let Some(holder) = self.exclusive_holder(kind, &agent.id) {
            return vec![record(&agent, AgentAction::Busy { kind, holder })];
        }
        // Only a request that shows the user a prompt counts toward the interval.
        self.prompted(key, now);
        let request_id = uuid::Uuid::new_v4().to_string();
        self.pending.insert(
            request_id.clone(),
            Pending {
                agent: agent.clone(),
                kind,
                video,
                account: None,
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

    /// Whether the user was prompted for `key` too recently to be prompted again.
    pub(super) fn too_soon(&self, key: &(String, GrantKind), now: Instant) -> bool {
        self.asked
            .get(key)
            .is_some_and(|asked| now.duration_since(asked.at) < asked.wait())
    }

    /// The user is prompted for `key` now.
    pub(super) fn prompted(&mut self, key: (String, GrantKind), now: Instant) {
        self.asked
            .entry(key)
            .and_modify(|asked| asked.at = now)
            .or_insert(Asked {
                at: now,
                declines: 0,
            });
    }

    /// The user said no to `key`: its next prompt waits longer.
    pub(super) fn said_no(&mut self, key: &(String, GrantKind)) {
        if let Some(asked) = self.asked.get_mut(key) {
            asked.declines = asked.declines.saturating_add(1);
        }
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
            agent,
            kind,
            video,
            account,
            ..
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
            self.said_no(&(account.unwrap_or_else(|| agent.id.clone()), kind));
            if kind == GrantKind::View {
                self.shut_out.insert(agent.id.clone());
            }
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
        effects.extend([
            record(
                &agent,
                AgentAction::Granted {
                    kind,
                    request_id: request_id.to_string(),
                    video,
                    account: account.clone(),
                },
            ),
            cancel,
            Effect::Tracker(self.grants_message()),
        ]);
        if let Some(account) = account.filter(|_| kind == GrantKind::View) {
            effects.extend(self.view_granted(account));
        }
        effects
    }
}
