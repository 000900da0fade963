//! Steps taken while the session's writer has no room for their records (S2 stalled, the
//! writer's queue full, or the writer gone). The audit trail fails closed: what would give an
//! agent power over the page (input, a stroke, a prompt, a grant) is not done, and is counted as
//! dropped with [`NO_RECORD`], to be recorded once the writer has room again. What takes power
//! away (a release, a revoke, an agent leaving, a timeout) is done anyway, because refusing it
//! would leave an agent acting on the page against the user's wish; its records are lost, and the
//! room counts them. A Stop's records are not lost: the agent's node closes a `view` only when it
//! reads the `revoked`, so they are owed, and written first by the next step that can write.

use std::time::Instant;

use super::{Consent, Drops, Effect, NO_RECORD, view};
use crate::protocol::{AgentRef, DeclineReason, GrantKind, Signal};

impl Consent {
    /// [`Consent::on_signal`] for a step whose records cannot be written.
    pub fn on_unrecordable_signal(
        &mut self,
        agent: AgentRef,
        signal: Signal,
        page: bool,
        now: Instant,
    ) -> Vec<Effect> {
        let what = match &signal {
            Signal::Control { .. } => "control",
            Signal::Stroke { .. } => "stroke",
            Signal::Request { .. } | Signal::View { granted: false, .. } => "request",
            _ => match view::needs_view(&signal).filter(|_| !self.admits(&agent.id)) {
                Some(what) => what,
                None => return self.on_signal(agent, signal, page, now),
            },
        };
        if self.departed.contains_key(&agent.id) {
            return Vec::new();
        }
        // The agent is still there, whatever happens to what it asked.
        self.watchers.insert(agent.id.clone(), (agent.clone(), now));
        self.count_drop(agent, what, now)
    }

    /// [`Consent::on_answer`] for a step whose records cannot be written. A decline is applied (it
    /// gives nobody anything); an Accept is not: the request stays pending, so another tab may
    /// still answer it or it times out, and the tab is told the grants as they are.
    pub fn on_unrecordable_answer(
        &mut self,
        request_id: &str,
        granted: bool,
        reason: Option<DeclineReason>,
        now: Instant,
    ) -> Vec<Effect> {
        let Some(agent) = self
            .pending
            .get(request_id)
            .filter(|_| granted)
            .map(|p| p.agent.clone())
        else {
            return self.on_answer(request_id, granted, reason);
        };
        let mut effects = self.count_drop(agent, "answer", now);
        effects.push(Effect::Tracker(self.grants_message()));
        effects
    }

    /// [`Consent::on_revoke`] for a step whose records cannot be written: the grant ends now, and
    /// its records wait in [`Consent::take_owed`].
    pub fn on_unrecordable_revoke(&mut self, kind: GrantKind, agent_id: &str) -> Vec<Effect> {
        let mut effects = self.on_revoke(kind, agent_id);
        effects.retain(|effect| match effect {
            Effect::Record(record) => {
                self.owed.push(record.clone());
                false
            }
            _ => true,
        });
        effects
    }

    /// The records of Stops not written yet, for a step that can write them: they go before its
    /// own, so no grant given since comes before the Stop in the session's stream.
    pub fn take_owed(&mut self) -> Vec<Effect> {
        self.owed.drain(..).map(Effect::Record).collect()
    }

    /// [`Consent::sweep`] while records cannot be written: requests still time out and silent
    /// agents still leave, but counted drops keep counting until they can be recorded.
    pub fn sweep_unrecordable(&mut self, now: Instant) -> Vec<Effect> {
        let before = self.watching_message();
        let effects = self.expire(now, false);
        self.note_watchers(before, effects)
    }

    /// Counts a drop for [`NO_RECORD`] without a record now: the next sweep that can write
    /// records it, with the count.
    fn count_drop(&mut self, agent: AgentRef, what: &'static str, now: Instant) -> Vec<Effect> {
        let key = (agent.id.clone(), what, NO_RECORD);
        self.drops
            .entry(key)
            .or_insert(Drops {
                agent,
                last_recorded: now,
                unrecorded: 0,
            })
            .unrecorded += 1;
        vec![Effect::Rejected(NO_RECORD)]
    }
}
