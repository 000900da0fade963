//! The agent's node's half of `view: ask` (the holding node's is `session::consent::view`): an
//! agent that opens a live session in `ask` sees nothing of the page until the user let it in.
//!
//! Its subscription reads the session as usual, but the gate lets nothing through: it looks only
//! at the `agent` records about this agent's connection. When the holding node writes the
//! `granted` record (durable in the session's stream, so wherever the two nodes are), the gate
//! opens and the agent reads again from where it asked to start, with the fresh snapshot the page
//! took for it; a `declined` (or the prompt timing out) or a later `revoked` ends the connection
//! with [`close::NOT_ALLOWED`]. An ended session is not governed by `ask`: its replay is open, as
//! it was before the option existed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::agent::subscription::{Subscription, TailItem};
use crate::protocol::{
    AgentAction, AgentRecord, GrantKind, RecordKind, Signal, ViewConsentState, close,
};
use crate::store::feed::Feed;
use crate::store::frame::StoredEvent;
use crate::store::stream::SessionStream;

/// What the follow loop does with what its subscription yielded.
#[derive(Debug)]
pub enum Pass {
    /// Send it: the gate is open (or there is none).
    Send(TailItem),
    /// Nothing of it goes to the agent.
    Withhold,
    /// The user let the agent in: tell it, and read again from the start it asked for.
    Opened,
    /// The user declined or stopped it: tell the agent, and close.
    Refused(ViewConsentState),
}

/// One agent connection's gate. Without `ask` it is open from the start.
pub struct ViewGate {
    /// The connection's id, which the session's `agent` records name it by.
    agent_id: String,
    state: GateState,
    /// Where the agent asked to start, read again once the gate opens.
    reopen: Option<(SessionStream, Arc<Feed>, u64)>,
    /// The account the agent's node asks for, and whether it read the grant: sent with each
    /// heartbeat, so a holding node that missed the ask, or took the session over, hears it.
    ask: Option<Arc<ViewAsk>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GateState {
    Open,
    Waiting,
    Closed,
}

/// What the agent's node tells the holding node for a gated agent.
pub struct ViewAsk {
    account: String,
    granted: AtomicBool,
}

impl ViewAsk {
    pub fn signal(&self) -> Signal {
        Signal::View {
            account: self.account.clone(),
            granted: self.granted.load(Ordering::Relaxed),
        }
    }
}

impl ViewGate {
    pub fn open(agent_id: String) -> Self {
        Self {
            agent_id,
            state: GateState::Open,
            reopen: None,
            ask: None,
        }
    }

    /// A gate that waits for the user, for the agent signed in as `account`.
    pub fn waiting(
        agent_id: String,
        account: String,
        reopen: (SessionStream, Arc<Feed>, u64),
    ) -> Self {
        Self {
            agent_id,
            state: GateState::Waiting,
            reopen: Some(reopen),
            ask: Some(Arc::new(ViewAsk {
                account,
                granted: AtomicBool::new(false),
            })),
        }
    }

    /// What the agent's node sends the holding node with `joined` and each heartbeat.
    pub fn ask(&self) -> Option<Arc<ViewAsk>> {
        self.ask.clone()
    }

    /// Whether the agent waits for the user: the console is told so first.
    pub fn is_waiting(&self) -> bool {
        self.state == GateState::Waiting
    }

    /// Whether a call message for the agent (an offer, a candidate) may reach it: not while it
    /// waits for the user. Its holding node opens no call for it then; should one come anyway
    /// (a node that has not caught up), this node still keeps the page's media from it.
    pub fn passes_call(&self) -> bool {
        self.state == GateState::Open
    }

    /// Passes what the subscription yielded through the gate.
    pub fn pass(&mut self, item: TailItem) -> Pass {
        let answer = match &item {
            TailItem::Events(events) if self.ask.is_some() => self.answer(events),
            _ => None,
        };
        match (self.state, answer) {
            (GateState::Waiting, Some(ViewConsentState::Granted)) => {
                self.state = GateState::Open;
                if let Some(ask) = &self.ask {
                    ask.granted.store(true, Ordering::Relaxed);
                }
                Pass::Opened
            }
            (GateState::Waiting | GateState::Open, Some(refused))
                if refused != ViewConsentState::Granted =>
            {
                self.state = GateState::Closed;
                Pass::Refused(refused)
            }
            (GateState::Open, _) => Pass::Send(item),
            _ => Pass::Withhold,
        }
    }

    /// The subscription to follow once the gate opened: from where the agent asked to start.
    pub fn reopened(&mut self) -> Option<Subscription> {
        let (stream, feed, start) = self.reopen.take()?;
        Some(Subscription::new(stream, feed, start))
    }

