//! What an agent asks of the session list, and the answer from the index: newest first, filtered,
//! a page at a time. Pure code over the [`Index`].
//!
//! Paging is by the last session returned (`cursor`): the next page holds the matching sessions
//! created before it. Sessions arriving meanwhile are newer than any cursor, so they never shift a
//! later page (no session skipped or repeated), and a page carries a cursor only when another
//! match exists after it (never an empty page with a cursor).

use std::collections::BTreeSet;
use std::ops::Bound;

use memchr::memmem::Finder;
use uuid::Uuid;

use super::index::{Entry, Index};
use crate::protocol::{SessionId, SessionPage};

/// Most sessions one page holds.
pub const MAX_PAGE: usize = 200;
/// Longest search text taken; a longer one is refused, not cut (it could match what the agent
/// did not ask for).
pub const MAX_QUERY_BYTES: usize = 256;

/// Live or ended sessions only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Any,
    /// Connected now (its node is alive and it has not ended).
    Live,
    /// Ended (sealed); a session whose node went away without ending it is neither.
    Ended,
}

/// One query of the session list. Text fields are lower-cased by [`Query::normalize`].
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Substring of the user id, a metadata value, a page's URL or the session id.
    pub text: Option<String>,
    /// Prefix of the user id.
    pub user: Option<String>,
    /// Substring of a page's URL.
    pub url: Option<String>,
    pub status: Status,
    /// Started at or after (ms since the epoch).
    pub from_ms: Option<u64>,
    /// Started at or before.
    pub to_ms: Option<u64>,
    /// Browser family (`chrome`, `firefox`, …).
    pub browser: Option<String>,
    /// Only sessions whose page logged a console error.
    pub errors: bool,
    /// Only sessions of this project key.
    pub project: Option<String>,
    pub limit: usize,
    /// The last session of the previous page.
    pub after: Option<SessionId>,
}

impl Query {
    /// Lower-cases the text fields and drops empty ones.
    pub fn normalize(mut self) -> Self {
        let clean = |field: Option<String>| {
            field
                .map(|t| t.trim().to_lowercase())
                .filter(|t| !t.is_empty())
        };
        self.text = clean(self.text);
        self.user = clean(self.user);
        self.url = clean(self.url);
        self.browser = clean(self.browser);
        self.project = self.project.filter(|p| !p.is_empty());
        self.limit = self.limit.clamp(1, MAX_PAGE);
        self
    }

    /// Whether `entry` is one of the sessions this query asks for (paging aside).
    pub fn matches(&self, entry: &Entry) -> bool {
        self.matches_with(entry, &self.finders())
    }

    fn finders(&self) -> Finders<'_> {
        Finders {
            text: self.text.as_deref().map(Finder::new),
            url: self.url.as_deref().map(Finder::new),
        }
    }

    fn matches_with(&self, entry: &Entry, finders: &Finders<'_>) -> bool {
        match self.status {
            Status::Any => {}
            Status::Live if !entry.live => return false,
            Status::Ended if entry.ended.is_none() => return false,
            _ => {}
        }
        if self.from_ms.is_some_and(|from| entry.started_ms < from)
            || self.to_ms.is_some_and(|to| entry.started_ms > to)
            || (self.errors && !entry.console_errors)
            || self.browser.as_deref().is_some_and(|b| entry.browser != b)
            || self.project.as_deref().is_some_and(|p| entry.project != p)
            || self
                .user
                .as_deref()
                .is_some_and(|u| !entry.user_lower.starts_with(u))
        {
            return false;
        }
        if let Some(url) = &finders.url
            && !entry
                .pages()
                .iter()
                .any(|p| url.find(p.to_lowercase().as_bytes()).is_some())
        {
            return false;
        }
        if let Some(text) = &finders.text
            && text.find(entry.haystack.as_bytes()).is_none()
        {
            return false;
        }
        true
    }

    /// The exact session the text names, if it is a session id.
    fn exact_id(&self) -> Option<SessionId> {
        self.text.as_deref().and_then(|t| t.parse().ok())
    }
}

struct Finders<'q> {
    text: Option<Finder<'q>>,
    url: Option<Finder<'q>>,
}

/// The smallest id of a session created at `ms`, or the largest: bounds for a time range over ids
/// (a UUIDv7 starts with its 48-bit creation time in ms).
fn id_bound(ms: u64, high: bool) -> SessionId {
    let time = u128::from(ms.min((1 << 48) - 1)) << 80;
    let rest = if high { (1u128 << 80) - 1 } else { 0 };
    SessionId::from_uuid(Uuid::from_u128(time | rest))
}

/// One page of the answer to `query`, at `now_ms`.
pub fn page(index: &Index, query: &Query, now_ms: u64) -> SessionPage {
    let finders = query.finders();
    let candidates: Box<dyn Iterator<Item = SessionId> + '_> = if let Some(id) = query.exact_id() {
        Box::new(index.get(id).map(|e| e.id).into_iter())
    } else {
        let set: &BTreeSet<SessionId> = match query.status {
            Status::Live => index.live_set(),
            _ => index.order(),
        };
        let upper = match (query.after, query.to_ms) {
            (Some(after), Some(to)) => Bound::Excluded(after.min(id_bound(to, true))),
            (Some(after), None) => Bound::Excluded(after),
            (None, Some(to)) => Bound::Included(id_bound(to, true)),
            (None, None) => Bound::Unbounded,
        };
        let lower = query.from_ms.map_or(Bound::Unbounded, |from| {
            Bound::Included(id_bound(from, false))
        });
        Box::new(set.range((lower, upper)).rev().copied())
    };
    let mut sessions = Vec::new();
    let mut more = false;
    for id in candidates {
        let Some(entry) = index.get(id) else { continue };
        if query.after.is_some_and(|after| id >= after) || !query.matches_with(entry, &finders) {
            continue;
        }
        if sessions.len() == query.limit {
            more = true;
            break;
        }
        sessions.push(entry.summary(now_ms));
    }
    let next_cursor = more
        .then(|| sessions.last().map(|s| s.id.to_string()))
        .flatten();
    SessionPage {
        sessions,
        next_cursor,
    }
}
