//! Consent: what the user allowed which agent to do, kept by the node that holds the session's
//! tracker. Everything an agent may do to the page passes through here, so a console that forges
//! messages gets no further than one that follows the rules: input and strokes are forwarded only
//! while their agent holds a grant the tracker reported, and a revoke applies to the very next
//! message.
//!
//! The state machine is pure: each call takes the time and returns [`Effect`]s (messages for the
//! session's trackers, records for its stream) for the room to carry out. The room carries out a
//! step's records before its messages, and when the session's writer has no room for them it
//! asks the `on_unrecordable_*` variants instead, which give no agent any power over the page
//! that a record would not show (`unrecorded`).

mod forwarded;
pub mod navigation;
mod requests;
mod unrecorded;
pub mod view;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::protocol::{
    AgentAction, AgentRecord, AgentRef, DeclineReason, Grant, GrantKind, LeftReason, ServerMessage,
    Signal, ViewMode,
};

/// A request nobody answered is declined after this; the page's own prompt gives up at 30 s.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(35);
/// An agent whose node sent nothing for this long is gone (its node sends heartbeats every 15 s).
pub const AGENT_LEASE: Duration = Duration::from_secs(45);
/// At most one `dropped` record per agent, kind of message and reason in this window.
const DROP_WINDOW: Duration = Duration::from_secs(1);
/// Why input or a stroke was dropped: its agent holds no grant for it.
pub const NO_GRANT: &str = "no_grant";
/// Why input or a stroke was dropped: no tab of the session is connected to act on it (the page
/// is between two loads, or the tab it names is closed).
pub const NO_PAGE: &str = "no_page";
/// Why a request was dropped: the same agent asked for the same thing moments ago. Prompts
/// flashing up and away would let an agent put an Accept button under the user's pointer.
pub const TOO_SOON: &str = "too_soon";
/// The least time between two requests of one agent for one kind.
pub const REQUEST_INTERVAL: Duration = Duration::from_secs(3);
/// Why input, a stroke, a request or a user's Accept was dropped: its record could not be queued
/// on the session's writer (S2 stalled), and nothing reaches the page unrecorded.
pub const NO_RECORD: &str = "no_record";
/// Why a tracker's `refused` was ignored: this node forwarded no such input to that tab for that
/// agent, so recording it would name an agent who asked nothing.
pub const UNSOLICITED_REFUSAL: &str = "unsolicited_refused";

/// Something the room must do after a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send to every tracker connection of the session on this node.
    Tracker(ServerMessage),
    /// Write an `agent` record to the session stream.
    Record(AgentRecord),
    /// Count one message refused for this reason (`cobrowse_rejected_total`), as it is refused:
    /// its record, if any, may come up to a second later.
    Rejected(&'static str),
    /// Take the agent out of the session's call: its connection, and the canvases it asked for.
    LeaveCall { agent_id: String },
}

struct Pending {
    agent: AgentRef,
    kind: GrantKind,
    /// A call with video.
    video: bool,
    /// For `view`: the signed-in agent a grant lets in for the rest of the session.
    account: Option<String>,
    deadline: Instant,
}

/// Refused messages of one agent not yet recorded.
struct Drops {
    agent: AgentRef,
    last_recorded: Instant,
    unrecorded: u32,
}

#[derive(Default)]
pub struct Consent {
    /// Agents watching, by id, and when their node last spoke for them.
    watchers: BTreeMap<String, (AgentRef, Instant)>,
    /// Requests awaiting the user's answer, by request id.
    pending: BTreeMap<String, Pending>,
    grants: Vec<Grant>,
    drops: HashMap<(String, &'static str, &'static str), Drops>,
    /// When each agent (for `view`, each account) last had the user prompted for each kind, and
    /// how often the user said no since, for [`REQUEST_INTERVAL`] and its backoff.
    asked: HashMap<(String, GrantKind), requests::Asked>,
    /// Agents that left, and when: a heartbeat their node sent just before the `left` must not
    /// bring them back.
    departed: HashMap<String, Instant>,
    /// Input forwarded and not yet refused, so only refusals of real input are recorded.
    forwarded: forwarded::Forwarded,
    /// The session's `view` mode, from its `start` record.
    view: ViewMode,
    /// In `view: ask`, the signed-in agents (digests) the user let in this session, and the
    /// account each agent connection asked as: a second visit of one agent is not asked again.
    let_in: BTreeSet<String>,
    /// `let_in` was read from the session's stream when this node claimed it
    /// ([`Consent::restore_let_in`]): an agent's node saying it was granted restores nothing
    /// for an account not in it.
    let_in_from_stream: bool,
    accounts: HashMap<String, String>,
    /// Agent connections the user declined or stopped watching: nothing their node says lets
    /// them back in (a heartbeat sent before it read the `revoked` still says `granted`).
    shut_out: BTreeSet<String>,
    /// Records of Stops given while they could not be written (`unrecorded`): the next step that
    /// can write writes them first, before anything it grants.
    owed: Vec<AgentRecord>,
}

