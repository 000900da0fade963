//! The help codes every node knows, folded from `cluster/codes` in the stream's order, and the
//! decisions made from them: which code to give, whether an agent is locked out, what a typed code
//! resolves to. Pure code: records, sequence numbers and time come in as arguments, so every node
//! folding the same records decides the same, and a test can jump ten minutes in one line.

use std::collections::{HashMap, VecDeque};

use crate::protocol::codes::{CODE_SPACE, CodeRecord};
use crate::protocol::{AgentRef, SessionId};

/// The scope entry of an agent that sees every project: such agents share one count.
pub const ALL_PROJECTS: &str = "*";

/// How many wrong codes lock who out, and for how long (docs/security.md has the arithmetic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimits {
    /// Wrong codes one agent may type within `window_ms`.
    pub per_agent: u32,
    /// Wrong codes all agents of one project (or all agents that see every project) may type
    /// within `window_ms`: what bounds a guesser holding many agent accounts.
    pub per_project: u32,
    pub window_ms: u64,
}

impl Default for FailureLimits {
    fn default() -> Self {
        Self {
            per_agent: 5,
            per_project: 30,
            window_ms: 10 * 60_000,
        }
    }
}

/// One issue of a code.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Issue {
    session: SessionId,
    tab: String,
    project: String,
    expires_ms: u64,
    /// Where its `issued` record landed: the issuing node checks it won with this.
    issued_seq: u64,
    /// Where the `used` record that spent it landed.
    used_seq: Option<u64>,
}

impl Issue {
    fn live_at(&self, at_ms: u64) -> bool {
        self.used_seq.is_none() && at_ms < self.expires_ms
    }
}

/// Who is locked out, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub retry_after_ms: u64,
    /// The project's count (rather than the agent's own) is what locked it.
    pub by_project: bool,
}

/// What a typed code is to an agent whose projects are `scope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Live {
        session: SessionId,
        tab: String,
    },
    Expired,
    Used,
    /// No code, or one of a project the agent does not see: the same answer for both.
    Unknown,
}

/// A `used` record that took effect: the node holding the session records it in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeUse {
    pub session: SessionId,
    pub tab: String,
    pub agent: AgentRef,
}

/// Everything `cluster/codes` says, as of the records folded so far.
#[derive(Debug, Default)]
pub struct CodeBook {
    codes: HashMap<u32, Issue>,
    /// The code each session's tab holds (live or not: check the issue).
    by_tab: HashMap<(SessionId, String), u32>,
    /// When each agent (`agent:NAME`) and project (`project:KEY`) typed a wrong code, oldest
    /// first, within the window.
    failures: HashMap<String, VecDeque<u64>>,
    limits: FailureLimits,
}

fn agent_key(agent: &str) -> String {
    format!("agent:{agent}")
}

fn project_key(project: &str) -> String {
    format!("project:{project}")
}

/// Whether `scope` (project keys, or [`ALL_PROJECTS`]) covers `project`.
pub fn scope_allows(scope: &[String], project: &str) -> bool {
    scope.iter().any(|k| k == ALL_PROJECTS || k == project)
}

/// How long until fewer than `limit` of `times` (ascending) fall within `window_ms` before
/// `now_ms`; `None` while fewer already do.
pub fn retry_after(times: &VecDeque<u64>, limit: u32, window_ms: u64, now_ms: u64) -> Option<u64> {
    let recent: Vec<u64> = times
        .iter()
        .copied()
        .filter(|t| t.saturating_add(window_ms) > now_ms)
        .collect();
    let limit = limit.max(1) as usize;
    if recent.len() < limit {
        return None;
    }
    // Once the failure `len - limit` from the oldest leaves the window, `limit - 1` remain.
    Some(recent[recent.len() - limit] + window_ms - now_ms)
}

/// The lock-outs this node has written to the audit stream: only the first refusal of each
/// agent's lock-out is audited. Wrong codes are bounded by the lock-out itself, but refusals of a
/// locked-out agent are not, and each would be a record kept for a year. Node-local (each node
/// audits the first refusal it gives); an entry lasts as long as its lock-out.
#[derive(Debug, Default)]
pub struct LockoutNotes {
    until: HashMap<String, u64>,
}

impl LockoutNotes {
    /// Whether refusing `agent`, locked out until `until_ms`, at `now_ms` is the first refusal of
    /// that lock-out on this node; if so, it is noted.
    pub fn first(&mut self, agent: &str, until_ms: u64, now_ms: u64) -> bool {
        self.until.retain(|_, until| *until > now_ms);
        if self.until.contains_key(agent) {
            return false;
        }
        self.until.insert(agent.to_string(), until_ms);
        true
    }
}

