//! Help codes: the user asks for help, the page shows a 6-digit code valid for a few minutes, the
//! user reads it out, and an agent who types it lands in the user's session.
//!
//! Codes must resolve on any node, so every issue, use and wrong guess is a record of one
//! deployment-wide stream, `cluster/codes`, which every node folds into the same [`book`] (the
//! [`follower`]). The store's order settles every race: two nodes that issue the same code at
//! once both wait until their book holds their record, and the one whose record came second
//! picks another code; two agents racing for one code both append `used`, and only the first
//! counts. Before a node decides anything it waits until its book has folded the stream up to
//! its tail, so a wrong guess made on another node a moment ago already counts here.
//!
//! A million codes are guessable only slowly: each wrong code is counted against the agent and
//! against each project it sees, and a count at its limit refuses further tries, before any
//! lookup, until the window ends (docs/security.md). One node resolves one code at a time, so
//! parallel requests to one node cannot race past the count; a locked-out agent or a typo is
//! refused before that queue, and the queue and every store call in it are bounded in time, so
//! nobody can hold up the node's code lookups for long.

pub mod book;
mod follower;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::book::{
    ALL_PROJECTS, CodeBook, CodeUse, FailureLimits, LockoutNotes, Lookup, choose_code,
};
use self::follower::Folded;
use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::protocol::codes::{CodeRecord, CodeResolved, parse_code};
use crate::protocol::{AgentRef, SessionId};
use crate::seal::Seal;
use crate::store::{AppendCondition, AppendItem, BackendError, StreamSettings, Streams};

/// The deployment-wide stream of help codes.
pub const CODE_STREAM: &str = "cluster/codes";
/// The label of its records' signatures: valid in no other stream.
const LABEL: &[u8] = b"cobrowse/codes\0";
/// How long a code is valid unless configured otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);
/// How long `cluster/codes` keeps records: twice the longest a record still decides anything
/// (`--help-code-ttl` is at most an hour), fixed because retention is set when the stream is
/// created and a node started later may be configured otherwise.
const RETENTION: Duration = Duration::from_secs(2 * 3600);
/// The longest a node waits for its book to catch up with the stream before it answers 503.
const SYNC_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest one S2 call of the codes (a tail, an append) may take.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a resolve waits for the node's resolves before it, before it answers 503.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);
/// Codes a node draws before it gives up on finding a free one (a million codes, so only a store
/// that keeps refusing its issues gets here).
const ISSUE_ATTEMPTS: usize = 4;
/// Uses waiting for the node's rooms to record them.
const USE_BACKLOG: usize = 1024;

#[derive(Debug, Clone, Copy)]
pub struct CodeConfig {
    /// How long a code is valid (`--help-code-ttl`).
    pub ttl: Duration,
    pub limits: FailureLimits,
}

impl Default for CodeConfig {
    fn default() -> Self {
        Self {
            ttl: DEFAULT_TTL,
            limits: FailureLimits::default(),
        }
    }
}

/// A code given to a tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedCode {
    pub code: u32,
    pub expires_ms: u64,
}

/// Who is resolving a code.
#[derive(Debug, Clone)]
pub struct Resolver {
    /// The agent's principal (`Agent::principal`): what its count is kept under.
    pub name: String,
    /// How the session's records name it.
    pub agent: AgentRef,
    /// Project keys it sees, or [`ALL_PROJECTS`].
    pub scope: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("a code is 6 digits")]
    Malformed,
    #[error("no session has this code; check the digits with the user")]
    NotFound,
    #[error("this code has expired; ask the user to get a new one")]
    Expired,
    #[error("this code was already used; ask the user to get a new one")]
    Used,
    #[error(
        "too many wrong codes {}; try again in {retry_after_s} s",
        if *.by_project { "in your projects" } else { "from you" }
    )]
    Locked {
        retry_after_s: u64,
        by_project: bool,
    },
    #[error("help codes are unavailable: {0}; retry")]
    Unavailable(String),
}

