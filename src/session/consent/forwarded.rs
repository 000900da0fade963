//! What this node forwarded to which tab for which agent, so that a tracker's `refused` is
//! recorded only for input the server really sent that tab for that agent. Without it a hostile
//! page (or any script on it) could fill the session's audit trail with refusals naming agents
//! who asked nothing.
//!
//! Bounded on every side: a refusal must arrive within [`REFUSAL_WINDOW`] of its input, at most
//! [`MAX_PER_KEY`] unanswered inputs are remembered per agent, tab and action, and at most
//! [`MAX_KEYS`] such keys per session. Input past a bound is still forwarded; its refusal is
//! only counted, never recorded.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{Consent, Effect, UNSOLICITED_REFUSAL, record};
use crate::protocol::{AgentAction, AgentRef};

/// How long after forwarding an input its refusal is believed: the page refuses as it
/// performs the input, which is at once.
pub const REFUSAL_WINDOW: Duration = Duration::from_secs(10);
/// Unrefused inputs remembered per agent, tab and action (input comes at most ~15 a second).
const MAX_PER_KEY: u32 = 256;
/// Agent, tab and action triples remembered per session.
const MAX_KEYS: usize = 256;

/// Who was sent what: `(agent id, tab, action)` → inputs not yet refused and when the last
/// was forwarded.
#[derive(Default)]
pub(super) struct Forwarded {
    sent: HashMap<(String, String, &'static str), (u32, Instant)>,
}

impl Forwarded {
    /// One input of `action` was forwarded to `tab` for `agent_id`.
    pub(super) fn note(&mut self, agent_id: &str, tab: &str, action: &'static str, now: Instant) {
        let key = (agent_id.to_string(), tab.to_string(), action);
        if !self.sent.contains_key(&key) && self.sent.len() >= MAX_KEYS {
            return;
        }
        let entry = self.sent.entry(key).or_insert((0, now));
        entry.0 = (entry.0 + 1).min(MAX_PER_KEY);
        entry.1 = now;
    }

    /// Takes one forwarded input that a refusal of `action` by `tab` for `agent_id` answers;
    /// false when this node sent no such input.
    pub(super) fn take(&mut self, agent_id: &str, tab: &str, action: &str) -> bool {
        let Some(key) = self
            .sent
            .keys()
            .find(|(a, t, act)| a == agent_id && t == tab && *act == action)
            .cloned()
        else {
            return false;
        };
        match self.sent.get_mut(&key) {
            Some((count, _)) if *count > 1 => *count -= 1,
            _ => {
                self.sent.remove(&key);
            }
        }
        true
    }

    /// Forgets inputs too old for their refusal to be believed.
    pub(super) fn expire(&mut self, now: Instant) {
        self.sent
            .retain(|_, (_, at)| now.duration_since(*at) < REFUSAL_WINDOW);
    }

    /// Forgets what was sent for an agent that left.
    pub(super) fn forget(&mut self, agent_id: &str) {
        self.sent.retain(|(a, _, _), _| a != agent_id);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }
}

impl Consent {
    /// The page could not perform an agent's input: recorded only when this node forwarded such
    /// an input to that tab for that agent, else counted.
    pub fn on_refused(
        &mut self,
        agent_id: &str,
        tab: &str,
        action: &str,
        reason: &str,
    ) -> Vec<Effect> {
        if !self.forwarded.take(agent_id, tab, action) {
            return vec![Effect::Rejected(UNSOLICITED_REFUSAL)];
        }
        let agent = self.agent(agent_id);
        vec![record(
            &agent,
            AgentAction::Refused {
                tab: tab.to_string(),
                input: action.chars().take(32).collect(),
                reason: reason.chars().take(300).collect(),
            },
        )]
    }

    fn agent(&self, agent_id: &str) -> AgentRef {
        self.watchers
            .get(agent_id)
            .map(|(a, _)| a.clone())
            .or_else(|| {
                self.grants
                    .iter()
                    .find(|g| g.agent.id == agent_id)
                    .map(|g| g.agent.clone())
            })
            .unwrap_or_else(|| AgentRef {
                id: agent_id.chars().take(64).collect(),
                name: "unknown agent".to_string(),
            })
    }
}