impl Consent {
    pub fn allows(&self, agent_id: &str, kind: GrantKind) -> bool {
        self.grants
            .iter()
            .any(|g| g.kind == kind && g.agent.id == agent_id)
    }

    pub fn grants_message(&self) -> ServerMessage {
        ServerMessage::Grants {
            grants: self.grants.clone(),
        }
    }

    /// What a tracker connecting now must be told: the grants, and the prompts still open (the
    /// page may have navigated while one was shown).
    pub fn snapshot(&self) -> Vec<ServerMessage> {
        let mut messages = vec![self.grants_message(), self.watching_message()];
        messages.extend(
            self.pending
                .iter()
                .map(|(id, p)| ServerMessage::ConsentRequest {
                    request_id: id.clone(),
                    kind: p.kind,
                    agent: p.agent.clone(),
                    video: p.video,
                }),
        );
        messages
    }

    pub fn watchers(&self) -> Vec<AgentRef> {
        self.watchers.values().map(|(a, _)| a.clone()).collect()
    }

    /// A signal from an agent's node; `page` says whether a tab of the session is connected here
    /// to act on input.
    pub fn on_signal(
        &mut self,
        agent: AgentRef,
        signal: Signal,
        page: bool,
        now: Instant,
    ) -> Vec<Effect> {
        // The most frequent signals (pointer moves, strokes, heartbeats) from an agent already
        // watching cannot change who watches: the page's `watching` is not worked out twice.
        if self.watchers.contains_key(&agent.id) && leaves_watchers_as_they_are(&signal) {
            return self.handle(agent, signal, page, now);
        }
        let before = self.watching_message();
        let effects = self.handle(agent, signal, page, now);
        self.note_watchers(before, effects)
    }

    /// Control input the page must not get whatever the grants say (a `navigate` to another
    /// origin, [`navigation::OTHER_ORIGIN`]): dropped and recorded like input without a grant,
    /// with `reason`, or with [`NO_GRANT`] when the agent holds no control grant anyway.
    pub fn refuse_control(
        &mut self,
        agent: AgentRef,
        reason: &'static str,
        now: Instant,
    ) -> Vec<Effect> {
        let reason = if self.allows(&agent.id, GrantKind::Control) {
            reason
        } else {
            NO_GRANT
        };
        self.refuse(agent, "control", reason, now)
    }

    fn handle(&mut self, agent: AgentRef, signal: Signal, page: bool, now: Instant) -> Vec<Effect> {
        if signal == Signal::Left {
            return self.leave(&agent, LeftReason::Closed, now);
        }
        if self.departed.contains_key(&agent.id) {
            return Vec::new();
        }
        // Any signal shows the agent is still there. A heartbeat from an agent this node did not
        // know of (the tracker moved here) makes it a watcher again, quietly: it joined long ago.
        self.watchers.insert(agent.id.clone(), (agent.clone(), now));
        if let Some(what) = view::needs_view(&signal).filter(|_| !self.admits(&agent.id)) {
            return self.refuse(agent, what, NO_GRANT, now);
        }
        match signal {
            Signal::Joined => {
                let joined = record(
                    &agent,
                    AgentAction::Joined {
                        watchers: self.watchers(),
                    },
                );
                // In `view: ask` the fresh snapshot waits for the user's Accept.
                if self.view == ViewMode::Ask {
                    vec![joined]
                } else {
                    vec![joined, Effect::Tracker(ServerMessage::Resync)]
                }
            }
            Signal::View { account, granted } => self.ask_view(agent, account, granted, now),
            Signal::Heartbeat | Signal::Left => Vec::new(),
            Signal::Resync => vec![Effect::Tracker(ServerMessage::Resync)],
            Signal::Request { kind, video } => self.request(agent, kind, video, now),
            Signal::Release { kind } => self.release(&agent, kind),
            Signal::Control { .. } | Signal::Stroke { .. } if !page => {
                let what = if matches!(signal, Signal::Control { .. }) {
                    "control"
                } else {
                    "stroke"
                };
                let kind = if what == "control" {
                    GrantKind::Control
                } else {
                    GrantKind::Annotate
                };
                let reason = if self.allows(&agent.id, kind) {
                    NO_PAGE
                } else {
                    NO_GRANT
                };
                self.refuse(agent, what, reason, now)
            }
            Signal::Control { tab, input } => {
                if self.allows(&agent.id, GrantKind::Control) {
                    self.forwarded.note(&agent.id, &tab, input.action(), now);
                    vec![
                        Effect::Tracker(ServerMessage::Control {
                            agent_id: agent.id.clone(),
                            tab: tab.clone(),
                            input: input.clone(),
                        }),
                        record(
                            &agent,
                            AgentAction::Control {
                                tab,
                                input: input.audit(),
                            },
                        ),
                    ]
                } else {
                    self.refuse(agent, "control", NO_GRANT, now)
                }
            }
            Signal::Stroke { tab, stroke } => {
                if self.allows(&agent.id, GrantKind::Annotate) {
                    vec![
                        Effect::Tracker(ServerMessage::Stroke {
                            agent_id: agent.id.clone(),
                            tab: tab.clone(),
                            stroke: stroke.clone(),
                        }),
                        record(&agent, AgentAction::Stroke { tab, stroke }),
                    ]
                } else {
                    self.refuse(agent, "stroke", NO_GRANT, now)
                }
            }
            // Call negotiation goes to the call, which checks it against the grants itself; the
            // room sends it here only from an agent the user has not let in, refused above.
            Signal::CallJoin { .. }
            | Signal::CallAnswer { .. }
            | Signal::CallCandidate { .. }
            | Signal::Canvas { .. }
            | Signal::ToAgent { .. } => Vec::new(),
            // The agent's node refused it already; the session's trail says so.
            Signal::Forbidden { what, role, needs } => {
                vec![record(&agent, AgentAction::Forbidden { what, role, needs })]
            }
        }
    }

