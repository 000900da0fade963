//! What an agent asks of the session list, and the answer from the index: newest first, filtered,
//! a page at a time. Pure code over the [`Index`].
//!
//! Paging is by the last session returned (`cursor`): the next page holds the matching sessions
//! created before it. Sessions arriving meanwhile are newer than any cursor, so they never shift a
//! later page (no session skipped or repeated), and a page carries a cursor only when another
//! match exists after it (never an empty page with a cursor).

use std::ops::Bound;
use std::sync::Arc;

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
    /// Only sessions of these project keys: the asking agent's scope (`None`: every project).
    pub scope: Option<Vec<String>>,
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
                .scope
                .as_ref()
                .is_some_and(|keys| !keys.contains(&entry.project))
            || self
                .user
                .as_deref()
                .is_some_and(|u| !entry.user_lower().starts_with(u))
        {
            return false;
        }
        if let Some(url) = &finders.url
            && url.find(entry.pages_lower().as_bytes()).is_none()
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
    let candidates: Box<dyn Iterator<Item = &Arc<Entry>> + '_> = if let Some(id) = query.exact_id()
    {
        Box::new(index.get(id).into_iter())
    } else {
        let set = match query.status {
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
        Box::new(set.range((lower, upper)).rev().map(|(_, entry)| entry))
    };
    let mut sessions = Vec::new();
    let mut more = false;
    for entry in candidates {
        if query.after.is_some_and(|after| entry.id >= after)
            || !query.matches_with(entry, &finders)
        {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::protocol::directory::DirectoryRecord;
    use crate::protocol::{EndReason, PageInfo};

    /// Sessions created 1 ms apart from `base`, oldest first.
    fn index_of(n: usize) -> (Index, Vec<SessionId>) {
        let mut index = Index::new(60_000);
        let base = 1_700_000_000_000u64;
        let mut ids = Vec::new();
        for i in 0..n {
            let uuid =
                Uuid::from_u128((u128::from(base + i as u64) << 80) | 0x7000_8000_0000_0000_0000);
            let id = SessionId::from_uuid(uuid);
            let ua = if i % 2 == 0 {
                "Chrome/120.0 Safari/537"
            } else {
                "Firefox/121.0"
            };
            index.apply(
                &DirectoryRecord::Started {
                    session: id,
                    project: if i % 3 == 0 { "pk-a" } else { "pk-b" }.into(),
                    node: "a#1".into(),
                    at_ms: base + i as u64,
                    tab: "t".into(),
                    page: PageInfo {
                        url: format!("https://shop.example/item/{i}"),
                        user_agent: ua.into(),
                        ..PageInfo::default()
                    },
                    user_id: Some(format!("User-{i:04}@Example.com")),
                    metadata: BTreeMap::from([("account".into(), format!("ACME-{}", i % 10))]),
                },
                base + i as u64,
            );
            if i % 4 == 0 {
                index.apply(
                    &DirectoryRecord::Ended {
                        session: id,
                        reason: EndReason::Ended,
                        at_ms: base + i as u64 + 1,
                    },
                    base + n as u64,
                );
            }
            if i % 5 == 0 {
                index.apply(
                    &DirectoryRecord::ConsoleError {
                        session: id,
                        at_ms: base,
                    },
                    base,
                );
            }
            ids.push(id);
        }
        (index, ids)
    }

    fn ids(page: &SessionPage) -> Vec<SessionId> {
        page.sessions.iter().map(|s| s.id).collect()
    }

    fn ask(index: &Index, query: Query) -> SessionPage {
        page(index, &query.normalize(), 1_700_000_000_100)
    }

    #[test]
    fn every_session_once_newest_first_and_no_empty_page_with_a_cursor() {
        let (index, mut all) = index_of(25);
        all.reverse();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = ask(
                &index,
                Query {
                    limit: 10,
                    after,
                    ..Query::default()
                },
            );
            assert!(!page.sessions.is_empty());
            seen.extend(ids(&page));
            match page.next_cursor {
                Some(cursor) => after = Some(cursor.parse().unwrap()),
                None => break,
            }
        }
        assert_eq!(seen, all);
        let exact = ask(
            &index,
            Query {
                limit: 25,
                ..Query::default()
            },
        );
        assert_eq!(exact.sessions.len(), 25);
        assert!(exact.next_cursor.is_none(), "no more: no cursor");
    }

    #[test]
    fn search_is_case_insensitive_on_user_metadata_url_and_id() {
        let (index, all) = index_of(40);
        let by_user = ask(
            &index,
            Query {
                text: Some("user-0007@example".into()),
                limit: 50,
                ..Query::default()
            },
        );
        assert_eq!(ids(&by_user), [all[7]]);
        let by_meta = ask(
            &index,
            Query {
                text: Some("acme-3".into()),
                limit: 50,
                ..Query::default()
            },
        );
        assert_eq!(by_meta.sessions.len(), 4);
        assert!(
            by_meta
                .sessions
                .iter()
                .all(|s| s.metadata["account"] == "ACME-3")
        );
        let by_url = ask(
            &index,
            Query {
                url: Some("ITEM/12".into()),
                limit: 50,
                ..Query::default()
            },
        );
        assert_eq!(ids(&by_url), [all[12]]);
        let by_id = ask(
            &index,
            Query {
                text: Some(all[3].to_string().to_uppercase()),
                limit: 50,
                ..Query::default()
            },
        );
        assert_eq!(ids(&by_id), [all[3]]);
        let prefix = ask(
            &index,
            Query {
                user: Some("USER-001".into()),
                limit: 50,
                ..Query::default()
            },
        );
        assert_eq!(prefix.sessions.len(), 10);
        let not_prefix = ask(
            &index,
            Query {
                user: Some("0001".into()),
                limit: 50,
                ..Query::default()
            },
        );
        assert!(
            not_prefix.sessions.is_empty(),
            "user= is a prefix, not a substring"
        );
        let none = ask(
            &index,
            Query {
                text: Some("nobody".into()),
                limit: 50,
                ..Query::default()
            },
        );
        assert!(none.sessions.is_empty());
        assert!(none.next_cursor.is_none());
    }

    #[test]
    fn filters_combine() {
        let (index, all) = index_of(40);
        let live = ask(
            &index,
            Query {
                status: Status::Live,
                limit: 50,
                ..Query::default()
            },
        );
        assert_eq!(live.sessions.len(), 30);
        assert!(live.sessions.iter().all(|s| s.live && s.ended_ms.is_none()));
        let ended = ask(
            &index,
            Query {
                status: Status::Ended,
                limit: 50,
                ..Query::default()
            },
        );
        assert_eq!(ended.sessions.len(), 10);
        let firefox_errors = ask(
            &index,
            Query {
                browser: Some("Firefox".into()),
                errors: true,
                limit: 50,
                ..Query::default()
            },
        );
        assert_eq!(ids(&firefox_errors), [all[35], all[25], all[15], all[5]]);
        let project = ask(
            &index,
            Query {
                project: Some("pk-a".into()),
                limit: 50,
                ..Query::default()
            },
        );
        assert_eq!(project.sessions.len(), 14);
        let scoped = ask(
            &index,
            Query {
                scope: Some(vec!["pk-b".into()]),
                project: Some("pk-a".into()),
                limit: 50,
                ..Query::default()
            },
        );
        assert!(
            scoped.sessions.is_empty(),
            "a scope outside pk-a lists none of it"
        );
        let scoped = ask(
            &index,
            Query {
                scope: Some(vec!["pk-a".into()]),
                limit: 50,
                ..Query::default()
            },
        );
        assert_eq!(scoped.sessions.len(), 14);
        let base = 1_700_000_000_000u64;
        let window = ask(
            &index,
            Query {
                from_ms: Some(base + 10),
                to_ms: Some(base + 12),
                limit: 50,
                ..Query::default()
            },
        );
        assert_eq!(ids(&window), [all[12], all[11], all[10]]);
        let paged = ask(
            &index,
            Query {
                from_ms: Some(base + 10),
                to_ms: Some(base + 12),
                limit: 2,
                ..Query::default()
            },
        );
        assert_eq!(ids(&paged), [all[12], all[11]]);
        let rest = ask(
            &index,
            Query {
                from_ms: Some(base + 10),
                to_ms: Some(base + 12),
                limit: 2,
                after: paged.next_cursor.map(|c| c.parse().unwrap()),
                ..Query::default()
            },
        );
        assert_eq!(ids(&rest), [all[10]]);
        assert!(rest.next_cursor.is_none());
    }

    #[test]
    fn paging_neither_skips_nor_repeats_while_sessions_arrive() {
        let (mut index, mut all) = index_of(30);
        all.reverse();
        let first = ask(
            &index,
            Query {
                limit: 10,
                ..Query::default()
            },
        );
        // Newer sessions arrive between pages.
        for i in 0..5u64 {
            let id = SessionId::new();
            index.apply(
                &DirectoryRecord::Started {
                    session: id,
                    project: "pk".into(),
                    node: "a#1".into(),
                    at_ms: 1_900_000_000_000 + i,
                    tab: "t".into(),
                    page: PageInfo::default(),
                    user_id: None,
                    metadata: BTreeMap::new(),
                },
                1_900_000_000_000,
            );
        }
        let mut seen = ids(&first);
        let mut after = first.next_cursor.map(|c| c.parse().unwrap());
        while let Some(cursor) = after {
            let page = ask(
                &index,
                Query {
                    limit: 10,
                    after: Some(cursor),
                    ..Query::default()
                },
            );
            seen.extend(ids(&page));
            after = page.next_cursor.map(|c| c.parse().unwrap());
        }
        assert_eq!(seen, all);
    }
}