/// The first of `draws` (reduced to six digits) no live code holds at `now_ms`; `None` if every
/// draw is taken (the caller retries later).
pub fn choose_code(
    book: &CodeBook,
    draws: impl IntoIterator<Item = u32>,
    now_ms: u64,
) -> Option<u32> {
    draws
        .into_iter()
        .map(|d| d % CODE_SPACE)
        .find(|code| !book.codes.get(code).is_some_and(|i| i.live_at(now_ms)))
}

impl CodeBook {
    pub fn new(limits: FailureLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    pub fn limits(&self) -> FailureLimits {
        self.limits
    }

    /// Folds the record stored at `seq`; a `used` that took effect is returned.
    pub fn apply(&mut self, seq: u64, record: &CodeRecord) -> Option<CodeUse> {
        match record {
            CodeRecord::Issued {
                code,
                session,
                tab,
                project,
                at_ms,
                expires_ms,
            } => {
                if self.codes.get(code).is_some_and(|i| i.live_at(*at_ms)) {
                    return None;
                }
                self.codes.insert(
                    *code,
                    Issue {
                        session: *session,
                        tab: tab.clone(),
                        project: project.clone(),
                        expires_ms: *expires_ms,
                        issued_seq: seq,
                        used_seq: None,
                    },
                );
                self.by_tab.insert((*session, tab.clone()), *code);
                None
            }
            CodeRecord::Used {
                code,
                session,
                tab,
                agent,
                at_ms,
                ..
            } => {
                let issue = self.codes.get_mut(code)?;
                if issue.session != *session || issue.tab != *tab || !issue.live_at(*at_ms) {
                    return None;
                }
                issue.used_seq = Some(seq);
                Some(CodeUse {
                    session: *session,
                    tab: tab.clone(),
                    agent: agent.clone(),
                })
            }
            CodeRecord::Failed {
                agent,
                scope,
                at_ms,
            } => {
                let keys =
                    std::iter::once(agent_key(agent)).chain(scope.iter().map(|p| project_key(p)));
                let window_ms = self.limits.window_ms;
                let cap = self.limits.per_agent.max(self.limits.per_project) as usize * 2;
                for key in keys {
                    let times = self.failures.entry(key).or_default();
                    times.push_back(*at_ms);
                    while times.front().is_some_and(|t| t + window_ms <= *at_ms)
                        || times.len() > cap
                    {
                        times.pop_front();
                    }
                }
                None
            }
        }
    }

    /// Whether the agent `agent` with projects `scope` may try a code at `now_ms`: the agent's
    /// own count first, then each of its projects'.
    pub fn check(&self, agent: &str, scope: &[String], now_ms: u64) -> Result<(), Locked> {
        let FailureLimits {
            per_agent,
            per_project,
            window_ms,
        } = self.limits;
        let over = |key: String, limit: u32| {
            self.failures
                .get(&key)
                .and_then(|times| retry_after(times, limit, window_ms, now_ms))
        };
        if let Some(retry_after_ms) = over(agent_key(agent), per_agent) {
            return Err(Locked {
                retry_after_ms,
                by_project: false,
            });
        }
        match scope
            .iter()
            .filter_map(|p| over(project_key(p), per_project))
            .max()
        {
            Some(retry_after_ms) => Err(Locked {
                retry_after_ms,
                by_project: true,
            }),
            None => Ok(()),
        }
    }

    /// What `code` is to an agent with projects `scope` at `now_ms`.
    pub fn lookup(&self, code: u32, scope: &[String], now_ms: u64) -> Lookup {
        match self.codes.get(&code) {
            Some(issue) if scope_allows(scope, &issue.project) => {
                if issue.used_seq.is_some() {
                    Lookup::Used
                } else if now_ms >= issue.expires_ms {
                    Lookup::Expired
                } else {
                    Lookup::Live {
                        session: issue.session,
                        tab: issue.tab.clone(),
                    }
                }
            }
            _ => Lookup::Unknown,
        }
    }

    /// The live code of a session's tab, with its expiry, to give again rather than issue another.
    pub fn live_code(&self, session: SessionId, tab: &str, now_ms: u64) -> Option<(u32, u64)> {
        let code = *self.by_tab.get(&(session, tab.to_string()))?;
        let issue = self.codes.get(&code)?;
        (issue.session == session && issue.tab == tab && issue.live_at(now_ms))
            .then_some((code, issue.expires_ms))
    }

    /// Whether the `issued` record stored at `seq` is the one that holds `code`.
    pub fn issued_at(&self, code: u32, seq: u64) -> bool {
        self.codes.get(&code).is_some_and(|i| i.issued_seq == seq)
    }

    /// Whether the `used` record stored at `seq` is the one that spent `code`.
    pub fn used_at(&self, code: u32, seq: u64) -> bool {
        self.codes
            .get(&code)
            .is_some_and(|i| i.used_seq == Some(seq))
    }

    /// Forgets codes expired a window ago and failures out of the window, so memory follows what
    /// is current. A window's grace keeps every node's answer the same for late records.
    pub fn prune(&mut self, now_ms: u64) {
        let keep_after = now_ms.saturating_sub(self.limits.window_ms);
        self.codes.retain(|_, issue| issue.expires_ms > keep_after);
        let codes = &self.codes;
        self.by_tab.retain(|_, code| codes.contains_key(code));
        self.failures.retain(|_, times| {
            times.retain(|t| *t > keep_after);
            !times.is_empty()
        });
    }

    /// Codes and failure counts held, for a test of [`CodeBook::prune`].
    pub fn sizes(&self) -> (usize, usize) {
        (self.codes.len(), self.failures.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    fn session(n: u8) -> SessionId {
        SessionId::from_uuid(uuid::Uuid::from_u128(u128::from(n)))
    }

    fn issued(code: u32, s: u8, tab: &str, project: &str, at_ms: u64) -> CodeRecord {
        CodeRecord::Issued {
            code,
            session: session(s),
            tab: tab.into(),
            project: project.into(),
            at_ms,
            expires_ms: at_ms + 10 * MIN,
        }
    }

    fn used(code: u32, s: u8, agent: &str, at_ms: u64) -> CodeRecord {
        CodeRecord::Used {
            code,
            session: session(s),
            tab: "t1".into(),
            agent: AgentRef {
                id: agent.into(),
                name: agent.into(),
            },
            node: "a".into(),
            at_ms,
        }
    }

    fn failed(agent: &str, scope: &[&str], at_ms: u64) -> CodeRecord {
        CodeRecord::Failed {
            agent: agent.into(),
            scope: scope.iter().map(|s| s.to_string()).collect(),
            at_ms,
        }
    }

    fn scope(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_live_code_resolves_within_its_project_until_it_expires() {
        let mut book = CodeBook::new(FailureLimits::default());
        book.apply(0, &issued(123_456, 1, "t1", "shop", 0));
        let live = Lookup::Live {
            session: session(1),
            tab: "t1".into(),
        };
        assert_eq!(book.lookup(123_456, &scope(&["shop"]), 5 * MIN), live);
        assert_eq!(book.lookup(123_456, &scope(&[ALL_PROJECTS]), 5 * MIN), live);
        assert_eq!(
            book.lookup(123_456, &scope(&["blog"]), 5 * MIN),
            Lookup::Unknown
        );
        assert_eq!(
            book.lookup(654_321, &scope(&["shop"]), 5 * MIN),
            Lookup::Unknown
        );
        assert_eq!(
            book.lookup(123_456, &scope(&["shop"]), 10 * MIN),
            Lookup::Expired
        );
        assert_eq!(
            book.lookup(123_456, &scope(&["blog"]), 10 * MIN),
            Lookup::Unknown
        );
    }

    #[test]
    fn the_first_issue_of_a_live_code_wins_and_an_expired_one_is_reissued() {
        let mut book = CodeBook::new(FailureLimits::default());
        book.apply(0, &issued(42, 1, "t1", "shop", 0));
        book.apply(1, &issued(42, 2, "t1", "shop", MIN));
        assert!(book.issued_at(42, 0));
        assert!(!book.issued_at(42, 1));
        assert_eq!(book.live_code(session(2), "t1", MIN), None);
        assert_eq!(book.live_code(session(1), "t1", MIN), Some((42, 10 * MIN)));
        book.apply(2, &issued(42, 2, "t1", "shop", 10 * MIN));
        assert!(book.issued_at(42, 2));
        assert_eq!(book.live_code(session(1), "t1", 10 * MIN), None);
    }

    #[test]
    fn a_code_is_spent_by_its_first_use_only() {
        let mut book = CodeBook::new(FailureLimits::default());
        book.apply(0, &issued(7, 1, "t1", "shop", 0));
        let first = book.apply(1, &used(7, 1, "ann", MIN));
        assert_eq!(first.map(|u| u.agent.name), Some("ann".to_string()));
        assert_eq!(book.apply(2, &used(7, 1, "bob", MIN)), None);
        assert!(book.used_at(7, 1));
        assert!(!book.used_at(7, 2));
        assert_eq!(book.lookup(7, &scope(&["shop"]), MIN), Lookup::Used);
        assert_eq!(book.live_code(session(1), "t1", MIN), None);
    }

    #[test]
    fn a_use_after_expiry_or_for_another_session_takes_no_effect() {
        let mut book = CodeBook::new(FailureLimits::default());
        book.apply(0, &issued(7, 1, "t1", "shop", 0));
        assert_eq!(book.apply(1, &used(7, 2, "ann", MIN)), None);
        assert_eq!(book.apply(2, &used(7, 1, "ann", 10 * MIN)), None);
        assert_eq!(book.apply(3, &used(8, 1, "ann", MIN)), None);
    }

    #[test]
    fn lock_out_starts_at_the_limit_and_ends_as_the_oldest_failure_leaves_the_window() {
        let times: VecDeque<u64> = [0, MIN, 2 * MIN, 3 * MIN, 4 * MIN].into();
        assert_eq!(retry_after(&times, 6, 10 * MIN, 4 * MIN), None);
        assert_eq!(retry_after(&times, 5, 10 * MIN, 4 * MIN), Some(6 * MIN));
        assert_eq!(retry_after(&times, 5, 10 * MIN, 10 * MIN - 1), Some(1));
        assert_eq!(retry_after(&times, 5, 10 * MIN, 10 * MIN), None);
        assert_eq!(retry_after(&times, 3, 10 * MIN, 10 * MIN), Some(2 * MIN));
    }

    #[test]
    fn an_agent_is_locked_out_after_its_fifth_wrong_code_and_others_are_not() {
        let mut book = CodeBook::new(FailureLimits::default());
        let shop = scope(&["shop"]);
        for i in 0..4 {
            book.apply(i, &failed("ann", &["shop"], i * 1000));
            assert_eq!(book.check("ann", &shop, i * 1000 + 1), Ok(()));
        }
        book.apply(4, &failed("ann", &["shop"], 4000));
        assert_eq!(
            book.check("ann", &shop, 5000),
            Err(Locked {
                retry_after_ms: 10 * MIN - 5000,
                by_project: false
            })
        );
        assert_eq!(book.check("bob", &shop, 5000), Ok(()));
        assert_eq!(book.check("ann", &shop, 10 * MIN), Ok(()));
    }

    #[test]
    fn many_agents_of_one_project_share_its_count() {
        let limits = FailureLimits {
            per_agent: 5,
            per_project: 3,
            window_ms: 10 * MIN,
        };
        let mut book = CodeBook::new(limits);
        for (i, agent) in ["ann", "bob", "cid"].iter().enumerate() {
            book.apply(i as u64, &failed(agent, &["shop"], 1000));
        }
        let locked = book.check("dan", &scope(&["shop"]), 2000);
        assert_eq!(
            locked,
            Err(Locked {
                retry_after_ms: 10 * MIN - 1000,
                by_project: true
            })
        );
        assert_eq!(book.check("dan", &scope(&["blog"]), 2000), Ok(()));
        assert!(book.check("dan", &scope(&["blog", "shop"]), 2000).is_err());
        // Agents that see every project share one count of their own.
        assert_eq!(book.check("eve", &scope(&[ALL_PROJECTS]), 2000), Ok(()));
    }

    #[test]
    fn only_the_first_refusal_of_a_lock_out_is_noted() {
        let mut notes = LockoutNotes::default();
        assert!(notes.first("ann", 10 * MIN, 0));
        assert!(!notes.first("ann", 10 * MIN, MIN));
        assert!(!notes.first("ann", 10 * MIN, 10 * MIN - 1));
        assert!(notes.first("bob", 10 * MIN, MIN));
        // The lock-out ended: the next one is noted again, and what ended is forgotten.
        assert!(notes.first("ann", 25 * MIN, 15 * MIN));
        assert_eq!(notes.until.len(), 1);
    }

    #[test]
    fn a_chosen_code_is_never_one_that_is_live() {
        let mut book = CodeBook::new(FailureLimits::default());
        book.apply(0, &issued(5, 1, "t1", "shop", 0));
        assert_eq!(choose_code(&book, [1_000_005, 17], MIN), Some(17));
        assert_eq!(choose_code(&book, [5], MIN), None);
        assert_eq!(choose_code(&book, [5], 10 * MIN), Some(5));
        assert_eq!(choose_code(&book, [2_999_999], MIN), Some(999_999));
    }

    #[test]
    fn pruning_forgets_what_is_a_window_old() {
        let mut book = CodeBook::new(FailureLimits::default());
        book.apply(0, &issued(5, 1, "t1", "shop", 0));
        book.apply(1, &failed("ann", &["shop"], 0));
        book.prune(15 * MIN);
        assert_eq!(book.sizes(), (1, 0));
        book.prune(20 * MIN + 1);
        assert_eq!(book.sizes(), (0, 0));
        assert_eq!(book.live_code(session(1), "t1", 0), None);
    }
}