    /// The user stopped a grant.
    pub fn on_revoke(&mut self, kind: GrantKind, agent_id: &str) -> Vec<Effect> {
        let mut effects = Vec::new();
        if let Some(grant) = self.take_grant(kind, agent_id) {
            effects.push(record(&grant.agent, AgentAction::Revoked { kind }));
            if kind == GrantKind::View {
                effects.extend(self.view_revoked(&grant.agent));
            }
        }
        effects.extend(self.end_orphan_recording());
        effects.push(Effect::Tracker(self.grants_message()));
        effects
    }

    /// The user hung up: every `call` and `record` grant ends at once.
    pub fn hangup(&mut self) -> Vec<Effect> {
        let (ended, kept): (Vec<Grant>, Vec<Grant>) = std::mem::take(&mut self.grants)
            .into_iter()
            .partition(|g| matches!(g.kind, GrantKind::Call | GrantKind::Record));
        self.grants = kept;
        let mut effects: Vec<Effect> = ended
            .iter()
            .map(|g| record(&g.agent, AgentAction::Revoked { kind: g.kind }))
            .collect();
        effects.push(Effect::Tracker(self.grants_message()));
        effects
    }

    /// A recording belongs to the call of the agent who asked for it: it ends when that agent
    /// leaves the call.
    fn end_orphan_recording(&mut self) -> Vec<Effect> {
        let orphan = self
            .grants
            .iter()
            .find(|g| g.kind == GrantKind::Record && !self.allows(&g.agent.id, GrantKind::Call))
            .map(|g| g.agent.id.clone());
        let Some(agent_id) = orphan else {
            return Vec::new();
        };
        self.take_grant(GrantKind::Record, &agent_id)
            .map(|grant| {
                record(
                    &grant.agent,
                    AgentAction::Ended {
                        kind: GrantKind::Record,
                        reason: "call_ended".into(),
                    },
                )
            })
            .into_iter()
            .collect()
    }

    fn take_grant(&mut self, kind: GrantKind, agent_id: &str) -> Option<Grant> {
        let at = self
            .grants
            .iter()
            .position(|g| g.kind == kind && g.agent.id == agent_id)?;
        Some(self.grants.remove(at))
    }