impl From<BackendError> for CodeError {
    fn from(e: BackendError) -> Self {
        CodeError::Unavailable(e.to_string())
    }
}

/// This node's help codes. Cheap to clone.
#[derive(Clone)]
pub struct HelpCodes {
    streams: Streams,
    folded: Arc<Folded>,
    config: CodeConfig,
    node: Arc<str>,
    /// One resolve at a time on this node: see the module's doc.
    resolving: Arc<tokio::sync::Mutex<()>>,
    lockouts: Arc<Mutex<LockoutNotes>>,
}

impl HelpCodes {
    /// Creates the stream if missing and starts following it.
    pub async fn start(
        streams: Streams,
        config: CodeConfig,
        secret: &[u8],
        node: &str,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> Result<(Self, JoinHandle<()>), CodeError> {
        // What a node starting now must fold: every code and failure that still decides something.
        let horizon = config
            .ttl
            .max(Duration::from_millis(config.limits.window_ms));
        let settings = StreamSettings {
            retention: RETENTION,
            delete_on_empty_after: Duration::ZERO,
        };
        streams
            .backend()
            .ensure_stream(CODE_STREAM, settings)
            .await?;
        let (next, _) = watch::channel(0);
        let (uses, _) = broadcast::channel(USE_BACKLOG);
        let folded = Arc::new(Folded {
            book: Mutex::new(CodeBook::new(config.limits)),
            next,
            uses,
            seal: Seal::new(secret, LABEL),
            metrics,
        });
        let task = follower::spawn(streams.clone(), folded.clone(), horizon, shutdown);
        let codes = HelpCodes {
            streams,
            folded,
            config,
            node: node.into(),
            resolving: Arc::new(tokio::sync::Mutex::new(())),
            lockouts: Arc::default(),
        };
        Ok((codes, task))
    }

    /// Uses that took effect from now on, for the node holding the session to record.
    pub fn uses(&self) -> broadcast::Receiver<CodeUse> {
        self.folded.uses.subscribe()
    }

    /// A code for `session`'s tab `tab`: the one it holds if still valid, else a new one.
    pub async fn issue(
        &self,
        session: SessionId,
        tab: &str,
        project: &str,
    ) -> Result<IssuedCode, CodeError> {
        self.sync().await?;
        for _ in 0..ISSUE_ATTEMPTS {
            let now = now_ms();
            let chosen = {
                let book = self.folded.book.lock().expect("lock");
                if let Some((code, expires_ms)) = book.live_code(session, tab, now) {
                    return Ok(IssuedCode { code, expires_ms });
                }
                // The thread's generator is a CSPRNG: codes are not predictable from others.
                let draws: [u32; 16] = rand::random();
                choose_code(&book, draws, now)
            };
            let Some(code) = chosen else { continue };
            let expires_ms = now + self.config.ttl.as_millis() as u64;
            let record = CodeRecord::Issued {
                code,
                session,
                tab: tab.to_string(),
                project: project.to_string(),
                at_ms: now,
                expires_ms,
            };
            let seq = self.append(&record).await?;
            self.wait_folded(seq + 1).await?;
            if self.folded.book.lock().expect("lock").issued_at(code, seq) {
                return Ok(IssuedCode { code, expires_ms });
            }
        }
        Err(CodeError::Unavailable("no free code was found".to_string()))
    }

    /// Resolves what an agent typed: the lock-out is checked first, then the code; a wrong code
    /// is counted (durably, before the answer) and a right one spent.
    pub async fn resolve(&self, who: &Resolver, typed: &str) -> Result<CodeResolved, CodeError> {
        // Refused without queueing behind the node's other resolves: a locked-out guesser or a
        // typo must neither wait nor make others wait. The book may be a moment behind here; the
        // check is made again, caught up, once this resolve's turn comes.
        self.check(who, now_ms())?;
        let code = parse_code(typed).ok_or(CodeError::Malformed)?;
        let _one_at_a_time = tokio::time::timeout(QUEUE_TIMEOUT, self.resolving.lock())
            .await
            .map_err(|_| {
                CodeError::Unavailable("this node is busy resolving other codes".to_string())
            })?;
        self.sync().await?;
        let now = now_ms();
        self.check(who, now)?;
        let lookup = self
            .folded
            .book
            .lock()
            .expect("lock")
            .lookup(code, &who.scope, now);
        let (session, tab) = match lookup {
            Lookup::Live { session, tab } => (session, tab),
            miss => {
                self.append(&CodeRecord::Failed {
                    agent: who.name.clone(),
                    scope: who.scope.clone(),
                    at_ms: now,
                })
                .await?;
                return Err(match miss {
                    Lookup::Expired => CodeError::Expired,
                    Lookup::Used => CodeError::Used,
                    _ => CodeError::NotFound,
                });
            }
        };
        let seq = self
            .append(&CodeRecord::Used {
                code,
                session,
                tab: tab.clone(),
                agent: who.agent.clone(),
                node: self.node.to_string(),
                at_ms: now,
            })
            .await?;
        self.wait_folded(seq + 1).await?;
        if self.folded.book.lock().expect("lock").used_at(code, seq) {
            Ok(CodeResolved {
                session_id: session,
                tab,
            })
        } else {
            // Another agent's use landed first.
            Err(CodeError::Used)
        }
    }

    /// Refuses an agent that is locked out at `now_ms`.
    fn check(&self, who: &Resolver, now_ms: u64) -> Result<(), CodeError> {
        let book = self.folded.book.lock().expect("lock");
        book.check(&who.name, &who.scope, now_ms)
            .map_err(|locked| CodeError::Locked {
                retry_after_s: locked.retry_after_ms.div_ceil(1000),
                by_project: locked.by_project,
            })
    }

    /// Whether refusing the agent `name` for a lock-out lasting `retry_after_s` more is the first
    /// refusal of that lock-out on this node, the one to audit.
    pub fn first_refusal(&self, name: &str, retry_after_s: u64) -> bool {
        let now = now_ms();
        self.lockouts
            .lock()
            .expect("lock")
            .first(name, now + retry_after_s * 1000, now)
    }

    async fn append(&self, record: &CodeRecord) -> Result<u64, CodeError> {
        let body: Bytes = self.folded.seal.seal_record(record, now_ms());
        let append = self.streams.backend().append(
            CODE_STREAM,
            vec![AppendItem::Data {
                body,
                timestamp: None,
            }],
            AppendCondition::default(),
        );
        let appended = bounded(append).await?;
        Ok(appended.start.seq_num)
    }

    /// Waits until the book has folded everything the stream held when this was called.
    async fn sync(&self) -> Result<(), CodeError> {
        let tail = bounded(self.streams.backend().check_tail(CODE_STREAM)).await?;
        self.wait_folded(tail.seq_num).await
    }

    async fn wait_folded(&self, next: u64) -> Result<(), CodeError> {
        let mut folded = self.folded.next.subscribe();
        match tokio::time::timeout(SYNC_TIMEOUT, folded.wait_for(|n| *n >= next)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(CodeError::Unavailable(
                "this node is behind on the codes stream".to_string(),
            )),
        }
    }
}

/// `call` within [`STORE_TIMEOUT`]: a store that hangs must not hold a resolve (and the node's
/// queue of them) or a tab's code for longer.
async fn bounded<T>(call: impl Future<Output = Result<T, BackendError>>) -> Result<T, CodeError> {
    match tokio::time::timeout(STORE_TIMEOUT, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(CodeError::Unavailable(format!(
            "the store did not answer within {} s",
            STORE_TIMEOUT.as_secs()
        ))),
    }
}

/// The scope of an agent as the codes count it: its project keys, or [`ALL_PROJECTS`].
pub fn scope_of(keys: Option<&[String]>) -> Vec<String> {
    match keys {
        Some(keys) => keys.to_vec(),
        None => vec![ALL_PROJECTS.to_string()],
    }
}