    /// The user's last answer about this connection among `events`, if any.
    fn answer(&self, events: &[StoredEvent]) -> Option<ViewConsentState> {
        events
            .iter()
            .filter(|e| e.event.kind == RecordKind::Agent)
            .filter_map(|e| serde_json::from_slice::<AgentRecord>(&e.event.body).ok())
            .filter(|r| r.agent.id == self.agent_id)
            .filter_map(|r| match r.action {
                AgentAction::Granted {
                    kind: GrantKind::View,
                    ..
                } => Some(ViewConsentState::Granted),
                AgentAction::Declined {
                    kind: GrantKind::View,
                    ..
                } => Some(ViewConsentState::Declined),
                AgentAction::Revoked {
                    kind: GrantKind::View,
                } => Some(ViewConsentState::Revoked),
                _ => None,
            })
            .next_back()
    }
}

/// The close code and reason for an agent the user did not let in.
pub fn refusal(state: ViewConsentState) -> (u16, String) {
    let reason = match state {
        ViewConsentState::Revoked => "the user stopped you watching this session",
        _ => "the user did not let you watch this session (declined or no answer)",
    };
    (close::NOT_ALLOWED, reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AgentRef, DeclineReason};
    use crate::store::frame::Event;

    fn agent_event(agent_id: &str, action: AgentAction) -> StoredEvent {
        let record = AgentRecord {
            agent: AgentRef {
                id: agent_id.into(),
                name: "Alice".into(),
            },
            action,
        };
        StoredEvent {
            seq_num: 1,
            timestamp: 0,
            event: Event::server(RecordKind::Agent, &record),
        }
    }

    fn page_event() -> StoredEvent {
        StoredEvent {
            seq_num: 2,
            timestamp: 0,
            event: Event::server(RecordKind::Rrweb, &serde_json::json!({"type": 2})),
        }
    }

    fn granted(agent_id: &str) -> StoredEvent {
        agent_event(
            agent_id,
            AgentAction::Granted {
                kind: GrantKind::View,
                request_id: "r".into(),
                video: false,
                account: Some("a".into()),
            },
        )
    }

    /// A gate as `ask` makes it, with a reopen target that is never read in these tests.
    fn waiting() -> ViewGate {
        let mut gate = ViewGate::open("me".into());
        gate.state = GateState::Waiting;
        gate.ask = Some(Arc::new(ViewAsk {
            account: "a".into(),
            granted: AtomicBool::new(false),
        }));
        gate
    }

    #[test]
    fn nothing_passes_before_the_grant_for_this_connection_and_everything_after() {
        let mut gate = waiting();
        assert!(matches!(
            gate.pass(TailItem::Events(vec![page_event()])),
            Pass::Withhold
        ));
        assert!(!gate.passes_call(), "no call message while it waits");
        assert!(matches!(
            gate.pass(TailItem::CaughtUp { next_seq: 3 }),
            Pass::Withhold
        ));
        assert!(
            matches!(
                gate.pass(TailItem::Events(vec![
                    granted("someone-else"),
                    page_event()
                ])),
                Pass::Withhold
            ),
            "another agent's grant lets this one see nothing"
        );
        assert!(matches!(
            gate.ask().unwrap().signal(),
            Signal::View { granted: false, .. }
        ));
        assert!(matches!(
            gate.pass(TailItem::Events(vec![page_event(), granted("me")])),
            Pass::Opened
        ));
        assert!(matches!(
            gate.ask().unwrap().signal(),
            Signal::View { granted: true, .. }
        ));
        assert!(matches!(
            gate.pass(TailItem::Events(vec![page_event()])),
            Pass::Send(_)
        ));
        assert!(gate.passes_call());
    }

    #[test]
    fn a_decline_or_a_revoke_closes_the_gate_for_good() {
        let mut gate = waiting();
        let declined = agent_event(
            "me",
            AgentAction::Declined {
                kind: GrantKind::View,
                request_id: "r".into(),
                reason: DeclineReason::Timeout,
            },
        );
        assert!(matches!(
            gate.pass(TailItem::Events(vec![declined])),
            Pass::Refused(ViewConsentState::Declined)
        ));
        assert!(matches!(
            gate.pass(TailItem::Events(vec![granted("me"), page_event()])),
            Pass::Withhold
        ));

        let mut gate = waiting();
        gate.pass(TailItem::Events(vec![granted("me")]));
        let revoked = agent_event(
            "me",
            AgentAction::Revoked {
                kind: GrantKind::View,
            },
        );
        assert!(matches!(
            gate.pass(TailItem::Events(vec![page_event(), revoked])),
            Pass::Refused(ViewConsentState::Revoked)
        ));
        assert_eq!(refusal(ViewConsentState::Revoked).0, close::NOT_ALLOWED);
    }

    #[test]
    fn without_ask_everything_passes_and_grant_records_mean_nothing() {
        let mut gate = ViewGate::open("me".into());
        assert!(!gate.is_waiting());
        assert!(gate.ask().is_none());
        let revoked = agent_event(
            "me",
            AgentAction::Revoked {
                kind: GrantKind::View,
            },
        );
        assert!(matches!(
            gate.pass(TailItem::Events(vec![revoked, page_event()])),
            Pass::Send(_)
        ));
    }
}