    fn release(&mut self, agent: &AgentRef, kind: GrantKind) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.take_grant(kind, &agent.id).is_some() {
            effects.push(record(agent, AgentAction::Released { kind }));
            effects.extend(self.end_orphan_recording());
            effects.push(Effect::Tracker(self.grants_message()));
        }
        effects.extend(self.withdraw(&agent.id, Some(kind)));
        effects
    }

    /// Withdraws an agent's pending requests (of one kind, or all).
    fn withdraw(&mut self, agent_id: &str, kind: Option<GrantKind>) -> Vec<Effect> {
        let ids: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.agent.id == agent_id && kind.is_none_or(|k| k == p.kind))
            .map(|(id, _)| id.clone())
            .collect();
        let mut effects = Vec::new();
        for request_id in ids {
            let Some(p) = self.pending.remove(&request_id) else {
                continue;
            };
            effects.push(record(
                &p.agent,
                AgentAction::Withdrawn {
                    kind: p.kind,
                    request_id: request_id.clone(),
                },
            ));
            effects.push(Effect::Tracker(ServerMessage::ConsentCancel { request_id }));
        }
        effects
    }

    /// An agent left: its requests are withdrawn and its grants end with it.
    fn leave(&mut self, agent: &AgentRef, reason: LeftReason, now: Instant) -> Vec<Effect> {
        let agent = self
            .watchers
            .remove(&agent.id)
            .map_or_else(|| agent.clone(), |(a, _)| a);
        let mut effects = self.withdraw(&agent.id, None);
        let ended: Vec<Grant> = self
            .grants
            .iter()
            .filter(|g| g.agent.id == agent.id)
            .cloned()
            .collect();
        if !ended.is_empty() {
            self.grants.retain(|g| g.agent.id != agent.id);
            for grant in ended {
                effects.push(record(
                    &agent,
                    AgentAction::Ended {
                        kind: grant.kind,
                        reason: "agent_left".to_string(),
                    },
                ));
            }
            effects.push(Effect::Tracker(self.grants_message()));
        }
        effects.extend(self.flush_drops(&agent.id));
        self.forwarded.forget(&agent.id);
        self.asked.retain(|(id, _), _| *id != agent.id);
        self.departed.insert(agent.id.clone(), now);
        let watchers = self.watchers();
        effects.push(record(&agent, AgentAction::Left { reason, watchers }));
        effects
    }

    /// Drops a message its agent had no grant for: the first of a burst is recorded at once,
    /// the rest are counted into one record a second.
    fn refuse(
        &mut self,
        agent: AgentRef,
        what: &'static str,
        reason: &'static str,
        now: Instant,
    ) -> Vec<Effect> {
        let key = (agent.id.clone(), what, reason);
        let mut effects = vec![Effect::Rejected(reason)];
        match self.drops.get_mut(&key) {
            Some(drops) if now.duration_since(drops.last_recorded) < DROP_WINDOW => {
                drops.unrecorded += 1;
            }
            Some(drops) => {
                let count = drops.unrecorded + 1;
                drops.last_recorded = now;
                drops.unrecorded = 0;
                effects.push(dropped(&agent, what, reason, count));
            }
            None => {
                self.drops.insert(
                    key,
                    Drops {
                        agent: agent.clone(),
                        last_recorded: now,
                        unrecorded: 0,
                    },
                );
                effects.push(dropped(&agent, what, reason, 1));
            }
        }
        effects
    }

    /// Records what was counted of an agent's drops, and forgets its counters.
    fn flush_drops(&mut self, agent_id: &str) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.drops.retain(|(id, what, reason), drops| {
            if id != agent_id {
                return true;
            }
            if drops.unrecorded > 0 {
                effects.push(dropped(&drops.agent, what, reason, drops.unrecorded));
            }
            false
        });
        effects
    }

    /// The session ends, or this node stops holding it: Stops still owed are recorded, every
    /// grant ends (recorded with `reason`), counted drops are recorded, and nothing is left.
    pub fn end_all(&mut self, reason: &str) -> Vec<Effect> {
        let mut effects = self.take_owed();
        let agents: Vec<String> = self.drops.keys().map(|(id, _, _)| id.clone()).collect();
        for agent in agents {
            effects.extend(self.flush_drops(&agent));
        }
        for grant in std::mem::take(&mut self.grants) {
            effects.push(record(
                &grant.agent,
                AgentAction::Ended {
                    kind: grant.kind,
                    reason: reason.to_string(),
                },
            ));
        }
        // The mode is the session's, whoever holds it.
        let view = self.view;
        *self = Self::default();
        self.view = view;
        effects
    }

    /// Whether [`Consent::sweep`] has anything to look at.
    pub fn is_idle(&self) -> bool {
        self.watchers.is_empty()
            && self.pending.is_empty()
            && self.drops.is_empty()
            && self.departed.is_empty()
            && self.forwarded.is_empty()
            && self.owed.is_empty()
    }

    /// Time passing: unanswered requests are declined, silent agents leave, counted drops are
    /// recorded.
    pub fn sweep(&mut self, now: Instant) -> Vec<Effect> {
        let before = self.watching_message();
        let effects = self.expire(now, true);
        self.note_watchers(before, effects)
    }

    /// Time passing; `flush` says whether counted drops may be recorded now (else they keep
    /// counting until the writer has room).
    fn expire(&mut self, now: Instant, flush: bool) -> Vec<Effect> {
        let mut effects = Vec::new();
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for request_id in expired {
            effects.extend(self.on_answer(&request_id, false, Some(DeclineReason::Timeout)));
        }
        let lost: Vec<AgentRef> = self
            .watchers
            .values()
            .filter(|(_, seen)| now.duration_since(*seen) >= AGENT_LEASE)
            .map(|(a, _)| a.clone())
            .collect();
        for agent in lost {
            effects.extend(self.leave(&agent, LeftReason::Lost, now));
        }
        self.departed
            .retain(|_, at| now.duration_since(*at) < AGENT_LEASE);
        // Shut out while its node may still speak for it.
        (self.shut_out)
            .retain(|id| self.watchers.contains_key(id) || self.departed.contains_key(id));
        self.asked.retain(|_, asked| !asked.forgotten(now));
        self.forwarded.expire(now);
        self.drops.retain(|(_, what, reason), drops| {
            if !flush || now.duration_since(drops.last_recorded) < DROP_WINDOW {
                return true;
            }
            if drops.unrecorded == 0 {
                return false;
            }
            effects.push(dropped(&drops.agent, what, reason, drops.unrecorded));
            drops.last_recorded = now;
            drops.unrecorded = 0;
            true
        });
        effects
    }
}

