//! Watching with the user's knowledge (the tracker's `view` option). In `notify` the page is told
//! who watches; in `ask` an agent sees nothing of the page until the user let it in, and the
//! grant that lets it in is a `view` grant like any other: asked for, answered, recorded, revoked.
//!
//! Here is the holding node's half: the prompt, the grant and who the page is told watches. The
//! agent's node withholds the feed until it reads this agent's `granted` record in the session's
//! stream (`agent::view_gate`), so the two halves meet in S2, not in any node's memory.
//!
//! A grant lets in the signed-in agent (its account), not one connection: the console's
//! reconnects, a second tab and the REST export of the live session are not asked again. Another
//! agent is asked again. A node that takes the session over starts with no grants and reads from
//! the stream which accounts the user let in and did not stop (`restore_let_in`); it restores a
//! `view` grant when the agent's node says it read it (`Signal::View { granted: true }`), and
//! only for those accounts.

use std::collections::BTreeSet;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::{Consent, Effect, Pending, REQUEST_TIMEOUT, TOO_SOON, record};
use crate::protocol::{
    AgentAction, AgentRef, Grant, GrantKind, ServerMessage, Signal, ViewMode, Watcher,
};

/// The account a `view` grant names: a digest of the signed-in agent's principal (its sign-in
/// method and stable name, `Agent::principal`), so the session's records (which every viewer of
/// the session may read) do not spell out who signs in as what, a display name shared by two
/// agents lets in only one, and so does a name shared by two sign-in methods.
pub fn account(principal: &str) -> String {
    let digest = Sha256::digest(format!("cobrowse view account\0{principal}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

impl Consent {
    /// The session's mode, from its `start` record: set when this node learns it.
    pub fn set_view(&mut self, view: ViewMode) {
        self.view = view;
    }

    pub fn view(&self) -> ViewMode {
        self.view
    }

    /// This node just claimed a session that asks: `accounts` are those its stream says the user
    /// let in and did not stop (`view_access::let_in_accounts`). From now on a heartbeat saying
    /// `granted` restores a grant only for them, so one its node sent before it read a Stop
    /// written by the node that held the session before cannot undo that Stop here.
    pub fn restore_let_in(&mut self, accounts: BTreeSet<String>) {
        self.let_in = accounts;
        self.let_in_from_stream = true;
    }

    /// Whether the agent may act on the page or take part in its call at all: in `ask`, only once
    /// the user let it in. Everything else it asks for is dropped as `no_grant` (`needs_view`),
    /// so an agent waiting for the user cannot reach the page by another door (a call, the
    /// page's canvases, a control prompt).
    pub fn admits(&self, agent_id: &str) -> bool {
        self.view != ViewMode::Ask || self.allows(agent_id, GrantKind::View)
    }

    /// How many agents watch (trackers batch less often while nobody does, which is most of the
    /// time for most sessions, and each batch is an S2 append), and the names of those who see
    /// the page: in `ask`, only those the user let in.
    pub fn watching_message(&self) -> ServerMessage {
        let watchers = self
            .watchers
            .values()
            .filter(|(a, _)| self.view != ViewMode::Ask || self.allows(&a.id, GrantKind::View))
            .map(|(a, _)| Watcher {
                name: a.name.clone(),
            })
            .collect();
        ServerMessage::Watching {
            agents: u32::try_from(self.watchers.len()).unwrap_or(u32::MAX),
            watchers,
        }
    }

    /// Tells the trackers first when who watches changed.
    pub(super) fn note_watchers(
        &self,
        before: ServerMessage,
        mut effects: Vec<Effect>,
    ) -> Vec<Effect> {
        let now = self.watching_message();
        if now != before && !effects.contains(&Effect::Tracker(now.clone())) {
            effects.insert(0, Effect::Tracker(now));
        }
        effects
    }

    /// The agent's node says the agent waits to see the page (or, with `granted`, that it read
    /// its grant in the stream).
    pub(super) fn ask_view(
        &mut self,
        agent: AgentRef,
        account: String,
        granted: bool,
        now: Instant,
    ) -> Vec<Effect> {
        if self.admits(&agent.id) || self.shut_out.contains(&agent.id) {
            return Vec::new();
        }
        let account: String = account.chars().take(64).collect();
        self.accounts.insert(agent.id.clone(), account.clone());
        if granted {
            if self.let_in_from_stream && !self.let_in.contains(&account) {
                // The stream says the user stopped this account (or never let it in): its node
                // has not read that yet, and closes it once it does.
                return Vec::new();
            }
            // Restored quietly: the grant and its record are the holding node's that gave it.
            self.let_in.insert(account);
            self.grants.push(view_grant(agent));
            return vec![Effect::Tracker(self.grants_message())];
        }
        let asked = self
            .pending
            .values()
            .any(|p| p.kind == GrantKind::View && p.agent.id == agent.id);
        if asked {
            return Vec::new();
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        if self.let_in.contains(&account) {
            // This agent was let in earlier in the session: its new visit is granted at once,
            // on the record.
            self.grants.push(view_grant(agent.clone()));
            let mut effects = vec![
                record(
                    &agent,
                    AgentAction::Granted {
                        kind: GrantKind::View,
                        request_id,
                        video: false,
                        account: Some(account),
                    },
                ),
                Effect::Tracker(self.grants_message()),
            ];
            effects.push(Effect::Tracker(ServerMessage::Resync));
            return effects;
        }
        // Each connection is a new agent id, so prompts are spaced by account: an agent that
        // reconnects in a loop cannot flash prompts (and an Accept button) at the user. Its node
        // asks again with the next heartbeat. A second connection while the first one's prompt
        // is open (a console tab and an SSE client) is asked at once; one Accept lets in both.
        let key = (account.clone(), GrantKind::View);
        let open = self
            .pending
            .values()
            .any(|p| p.kind == GrantKind::View && p.account.as_ref() == Some(&account));
        if !open && self.too_soon(&key, now) {
            return self.refuse(agent, "request", TOO_SOON, now);
        }
        self.prompted(key, now);
        self.pending.insert(
            request_id.clone(),
            Pending {
                agent: agent.clone(),
                kind: GrantKind::View,
                video: false,
                account: Some(account),
                deadline: now + REQUEST_TIMEOUT,
            },
        );
        vec![
            record(
                &agent,
                AgentAction::Requested {
                    kind: GrantKind::View,
                    request_id: request_id.clone(),
                    video: false,
                },
            ),
            Effect::Tracker(ServerMessage::ConsentRequest {
                request_id,
                kind: GrantKind::View,
                agent,
                video: false,
            }),
        ]
    }

    /// The user let `account` in: its other connections waiting (a second console tab, an SSE
    /// client) are let in with it, the page takes a fresh snapshot for them (they have seen
    /// nothing yet), and is told who sees it now.
    pub(super) fn view_granted(&mut self, account: String) -> Vec<Effect> {
        let also: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.kind == GrantKind::View && p.account.as_ref() == Some(&account))
            .map(|(id, _)| id.clone())
            .collect();
        let mut effects = Vec::new();
        for request_id in also {
            let Some(pending) = self.pending.remove(&request_id) else {
                continue;
            };
            self.grants.push(view_grant(pending.agent.clone()));
            effects.push(record(
                &pending.agent,
                AgentAction::Granted {
                    kind: GrantKind::View,
                    request_id: request_id.clone(),
                    video: false,
                    account: Some(account.clone()),
                },
            ));
            effects.push(Effect::Tracker(ServerMessage::ConsentCancel { request_id }));
        }
        if !effects.is_empty() {
            effects.push(Effect::Tracker(self.grants_message()));
        }
        self.let_in.insert(account);
        effects.extend([
            Effect::Tracker(ServerMessage::Resync),
            Effect::Tracker(self.watching_message()),
        ]);
        effects
    }

    /// The user stopped an agent watching (its `view` grant is taken and its `revoked` recorded):
    /// the grant let in its account, so the account's other connections (a second console tab,
    /// an SSE client) are stopped with it, each with its own `revoked`. Every one of them ends
    /// whatever else it held, and the account is asked again next time, after a backoff.
    pub(super) fn view_revoked(&mut self, agent: &AgentRef) -> Vec<Effect> {
        let mut effects = self.stop_connection(agent);
        if let Some(account) = self.accounts.get(&agent.id).cloned() {
            self.said_no(&(account.clone(), GrantKind::View));
            self.let_in.remove(&account);
            let others: Vec<AgentRef> = self
                .grants
                .iter()
                .filter(|g| {
                    g.kind == GrantKind::View && self.accounts.get(&g.agent.id) == Some(&account)
                })
                .map(|g| g.agent.clone())
                .collect();
            for other in others {
                self.take_grant(GrantKind::View, &other.id);
                effects.push(record(
                    &other,
                    AgentAction::Revoked {
                        kind: GrantKind::View,
                    },
                ));
                effects.extend(self.stop_connection(&other));
            }
        }
        effects.push(Effect::Tracker(self.watching_message()));
        effects
    }

    /// One connection of a stopped agent: whatever else it held ends with it (it may not act on
    /// a page it may not see), it leaves the call and the page's canvases, and it stays out
    /// whatever its node says until it reads the `revoked`.
    fn stop_connection(&mut self, agent: &AgentRef) -> Vec<Effect> {
        self.shut_out.insert(agent.id.clone());
        let mut effects = self.withdraw(&agent.id, None);
        let (ended, kept): (Vec<Grant>, Vec<Grant>) = std::mem::take(&mut self.grants)
            .into_iter()
            .partition(|g| g.agent.id == agent.id);
        self.grants = kept;
        effects.extend(ended.into_iter().map(|g| {
            record(
                &g.agent,
                AgentAction::Ended {
                    kind: g.kind,
                    reason: "view_revoked".into(),
                },
            )
        }));
        effects.push(Effect::LeaveCall {
            agent_id: agent.id.clone(),
        });
        effects
    }
}

/// What an agent sends that needs the user to have let it in, where the session asks: by the
/// name its drop is recorded under. Leaving the call or the canvases, heartbeats and releases
/// need nothing.
pub fn needs_view(signal: &Signal) -> Option<&'static str> {
    match signal {
        Signal::Request { .. } => Some("request"),
        Signal::Control { .. } => Some("control"),
        Signal::Stroke { .. } => Some("stroke"),
        Signal::CallJoin { .. } => Some("call"),
        Signal::Canvas { on: true } => Some("canvas"),
        _ => None,
    }
}

fn view_grant(agent: AgentRef) -> Grant {
    Grant {
        kind: GrantKind::View,
        agent,
        video: false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::protocol::DeclineReason;
    use crate::session::consent::requests::{DECLINE_BACKOFF, MAX_BACKOFF};
    use crate::session::consent::tests::{click, prompt_id, request, stroke};
    use crate::session::consent::{NO_GRANT, REQUEST_INTERVAL};

    fn agent(id: &str, name: &str) -> AgentRef {
        AgentRef {
            id: id.to_string(),
            name: name.to_string(),
        }
    }

    fn asking() -> Consent {
        let mut consent = Consent::default();
        consent.set_view(ViewMode::Ask);
        consent
    }

    fn view(account: &str) -> Signal {
        Signal::View {
            account: account.to_string(),
            granted: false,
        }
    }

    fn prompt(effects: &[Effect]) -> Option<String> {
        effects.iter().find_map(|e| match e {
            Effect::Tracker(ServerMessage::ConsentRequest {
                request_id,
                kind: GrantKind::View,
                ..
            }) => Some(request_id.clone()),
            _ => None,
        })
    }

    fn actions(effects: &[Effect]) -> Vec<&AgentAction> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Record(r) => Some(&r.action),
                _ => None,
            })
            .collect()
    }

    fn names(message: &ServerMessage) -> Vec<String> {
        match message {
            ServerMessage::Watching { watchers, .. } => {
                watchers.iter().map(|w| w.name.clone()).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn in_ask_an_agent_is_prompted_for_and_seen_by_the_page_only_once_let_in() {
        let mut consent = asking();
        let now = Instant::now();
        let alice = agent("c1", "Alice");
        let joined = consent.on_signal(alice.clone(), Signal::Joined, true, now);
        assert!(
            !joined.contains(&Effect::Tracker(ServerMessage::Resync)),
            "no snapshot for an agent the user has not let in"
        );
        let asked = consent.on_signal(alice.clone(), view("acct-a"), true, now);
        let id = prompt(&asked).expect("the user is asked");
        assert!(matches!(
            actions(&asked)[..],
            [AgentAction::Requested {
                kind: GrantKind::View,
                ..
            }]
        ));
        assert!(names(&consent.watching_message()).is_empty());
        assert!(
            prompt(&consent.on_signal(alice.clone(), view("acct-a"), true, now)).is_none(),
            "a heartbeat's repeat asks nothing more"
        );
        let answered = consent.on_answer(&id, true, None);
        assert!(matches!(
            actions(&answered)[..],
            [AgentAction::Granted { kind: GrantKind::View, account: Some(a), .. }] if a == "acct-a"
        ));
        assert!(answered.contains(&Effect::Tracker(ServerMessage::Resync)));
        assert!(consent.allows("c1", GrantKind::View));
        assert_eq!(names(&consent.watching_message()), vec!["Alice"]);
    }

    #[test]
    fn a_second_visit_of_an_agent_let_in_is_not_asked_but_another_agent_is() {
        let mut consent = asking();
        let now = Instant::now();
        let first = consent.on_signal(agent("c1", "Alice"), view("acct-a"), true, now);
        consent.on_answer(&prompt(&first).unwrap(), true, None);
        consent.on_signal(agent("c1", "Alice"), Signal::Left, true, now);
        let again = consent.on_signal(agent("c2", "Alice"), view("acct-a"), true, now);
        assert!(prompt(&again).is_none());
        assert!(matches!(
            actions(&again)[..],
            [AgentAction::Granted {
                kind: GrantKind::View,
                ..
            }]
        ));
        assert!(consent.allows("c2", GrantKind::View));
        let bob = consent.on_signal(agent("c3", "Bob"), view("acct-b"), true, now);
        assert!(prompt(&bob).is_some(), "another agent is asked");
        assert!(!consent.allows("c3", GrantKind::View));
    }

    #[test]
    fn accepting_one_connection_of_an_agent_lets_in_its_others_waiting() {
        let mut consent = asking();
        let now = Instant::now();
        let first = consent.on_signal(agent("c1", "Alice"), view("acct-a"), true, now);
        let second = consent.on_signal(agent("c2", "Alice"), view("acct-a"), true, now);
        let other = consent.on_signal(agent("c3", "Bob"), view("acct-b"), true, now);
        let answered = consent.on_answer(&prompt(&first).unwrap(), true, None);
        let granted = actions(&answered)
            .iter()
            .filter(|a| matches!(a, AgentAction::Granted { .. }))
            .count();
        assert_eq!(granted, 2);
        assert!(
            answered.contains(&Effect::Tracker(ServerMessage::ConsentCancel {
                request_id: prompt(&second).unwrap()
            }))
        );
        assert!(consent.allows("c2", GrantKind::View));
        assert!(!consent.allows("c3", GrantKind::View));
        assert!(prompt(&other).is_some());
    }

    #[test]
    fn an_agent_reconnecting_in_a_loop_cannot_flash_prompts() {
        let mut consent = asking();
        let now = Instant::now();
        let first = consent.on_signal(agent("c1", "Mallory"), view("acct-m"), true, now);
        assert!(prompt(&first).is_some());
        consent.on_signal(agent("c1", "Mallory"), Signal::Left, true, now);
        let again = consent.on_signal(agent("c2", "Mallory"), view("acct-m"), true, now);
        assert!(prompt(&again).is_none());
        assert!(matches!(
            actions(&again)[..],
            [AgentAction::Dropped { reason, .. }] if reason == TOO_SOON
        ));
        let later = now + REQUEST_INTERVAL;
        let heartbeat = consent.on_signal(agent("c2", "Mallory"), view("acct-m"), true, later);
        assert!(prompt(&heartbeat).is_some(), "asked with a later heartbeat");
    }

    #[test]
    fn a_decline_or_no_answer_lets_nobody_in_and_a_revoke_asks_again_next_time() {
        let mut consent = asking();
        let now = Instant::now();
        let asked = consent.on_signal(agent("c1", "Alice"), view("acct-a"), true, now);
        let declined = consent.on_answer(&prompt(&asked).unwrap(), false, None);
        assert!(matches!(
            actions(&declined)[..],
            [AgentAction::Declined {
                kind: GrantKind::View,
                reason: DeclineReason::Declined,
                ..
            }]
        ));
        assert!(!consent.allows("c1", GrantKind::View));
        consent.on_signal(agent("c2", "Bob"), view("acct-b"), true, now);
        let timed_out = consent.sweep(now + REQUEST_TIMEOUT);
        assert!(matches!(
            actions(&timed_out)[..],
            [AgentAction::Declined {
                reason: DeclineReason::Timeout,
                ..
            }]
        ));
        let later = now + REQUEST_TIMEOUT;
        let third = consent.on_signal(agent("c3", "Carol"), view("acct-c"), true, later);
        consent.on_answer(&prompt(&third).unwrap(), true, None);
        let revoked = consent.on_revoke(GrantKind::View, "c3");
        assert!(matches!(
            actions(&revoked)[..],
            [AgentAction::Revoked {
                kind: GrantKind::View
            }]
        ));
        assert!(names(&consent.watching_message()).is_empty());
        let soon = later + REQUEST_INTERVAL;
        let early = consent.on_signal(agent("c4", "Carol"), view("acct-c"), true, soon);
        assert!(
            prompt(&early).is_none(),
            "a stop counts as a no: the next prompt waits"
        );
        let after = later + DECLINE_BACKOFF;
        let back = consent.on_signal(agent("c4", "Carol"), view("acct-c"), true, after);
        assert!(prompt(&back).is_some(), "asked again after a revoke");
    }

    #[test]
    fn a_node_that_took_the_session_over_restores_a_grant_without_a_prompt() {
        let mut consent = asking();
        let now = Instant::now();
        consent.end_all("moved");
        assert_eq!(consent.view(), ViewMode::Ask, "the mode outlives a move");
        let restored = consent.on_signal(
            agent("c1", "Alice"),
            Signal::View {
                account: "acct-a".into(),
                granted: true,
            },
            true,
            now,
        );
        assert!(prompt(&restored).is_none());
        assert!(actions(&restored).is_empty());
        assert!(consent.allows("c1", GrantKind::View));
    }

    #[test]
    fn notify_names_every_watcher_and_asks_nothing() {
        let mut consent = Consent::default();
        let now = Instant::now();
        let joined = consent.on_signal(agent("c1", "Alice"), Signal::Joined, true, now);
        assert!(joined.contains(&Effect::Tracker(ServerMessage::Resync)));
        assert_eq!(
            joined.first(),
            Some(&Effect::Tracker(ServerMessage::Watching {
                agents: 1,
                watchers: vec![Watcher {
                    name: "Alice".into()
                }]
            })),
            "the page is told who watches first"
        );
        assert!(
            consent
                .on_signal(agent("c1", "Alice"), view("acct-a"), true, now)
                .is_empty()
        );
        let left = consent.on_signal(agent("c1", "Alice"), Signal::Left, true, now);
        assert!(left.contains(&Effect::Tracker(ServerMessage::Watching {
            agents: 0,
            watchers: vec![]
        })));
    }

    /// An agent the user let in, in `ask`.
    fn let_in(consent: &mut Consent, who: &AgentRef, account: &str, now: Instant) {
        let asked = consent.on_signal(who.clone(), view(account), true, now);
        consent.on_answer(&prompt(&asked).expect("a prompt"), true, None);
        assert!(consent.admits(&who.id));
    }

    fn dropped_no_grant(effects: &[Effect]) -> Option<String> {
        match actions(effects)[..] {
            [AgentAction::Dropped { what, reason, .. }] if reason == NO_GRANT => Some(what.clone()),
            _ => None,
        }
    }

    #[test]
    fn an_agent_not_let_in_cannot_call_take_canvases_ask_control_or_draw() {
        let mut consent = asking();
        let now = Instant::now();
        let mallory = agent("c1", "Mallory");
        consent.on_signal(mallory.clone(), Signal::Joined, true, now);
        consent.on_signal(mallory.clone(), view("acct-m"), true, now);
        assert!(!consent.admits("c1"));
        let tries = [
            (request(GrantKind::Control), "request"),
            (
                Signal::CallJoin {
                    audio: true,
                    video: false,
                },
                "call",
            ),
            (Signal::Canvas { on: true }, "canvas"),
            (stroke(), "stroke"),
            (click(), "control"),
        ];
        for (signal, what) in tries {
            let effects = consent.on_signal(mallory.clone(), signal, true, now);
            assert_eq!(
                dropped_no_grant(&effects).as_deref(),
                Some(what),
                "{effects:?}"
            );
            assert!(
                !effects.iter().any(|e| matches!(
                    e,
                    Effect::Tracker(
                        ServerMessage::ConsentRequest { .. }
                            | ServerMessage::Control { .. }
                            | ServerMessage::Stroke { .. }
                    )
                )),
                "nothing reaches the page: {effects:?}"
            );
        }
        // Stopping what it never got needs nothing.
        assert!(
            dropped_no_grant(&consent.on_signal(mallory, Signal::Canvas { on: false }, true, now))
                .is_none()
        );
        // Once let in, it may ask like anyone.
        let mut consent = asking();
        let alice = agent("c2", "Alice");
        let_in(&mut consent, &alice, "acct-a", now);
        let asked = consent.on_signal(alice, request(GrantKind::Control), true, now);
        assert!(asked.iter().any(|e| matches!(
            e,
            Effect::Tracker(ServerMessage::ConsentRequest {
                kind: GrantKind::Control,
                ..
            })
        )));
        // Without `ask`, nobody needs to be let in.
        assert!(Consent::default().admits("anyone"));
    }

    #[test]
    fn stopping_an_agent_watching_ends_its_other_grants_and_takes_it_out_of_the_call() {
        let mut consent = asking();
        let now = Instant::now();
        let alice = agent("c1", "Alice");
        let_in(&mut consent, &alice, "acct-a", now);
        for kind in [GrantKind::Control, GrantKind::Call] {
            let asked = consent.on_signal(alice.clone(), request(kind), true, now);
            consent.on_answer(&prompt_id(&asked), true, None);
        }
        let revoked = consent.on_revoke(GrantKind::View, "c1");
        let ended: Vec<GrantKind> = actions(&revoked)
            .iter()
            .filter_map(|a| match a {
                AgentAction::Ended { kind, reason } if reason == "view_revoked" => Some(*kind),
                _ => None,
            })
            .collect();
        assert_eq!(ended, vec![GrantKind::Control, GrantKind::Call]);
        assert!(revoked.contains(&Effect::LeaveCall {
            agent_id: "c1".into()
        }));
        assert!(revoked.contains(&Effect::Tracker(ServerMessage::Grants { grants: vec![] })));
        assert!(!consent.allows("c1", GrantKind::Control));
        assert!(dropped_no_grant(&consent.on_signal(alice, click(), true, now)).is_some());
    }

    #[test]
    fn a_stop_stops_every_connection_of_the_account_and_no_other() {
        let mut consent = asking();
        let now = Instant::now();
        let alice = agent("c1", "Alice");
        let_in(&mut consent, &alice, "acct-a", now);
        // Her second console tab is let in at once (the user let in her account).
        let second = consent.on_signal(agent("c2", "Alice"), view("acct-a"), true, now);
        assert!(prompt(&second).is_none());
        assert!(consent.admits("c2"));
        let bob = agent("c3", "Bob");
        let_in(&mut consent, &bob, "acct-b", now);

        let stopped = consent.on_revoke(GrantKind::View, "c2");
        let revoked: Vec<&str> = stopped
            .iter()
            .filter_map(|e| match e {
                Effect::Record(r) if matches!(r.action, AgentAction::Revoked { .. }) => {
                    Some(r.agent.id.as_str())
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            revoked,
            ["c2", "c1"],
            "each connection reads its own revoke"
        );
        for id in ["c1", "c2"] {
            assert!(!consent.admits(id), "{id} stopped");
            assert!(stopped.contains(&Effect::LeaveCall {
                agent_id: id.into()
            }));
        }
        assert!(consent.admits("c3"), "another account keeps its grant");
        assert_eq!(names(&consent.watching_message()), ["Bob"]);
    }

    #[test]
    fn a_heartbeat_saying_granted_does_not_undo_a_stop_or_a_decline() {
        let mut consent = asking();
        let now = Instant::now();
        let alice = agent("c1", "Alice");
        let_in(&mut consent, &alice, "acct-a", now);
        consent.on_revoke(GrantKind::View, "c1");
        let restored = Signal::View {
            account: "acct-a".into(),
            granted: true,
        };
        // Its node has not read the `revoked` yet, and its heartbeat still says granted.
        let heartbeat = consent.on_signal(alice.clone(), restored.clone(), true, now);
        assert!(heartbeat.is_empty(), "{heartbeat:?}");
        assert!(!consent.admits("c1"));
        assert!(names(&consent.watching_message()).is_empty());
        // Nor does it prompt again for that connection.
        let later = now + MAX_BACKOFF;
        assert!(
            consent
                .on_signal(alice, view("acct-a"), true, later)
                .is_empty()
        );

        let bob = agent("c2", "Bob");
        let asked = consent.on_signal(bob.clone(), view("acct-b"), true, now);
        consent.on_answer(&prompt(&asked).unwrap(), false, None);
        assert!(consent.on_signal(bob, restored, true, now).is_empty());
        assert!(!consent.admits("c2"));
    }

    #[test]
    fn a_stop_that_cannot_be_written_applies_at_once_and_is_recorded_once_it_can_be() {
        let mut consent = asking();
        let now = Instant::now();
        let alice = agent("c1", "Alice");
        let_in(&mut consent, &alice, "acct-a", now);
        let stopped = consent.on_unrecordable_revoke(GrantKind::View, "c1");
        assert!(actions(&stopped).is_empty(), "nothing written now");
        assert!(stopped.contains(&Effect::Tracker(ServerMessage::Grants { grants: vec![] })));
        assert!(!consent.admits("c1"), "the Stop applies at once");
        consent.sweep_unrecordable(now);
        let owed = consent.take_owed();
        assert!(matches!(
            actions(&owed)[..],
            [AgentAction::Revoked {
                kind: GrantKind::View
            }]
        ));
        assert!(consent.take_owed().is_empty(), "written once");
        // Nor are they forgotten when this node stops holding the session.
        let_in(&mut consent, &agent("c2", "Bob"), "acct-b", now);
        consent.on_unrecordable_revoke(GrantKind::View, "c2");
        assert!(matches!(
            actions(&consent.end_all("moved"))[..],
            [AgentAction::Revoked { .. }, ..]
        ));
    }

    #[test]
    fn after_each_no_the_next_prompt_waits_longer() {
        let mut consent = asking();
        let start = Instant::now();
        let mut now = start;
        let mut waits = Vec::new();
        for visit in 0..9 {
            let who = agent(&format!("c{visit}"), "Mallory");
            // Its node asks with every heartbeat (15 s): count how long until the user is asked.
            let mut asked_at = now;
            let id = loop {
                if let Some(id) =
                    prompt(&consent.on_signal(who.clone(), view("acct-m"), true, asked_at))
                {
                    break id;
                }
                asked_at += Duration::from_secs(1);
            };
            waits.push(asked_at.duration_since(now).as_secs());
            consent.on_answer(&id, false, None);
            consent.on_signal(who, Signal::Left, true, asked_at);
            now = asked_at;
        }
        assert_eq!(waits, vec![0, 10, 20, 40, 80, 160, 300, 300, 300]);
        // Quiet for long enough, it is forgotten.
        consent.sweep(now + MAX_BACKOFF);
        assert!(consent.asked.is_empty());
    }

    #[test]
    fn an_account_is_a_stable_digest_that_does_not_spell_the_name() {
        assert_eq!(account("alice@example.com"), account("alice@example.com"));
        assert_ne!(account("alice@example.com"), account("bob@example.com"));
        assert!(!account("alice@example.com").contains("alice"));
        assert_eq!(account("x").len(), 32);
    }
}