/// Signals that neither add nor remove a watcher nor change whom the user let in (`view` grants),
/// when they come from an agent already watching.
fn leaves_watchers_as_they_are(signal: &Signal) -> bool {
    matches!(
        signal,
        Signal::Control { .. }
            | Signal::Stroke { .. }
            | Signal::Heartbeat
            | Signal::Resync
            | Signal::Canvas { .. }
            | Signal::CallJoin { .. }
            | Signal::CallAnswer { .. }
            | Signal::CallCandidate { .. }
    )
}

fn record(agent: &AgentRef, action: AgentAction) -> Effect {
    Effect::Record(AgentRecord {
        agent: agent.clone(),
        action,
    })
}

fn dropped(agent: &AgentRef, what: &str, reason: &str, count: u32) -> Effect {
    record(
        agent,
        AgentAction::Dropped {
            what: what.to_string(),
            reason: reason.to_string(),
            count,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ControlInput, Role};

    fn agent(name: &str) -> AgentRef {
        AgentRef {
            id: format!("id-{name}"),
            name: name.to_string(),
        }
    }

    /// An agent's click on the page (the consent tests of this module and of `view`).
    pub(super) fn click() -> Signal {
        Signal::Control {
            tab: "t".into(),
            input: ControlInput::Click {
                id: 1,
                x: 0.0,
                y: 0.0,
            },
        }
    }

    /// An agent's pen stroke on the page.
    pub(super) fn stroke() -> Signal {
        Signal::Stroke {
            tab: "t".into(),
            stroke: crate::protocol::Stroke {
                id: "s".into(),
                tool: crate::protocol::StrokeTool::Pen,
                color: "#ff0000".into(),
                points: vec![[1.0, 2.0]],
            },
        }
    }

    /// An agent's request of `kind`, without video.
    pub(super) fn request(kind: GrantKind) -> Signal {
        Signal::Request { kind, video: false }
    }

    /// The id of the prompt `effects` show the user.
    pub(super) fn prompt_id(effects: &[Effect]) -> String {
        effects
            .iter()
            .find_map(|e| match e {
                Effect::Tracker(ServerMessage::ConsentRequest { request_id, .. }) => {
                    Some(request_id.clone())
                }
                _ => None,
            })
            .expect("the user is asked")
    }

    fn actions(effects: &[Effect]) -> Vec<&AgentAction> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Record(r) => Some(&r.action),
                Effect::Tracker(_) | Effect::Rejected(_) | Effect::LeaveCall { .. } => None,
            })
            .collect()
    }

    fn forwards(effects: &[Effect]) -> bool {
        effects
            .iter()
            .any(|e| matches!(e, Effect::Tracker(ServerMessage::Control { .. })))
    }

    fn granted(consent: &mut Consent, who: &AgentRef, kind: GrantKind, now: Instant) {
        let asked = consent.on_signal(who.clone(), request(kind), true, now);
        consent.on_answer(&prompt_id(&asked), true, None);
    }

    #[test]
    fn refused_control_is_recorded_with_its_reason_only_under_a_grant() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let alice = agent("alice");
        let reason = |effects: &[Effect]| match actions(effects)[..] {
            [AgentAction::Dropped { what, reason, .. }] if what == "control" => reason.clone(),
            _ => panic!("{effects:?}"),
        };
        let without = consent.refuse_control(alice.clone(), navigation::OTHER_ORIGIN, now);
        assert_eq!(reason(&without), NO_GRANT, "no grant: that is the reason");
        granted(&mut consent, &alice, GrantKind::Control, now);
        let with = consent.refuse_control(alice, navigation::OTHER_ORIGIN, now);
        assert_eq!(reason(&with), navigation::OTHER_ORIGIN);
    }

    #[test]
    fn an_unanswered_request_is_declined_as_timed_out_and_its_prompt_removed() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let asked = consent.on_signal(agent("alice"), request(GrantKind::Control), true, now);
        let id = prompt_id(&asked);
        assert!(consent.sweep(now + REQUEST_TIMEOUT / 2).is_empty());
        let effects = consent.sweep(now + REQUEST_TIMEOUT);
        assert!(matches!(
            actions(&effects)[..],
            [AgentAction::Declined {
                reason: DeclineReason::Timeout,
                ..
            }]
        ));
        assert!(
            effects.contains(&Effect::Tracker(ServerMessage::ConsentCancel {
                request_id: id.clone()
            }))
        );
        // The page's own late answer grants nothing.
        consent.on_answer(&id, true, None);
        assert!(!consent.allows("id-alice", GrantKind::Control));
    }

    #[test]
    fn two_pending_control_requests_cannot_both_be_granted() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let a = consent.on_signal(agent("alice"), request(GrantKind::Control), true, now);
        let b = consent.on_signal(agent("bob"), request(GrantKind::Control), true, now);
        consent.on_answer(&prompt_id(&a), true, None);
        let effects = consent.on_answer(&prompt_id(&b), true, None);
        assert!(
            matches!(actions(&effects)[..], [AgentAction::Busy { holder, .. }] if holder.name == "alice")
        );
        assert!(consent.allows("id-alice", GrantKind::Control));
        assert!(!consent.allows("id-bob", GrantKind::Control));
    }

    #[test]
    fn an_agent_whose_node_went_silent_loses_its_grant() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let alice = agent("alice");
        consent.on_signal(alice.clone(), Signal::Joined, true, now);
        granted(&mut consent, &alice, GrantKind::Annotate, now);
        // Heartbeats keep it.
        consent.on_signal(
            alice.clone(),
            Signal::Heartbeat,
            true,
            now + AGENT_LEASE / 2,
        );
        assert!(consent.sweep(now + AGENT_LEASE).is_empty());
        let effects = consent.sweep(now + AGENT_LEASE / 2 + AGENT_LEASE);
        assert!(matches!(
            actions(&effects)[..],
            [
                AgentAction::Ended { .. },
                AgentAction::Left {
                    reason: LeftReason::Lost,
                    ..
                }
            ]
        ));
        assert!(!consent.allows("id-alice", GrantKind::Annotate));
    }

    #[test]
    fn a_revoke_applies_to_the_next_input_and_drops_are_counted_once_a_second() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let alice = agent("alice");
        granted(&mut consent, &alice, GrantKind::Control, now);
        assert!(forwards(&consent.on_signal(
            alice.clone(),
            click(),
            true,
            now
        )));
        consent.on_revoke(GrantKind::Control, "id-alice");
        let first = consent.on_signal(alice.clone(), click(), true, now);
        assert!(!forwards(&first));
        assert!(matches!(
            actions(&first)[..],
            [AgentAction::Dropped { count: 1, .. }]
        ));
        for _ in 0..4 {
            let counted = consent.on_signal(alice.clone(), click(), true, now);
            assert_eq!(counted, vec![Effect::Rejected(NO_GRANT)]);
        }
        let flushed = consent.sweep(now + DROP_WINDOW);
        assert!(matches!(
            actions(&flushed)[..],
            [AgentAction::Dropped { count: 4, .. }]
        ));
        assert!(consent.sweep(now + DROP_WINDOW * 3).is_empty());
    }

    #[test]
    fn an_agent_cannot_flash_prompts_at_the_user() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let alice = agent("alice");
        let request = request(GrantKind::Control);
        let release = Signal::Release {
            kind: GrantKind::Control,
        };
        prompt_id(&consent.on_signal(alice.clone(), request.clone(), true, now));
        consent.on_signal(alice.clone(), release.clone(), true, now);
        let again = consent.on_signal(alice.clone(), request.clone(), true, now);
        assert!(
            matches!(actions(&again)[..], [AgentAction::Dropped { reason, .. }] if reason == TOO_SOON)
        );
        consent.on_signal(alice.clone(), release, true, now);
        prompt_id(&consent.on_signal(alice, request, true, now + REQUEST_INTERVAL));
    }

    #[test]
    fn a_refusal_by_role_is_recorded_and_asks_the_user_nothing() {
        let mut consent = Consent::default();
        let now = Instant::now();
        consent.on_signal(agent("vera"), Signal::Joined, true, now);
        let forbidden = Signal::Forbidden {
            what: "request control".into(),
            role: Role::Viewer,
            needs: Role::Helper,
        };
        let effects = consent.on_signal(agent("vera"), forbidden, true, now);
        assert_eq!(
            actions(&effects),
            vec![&AgentAction::Forbidden {
                what: "request control".into(),
                role: Role::Viewer,
                needs: Role::Helper
            }]
        );
        assert_eq!(
            effects.len(),
            1,
            "nothing for the page, no prompt for the user"
        );
    }

    #[test]
    fn a_heartbeat_sent_just_before_an_agent_left_does_not_bring_it_back() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let alice = agent("alice");
        consent.on_signal(alice.clone(), Signal::Joined, true, now);
        consent.on_signal(alice.clone(), Signal::Left, true, now);
        consent.on_signal(alice.clone(), Signal::Heartbeat, true, now);
        assert!(consent.watchers().is_empty());
        assert!(
            consent.sweep(now + AGENT_LEASE * 2).is_empty(),
            "no second `left`"
        );
    }

    #[test]
    fn drops_counted_before_an_agent_leaves_are_recorded_as_it_leaves() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let mallory = agent("mallory");
        for _ in 0..5 {
            consent.on_signal(mallory.clone(), click(), true, now);
        }
        let effects = consent.on_signal(mallory, Signal::Left, true, now);
        let counted: u32 = actions(&effects)
            .iter()
            .map(|a| match a {
                AgentAction::Dropped { count, .. } => *count,
                _ => 0,
            })
            .sum();
        assert_eq!(
            counted, 4,
            "the first drop was recorded at once, the other four now"
        );
    }

    #[test]
    fn the_session_ending_ends_its_grants_on_the_record() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let alice = agent("alice");
        granted(&mut consent, &alice, GrantKind::Control, now);
        let effects = consent.end_all("session_ended");
        assert!(
            matches!(actions(&effects)[..], [AgentAction::Ended { reason, .. }] if reason == "session_ended")
        );
        assert!(!consent.allows("id-alice", GrantKind::Control));
    }

    #[test]
    fn a_recording_needs_the_askers_call_is_exclusive_and_ends_with_that_call() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let (alice, bob) = (agent("alice"), agent("bob"));
        let record = request(GrantKind::Record);
        let alone = consent.on_signal(alice.clone(), record.clone(), true, now);
        assert!(
            matches!(actions(&alone)[..], [AgentAction::Dropped { reason, .. }] if reason == NO_GRANT),
            "no prompt to record a call the agent is not in: {alone:?}"
        );
        granted(&mut consent, &alice, GrantKind::Call, now);
        granted(&mut consent, &bob, GrantKind::Call, now);
        granted(&mut consent, &alice, GrantKind::Record, now);
        assert!(consent.allows("id-alice", GrantKind::Record));
        let second = consent.on_signal(bob.clone(), record, true, now);
        assert!(
            matches!(actions(&second)[..], [AgentAction::Busy { .. }]),
            "one recording at a time: {second:?}"
        );
        let left_call = consent.on_signal(
            alice.clone(),
            Signal::Release {
                kind: GrantKind::Call,
            },
            true,
            now,
        );
        assert!(actions(&left_call).iter().any(|a| matches!(
            a,
            AgentAction::Ended { kind: GrantKind::Record, reason } if reason == "call_ended"
        )));
        assert!(!consent.allows("id-alice", GrantKind::Record));
        assert!(
            consent.allows("id-bob", GrantKind::Call),
            "the call goes on for bob"
        );
    }

    #[test]
    fn hanging_up_ends_every_call_and_recording_but_not_control() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let (alice, bob) = (agent("alice"), agent("bob"));
        granted(&mut consent, &alice, GrantKind::Control, now);
        granted(&mut consent, &alice, GrantKind::Call, now);
        granted(&mut consent, &bob, GrantKind::Call, now);
        granted(&mut consent, &alice, GrantKind::Record, now);
        let effects = consent.hangup();
        let revoked = actions(&effects)
            .iter()
            .filter(|a| matches!(a, AgentAction::Revoked { .. }))
            .count();
        assert_eq!(revoked, 3);
        assert!(consent.allows("id-alice", GrantKind::Control));
        assert!(!consent.allows("id-alice", GrantKind::Call));
        assert!(!consent.allows("id-bob", GrantKind::Call));
        assert!(!consent.allows("id-alice", GrantKind::Record));
        assert!(
            effects.iter().any(|e| matches!(e, Effect::Tracker(ServerMessage::Grants { grants }) if grants.len() == 1)),
            "the page is told at once"
        );
    }

    #[test]
    fn a_video_call_prompt_and_grant_say_video() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let asked = consent.on_signal(
            agent("alice"),
            Signal::Request {
                kind: GrantKind::Call,
                video: true,
            },
            true,
            now,
        );
        assert!(asked.iter().any(|e| matches!(
            e,
            Effect::Tracker(ServerMessage::ConsentRequest { video: true, .. })
        )));
        let answered = consent.on_answer(&prompt_id(&asked), true, None);
        assert!(answered.iter().any(|e| matches!(
            e,
            Effect::Tracker(ServerMessage::Grants { grants }) if grants[0].video
        )));
        // Video means nothing for other kinds.
        let control = consent.on_signal(
            agent("bob"),
            Signal::Request {
                kind: GrantKind::Control,
                video: true,
            },
            true,
            now,
        );
        assert!(control.iter().any(|e| matches!(
            e,
            Effect::Tracker(ServerMessage::ConsentRequest { video: false, .. })
        )));
    }

    #[test]
    fn input_that_cannot_be_recorded_is_not_forwarded_and_its_drop_is_recorded_later() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let alice = agent("alice");
        granted(&mut consent, &alice, GrantKind::Control, now);
        for _ in 0..3 {
            let effects = consent.on_unrecordable_signal(alice.clone(), click(), true, now);
            assert_eq!(
                effects,
                vec![Effect::Rejected(NO_RECORD)],
                "counted at once"
            );
        }
        assert_eq!(
            consent.on_unrecordable_signal(alice.clone(), stroke(), true, now),
            vec![Effect::Rejected(NO_RECORD)]
        );
        // While the writer stays full the counts wait; once it has room they are recorded.
        assert!(actions(&consent.sweep_unrecordable(now + DROP_WINDOW)).is_empty());
        let flushed = consent.sweep(now + DROP_WINDOW);
        let mut counts: Vec<(String, u32)> = actions(&flushed)
            .iter()
            .filter_map(|a| match a {
                AgentAction::Dropped {
                    what,
                    reason,
                    count,
                } if reason == NO_RECORD => Some((what.clone(), *count)),
                _ => None,
            })
            .collect();
        counts.sort();
        assert_eq!(counts, vec![("control".into(), 3), ("stroke".into(), 1)]);
        // The grant itself is untouched: recorded input flows again.
        assert!(forwards(&consent.on_signal(alice, click(), true, now)));
    }

    #[test]
    fn no_prompt_and_no_grant_without_their_record() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let alice = agent("alice");
        let request = request(GrantKind::Control);
        let unasked = consent.on_unrecordable_signal(alice.clone(), request.clone(), true, now);
        assert_eq!(unasked, vec![Effect::Rejected(NO_RECORD)], "no prompt");
        let asked = consent.on_signal(alice.clone(), request, true, now);
        let id = prompt_id(&asked);
        let accepted = consent.on_unrecordable_answer(&id, true, None, now);
        assert!(actions(&accepted).is_empty());
        assert!(
            accepted.contains(&Effect::Tracker(ServerMessage::Grants { grants: vec![] })),
            "the tab is told the grants as they are"
        );
        assert!(!consent.allows("id-alice", GrantKind::Control));
        // The request is still open: an answer that can be recorded grants it.
        consent.on_answer(&id, true, None);
        assert!(consent.allows("id-alice", GrantKind::Control));
    }

    #[test]
    fn what_takes_power_away_happens_even_unrecorded() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let alice = agent("alice");
        granted(&mut consent, &alice, GrantKind::Control, now);
        let released = consent.on_unrecordable_signal(
            alice.clone(),
            Signal::Release {
                kind: GrantKind::Control,
            },
            true,
            now,
        );
        assert!(matches!(
            actions(&released)[..],
            [AgentAction::Released { .. }]
        ));
        assert!(!consent.allows("id-alice", GrantKind::Control));
        let asked = consent.on_signal(
            alice,
            request(GrantKind::Control),
            true,
            now + REQUEST_INTERVAL,
        );
        let declined = consent.on_unrecordable_answer(&prompt_id(&asked), false, None, now);
        assert!(matches!(
            actions(&declined)[..],
            [AgentAction::Declined { .. }]
        ));
    }

    #[test]
    fn a_refusal_is_recorded_only_for_input_forwarded_to_that_tab_for_that_agent() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let (alice, bob) = (agent("alice"), agent("bob"));
        consent.on_signal(bob.clone(), Signal::Joined, true, now);
        let unsolicited = vec![Effect::Rejected(UNSOLICITED_REFUSAL)];
        assert_eq!(
            consent.on_refused("id-bob", "t", "click", "gone"),
            unsolicited,
            "bob asked nothing"
        );
        granted(&mut consent, &alice, GrantKind::Control, now);
        assert!(forwards(&consent.on_signal(
            alice.clone(),
            click(),
            true,
            now
        )));
        assert_eq!(
            consent.on_refused("id-alice", "other-tab", "click", "gone"),
            unsolicited
        );
        assert_eq!(
            consent.on_refused("id-alice", "t", "navigate", "cross-origin"),
            unsolicited
        );
        assert_eq!(
            consent.on_refused("id-bob", "t", "click", "gone"),
            unsolicited
        );
        let refused = consent.on_refused("id-alice", "t", "click", "target gone");
        assert!(matches!(
            actions(&refused)[..],
            [AgentAction::Refused { input, .. }] if input == "click"
        ));
        assert_eq!(
            consent.on_refused("id-alice", "t", "click", "again"),
            unsolicited,
            "one input, one refusal"
        );
        // A refusal long after its input is not believed.
        consent.on_signal(alice, click(), true, now);
        consent.sweep(now + forwarded::REFUSAL_WINDOW);
        assert_eq!(
            consent.on_refused("id-alice", "t", "click", "late"),
            unsolicited
        );
    }
}
