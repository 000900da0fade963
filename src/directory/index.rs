//! The in-memory index of sessions every node folds from the directory's day streams. Pure code:
//! records and the time come in, changes go out; no I/O, so every rule below is a unit test.
//!
//! Folding is insensitive to order and duplicates (a rewritten generation holds records in another
//! order, two generations of a day may be read at once): every field is last-writer-wins by the
//! record's own `at_ms`, `ended` sticks, a record for a session not started yet is kept aside
//! until its `started` arrives, and an erased session is never taken back.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::protocol::directory::{DirectoryRecord, MAX_DIRECTORY_FIELD_BYTES, clip};
use crate::protocol::{EndReason, SessionId, SessionSummary, Viewport};

use super::browser;

/// Tabs kept per session; a tab beyond them is not listed (a page opening tabs in a loop).
pub const MAX_TABS: usize = 32;
/// Distinct pages kept per session for URL search (the newest).
pub const MAX_PAGES: usize = 16;
/// Metadata keys kept per session.
pub const MAX_METADATA: usize = 32;

/// One tab of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct TabEntry {
    pub tab: String,
    pub url: String,
    url_at: u64,
    pub open: bool,
    open_at: u64,
    first_at: u64,
}

/// Which node process holds a session, since when. Nodes name themselves `NODE#INSTANCE` in the
/// directory (`INSTANCE` is when the process started), so that a node restarted under the same
/// `--node-id` holds none of the sessions its previous process held.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    node: String,
    at_ms: u64,
}

/// What the index knows of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: SessionId,
    /// A `started` record was folded; until then the entry is not listed.
    started: bool,
    pub project: String,
    pub started_ms: u64,
    holder: Option<Holder>,
    pub user_agent: String,
    pub browser: &'static str,
    pub viewport: Viewport,
    pub user_id: Option<String>,
    user_id_at: u64,
    metadata: BTreeMap<String, (String, u64)>,
    tabs: Vec<TabEntry>,
    /// Distinct URLs seen, newest last.
    pages: Vec<String>,
    pub ended: Option<(u64, EndReason)>,
    pub console_errors: bool,
    pub live: bool,
    /// When the session was last known active: its holder's last sign of life while live.
    pub last_seen_ms: u64,
    /// Lower-cased user id, metadata values, pages and id, one per line: what `q` searches.
    /// The user id comes first and the pages are one run, so prefix and URL searches look at
    /// their part of it rather than at copies.
    pub(super) haystack: String,
    /// Where the user id ends in `haystack`.
    user_end: usize,
    /// Where the pages are in `haystack`.
    pages_span: std::ops::Range<usize>,
}

impl Entry {
    fn new(id: SessionId) -> Self {
        Entry {
            id,
            started: false,
            project: String::new(),
            started_ms: id.created_ms(),
            holder: None,
            user_agent: String::new(),
            browser: "other",
            viewport: Viewport::default(),
            user_id: None,
            user_id_at: 0,
            metadata: BTreeMap::new(),
            tabs: Vec::new(),
            pages: Vec::new(),
            ended: None,
            console_errors: false,
            live: false,
            last_seen_ms: id.created_ms(),
            haystack: String::new(),
            user_end: 0,
            pages_span: 0..0,
        }
    }

    /// The page of the tab that moved last.
    pub fn url(&self) -> &str {
        self.tabs
            .iter()
            .max_by_key(|t| t.url_at)
            .map_or("", |t| t.url.as_str())
    }

    pub fn metadata(&self) -> BTreeMap<String, String> {
        self.metadata
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }

    /// Every URL the session visited that the index kept.
    pub fn pages(&self) -> &[String] {
        &self.pages
    }

    /// What the REST API lists; a live session was active `now_ms`.
    pub fn summary(&self, now_ms: u64) -> SessionSummary {
        let tabs = if self.live {
            self.tabs
                .iter()
                .filter(|t| t.open)
                .map(|t| t.tab.clone())
                .collect()
        } else {
            let mut by_first: Vec<&TabEntry> = self.tabs.iter().collect();
            by_first.sort_by_key(|t| t.first_at);
            by_first.into_iter().map(|t| t.tab.clone()).collect()
        };
        SessionSummary {
            id: self.id,
            project: self.project.clone(),
            started_ms: self.started_ms,
            last_activity_ms: match self.ended {
                Some((at, _)) => at,
                None if self.live => now_ms.max(self.last_seen_ms),
                None => self.last_seen_ms,
            },
            url: self.url().to_string(),
            user_id: self.user_id.clone(),
            metadata: self.metadata(),
            user_agent: self.user_agent.clone(),
            browser: self.browser.to_string(),
            viewport: self.viewport,
            tabs,
            live: self.live,
            ended_ms: self.ended.map(|(at, _)| at),
            end_reason: self.ended.map(|(_, reason)| reason),
            records: 0,
            call: false,
            console_errors: self.console_errors,
        }
    }

    /// Bytes this entry holds on the heap, roughly (strings, maps, tabs), for the memory report.
    pub fn heap_bytes(&self) -> usize {
        let strings = self.project.capacity()
            + self.user_agent.capacity()
            + self.user_id.as_ref().map_or(0, String::capacity)
            + self.haystack.capacity()
            + self.holder.as_ref().map_or(0, |h| h.node.capacity());
        let metadata: usize = self
            .metadata
            .iter()
            .map(|(k, (v, _))| k.capacity() + v.capacity() + 64)
            .sum();
        let tabs: usize = self
            .tabs
            .iter()
            .map(|t| t.tab.capacity() + t.url.capacity() + std::mem::size_of::<TabEntry>())
            .sum();
        let pages: usize = self.pages.iter().map(|p| p.capacity() + 24).sum();
        strings + metadata + tabs + pages
    }

    /// The lower-cased user id, for prefix search.
    pub(super) fn user_lower(&self) -> &str {
        &self.haystack[..self.user_end]
    }

    /// The lower-cased pages, one per line, for URL search.
    pub(super) fn pages_lower(&self) -> &str {
        &self.haystack[self.pages_span.clone()]
    }

    fn reindex(&mut self) {
        let mut hay = String::with_capacity(self.haystack.len().max(64));
        hay.push_str(&self.user_id.as_deref().unwrap_or("").to_lowercase());
        self.user_end = hay.len();
        for (value, _) in self.metadata.values() {
            hay.push('\n');
            hay.push_str(&value.to_lowercase());
        }
        let pages_start = hay.len();
        for page in &self.pages {
            hay.push('\n');
            hay.push_str(&page.to_lowercase());
        }
        self.pages_span = pages_start..hay.len();
        hay.push('\n');
        hay.push_str(&self.id.to_string());
        hay.shrink_to_fit();
        self.haystack = hay;
    }

    fn note_page(&mut self, url: &str) {
        if url.is_empty() {
            return;
        }
        if let Some(at) = self.pages.iter().position(|p| p == url) {
            let page = self.pages.remove(at);
            self.pages.push(page);
            return;
        }
        if self.pages.len() == MAX_PAGES {
            self.pages.remove(0);
        }
        self.pages.push(url.to_string());
    }

    fn tab(&mut self, tab: &str, at_ms: u64) -> Option<&mut TabEntry> {
        match self.tabs.iter().position(|t| t.tab == tab) {
            Some(i) => {
                let entry = &mut self.tabs[i];
                entry.first_at = entry.first_at.min(at_ms);
                Some(entry)
            }
            None if self.tabs.len() < MAX_TABS => {
                self.tabs.push(TabEntry {
                    tab: clip(tab, 64),
                    url: String::new(),
                    url_at: 0,
                    open: false,
                    open_at: 0,
                    first_at: at_ms,
                });
                self.tabs.last_mut()
            }
            None => None,
        }
    }

    fn set_page(&mut self, tab: &str, url: &str, at_ms: u64) {
        let url = clip(url, MAX_DIRECTORY_FIELD_BYTES);
        if let Some(entry) = self.tab(tab, at_ms) {
            if at_ms >= entry.url_at {
                entry.url = url.clone();
                entry.url_at = at_ms;
            }
            if at_ms >= entry.open_at {
                entry.open = true;
                entry.open_at = at_ms;
            }
        }
        self.note_page(&url);
    }

    fn merge_identity(
        &mut self,
        user_id: Option<&String>,
        metadata: &BTreeMap<String, String>,
        at_ms: u64,
    ) {
        if let Some(user) = user_id
            && at_ms >= self.user_id_at
        {
            self.user_id = Some(clip(user, MAX_DIRECTORY_FIELD_BYTES));
            self.user_id_at = at_ms;
        }
        for (key, value) in metadata {
            let value = clip(value, MAX_DIRECTORY_FIELD_BYTES);
            let room = self.metadata.len() < MAX_METADATA;
            match self.metadata.get_mut(key) {
                Some(slot) if at_ms >= slot.1 => *slot = (value, at_ms),
                Some(_) => {}
                None if room => {
                    self.metadata.insert(clip(key, 256), (value, at_ms));
                }
                None => {}
            }
        }
    }
}

/// A change to what the index lists: the entry before and after (either may be missing: a new
/// session, an erased one). Watchers decide with their own query whether it concerns them.
#[derive(Debug, Clone)]
pub struct Change {
    pub before: Option<Arc<Entry>>,
    pub after: Option<Arc<Entry>>,
}

/// A node process's last sign of life.
#[derive(Debug, Clone, Copy)]
struct NodeSeen {
    at_ms: u64,
    stopping: bool,
}

/// Every session of the directory, newest first, with the live ones apart.
pub struct Index {
    entries: HashMap<SessionId, Arc<Entry>>,
    /// Listed (started) sessions; a UUIDv7 sorts by creation time, so newest first is `rev()`.
    /// The entries themselves, not their ids: a search walks them in order without a hash
    /// lookup per session (the lookups were a third of a search's time).
    order: BTreeMap<SessionId, Arc<Entry>>,
    live: BTreeMap<SessionId, Arc<Entry>>,
    /// Sessions not ended, by the node that holds them: whose liveness a node's heartbeat moves.
    held: HashMap<String, BTreeSet<SessionId>>,
    nodes: HashMap<String, NodeSeen>,
    erased: HashSet<SessionId>,
    /// A node not heard from for this long is gone, and its sessions are not live.
    node_timeout_ms: u64,
}

impl Index {
    pub fn new(node_timeout_ms: u64) -> Self {
        Index {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            live: BTreeMap::new(),
            held: HashMap::new(),
            nodes: HashMap::new(),
            erased: HashSet::new(),
            node_timeout_ms,
        }
    }

    /// Listed sessions.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    pub fn get(&self, id: SessionId) -> Option<&Arc<Entry>> {
        self.entries.get(&id).filter(|e| e.started)
    }

    /// Up to `max` sessions neither live nor ended whose node has been silent for `silent_ms`.
    pub fn orphans(&self, now_ms: u64, silent_ms: u64, max: usize) -> Vec<SessionId> {
        self.held
            .values()
            .flatten()
            .filter_map(|id| self.entries.get(id))
            .filter(|e| {
                e.started
                    && !e.live
                    && e.ended.is_none()
                    && now_ms.saturating_sub(e.last_seen_ms) > silent_ms
            })
            .map(|e| e.id)
            .take(max)
            .collect()
    }

    /// Whether the session is listed, or was erased.
    pub fn knows(&self, id: SessionId) -> bool {
        self.get(id).is_some() || self.erased.contains(&id)
    }

    pub(super) fn order(&self) -> &BTreeMap<SessionId, Arc<Entry>> {
        &self.order
    }

    pub(super) fn live_set(&self) -> &BTreeMap<SessionId, Arc<Entry>> {
        &self.live
    }

    /// Heap bytes of every entry, roughly, and how many entries (listed or waiting for their
    /// `started`) there are.
    pub fn heap_bytes(&self) -> (usize, usize) {
        let bytes = self
            .entries
            .values()
            .map(|e| e.heap_bytes() + std::mem::size_of::<Entry>() + 64)
            .sum();
        (bytes, self.entries.len())
    }

    /// Whether `entry` is live at `now_ms`, and its last sign of life.
    fn liveness(&self, entry: &Entry, now_ms: u64) -> (bool, u64) {
        let Some(holder) = &entry.holder else {
            return (false, entry.last_seen_ms);
        };
        let node = self.nodes.get(&holder.node);
        let seen = node.map_or(holder.at_ms, |n| n.at_ms.max(holder.at_ms));
        let alive = !node.is_some_and(|n| n.stopping)
            && now_ms.saturating_sub(seen) <= self.node_timeout_ms;
        let live = entry.started && entry.ended.is_none() && alive;
        (live, seen.max(entry.last_seen_ms))
    }

    /// Folds one record in, at `now_ms`; the changes to what is listed.
    pub fn apply(&mut self, record: &DirectoryRecord, now_ms: u64) -> Vec<Change> {
        if let DirectoryRecord::Node {
            node,
            at_ms,
            stopping,
        } = record
        {
            self.node_seen(node, *at_ms, *stopping);
            let held: Vec<SessionId> = self
                .held
                .get(node.as_str())
                .map(|ids| ids.iter().copied().collect())
                .unwrap_or_default();
            return self.refresh(held, now_ms);
        }
        let Some(id) = record.session() else {
            return Vec::new();
        };
        if self.erased.contains(&id) {
            return Vec::new();
        }
        if let DirectoryRecord::Erased { .. } = record {
            return self.erase(id);
        }
        let before = self.entries.get(&id).cloned();
        let mut entry = before.as_deref().cloned().unwrap_or_else(|| Entry::new(id));
        match record {
            DirectoryRecord::Started {
                project,
                node,
                at_ms,
                tab,
                page,
                user_id,
                metadata,
                ..
            } => {
                entry.started = true;
                entry.project = clip(project, 256);
                entry.started_ms = id.created_ms().min(*at_ms).max(1);
                entry.user_agent = clip(&page.user_agent, 512);
                entry.browser = browser::family(&page.user_agent);
                entry.viewport = page.viewport;
                entry.set_page(tab, &page.url, *at_ms);
                entry.merge_identity(user_id.as_ref(), metadata, *at_ms);
                self.claim(&mut entry, node, *at_ms);
            }
            DirectoryRecord::Claimed { node, at_ms, .. } => self.claim(&mut entry, node, *at_ms),
            DirectoryRecord::Page {
                tab, url, at_ms, ..
            } => entry.set_page(tab, url, *at_ms),
            DirectoryRecord::TabClosed { tab, at_ms, .. } => {
                if let Some(t) = entry.tab(tab, *at_ms)
                    && *at_ms >= t.open_at
                {
                    t.open = false;
                    t.open_at = *at_ms;
                }
            }
            DirectoryRecord::Identity {
                user_id,
                metadata,
                at_ms,
                ..
            } => entry.merge_identity(user_id.as_ref(), metadata, *at_ms),
            DirectoryRecord::ConsoleError { .. } => entry.console_errors = true,
            DirectoryRecord::Ended { reason, at_ms, .. } => {
                if entry.ended.is_none_or(|(t, _)| *at_ms < t) {
                    entry.ended = Some((*at_ms, *reason));
                }
                if let Some(holder) = &entry.holder
                    && let Some(held) = self.held.get_mut(&holder.node)
                {
                    held.remove(&id);
                }
            }
            DirectoryRecord::Node { .. } | DirectoryRecord::Erased { .. } => {}
        }
        entry.last_seen_ms = entry.last_seen_ms.max(record.at_ms());
        entry.reindex();
        let (live, last_seen) = self.liveness(&entry, now_ms);
        entry.live = live;
        entry.last_seen_ms = last_seen;
        self.put(before, entry).into_iter().collect()
    }

    /// `node` took the session at `at_ms`: the newest claim holds it. A claim is also a sign of
    /// life of the node that made it.
    fn claim(&mut self, entry: &mut Entry, node: &str, at_ms: u64) {
        self.node_seen(node, at_ms, false);
        if entry.holder.as_ref().is_some_and(|h| h.at_ms > at_ms) {
            return;
        }
        if let Some(old) = &entry.holder
            && let Some(held) = self.held.get_mut(&old.node)
        {
            held.remove(&entry.id);
        }
        let node = clip(node, 128);
        if entry.ended.is_none() {
            self.held.entry(node.clone()).or_default().insert(entry.id);
        }
        entry.holder = Some(Holder { node, at_ms });
    }

    fn put(&mut self, before: Option<Arc<Entry>>, entry: Entry) -> Option<Change> {
        let id = entry.id;
        if before.as_deref() == Some(&entry) {
            return None;
        }
        let listed = entry.started;
        let live = entry.live;
        let after = Arc::new(entry);
        if listed {
            self.order.insert(id, after.clone());
        }
        if live {
            self.live.insert(id, after.clone());
        } else {
            self.live.remove(&id);
        }
        self.entries.insert(id, after.clone());
        let before = before.filter(|b| b.started);
        listed.then_some(Change {
            before,
            after: Some(after),
        })
    }

    fn erase(&mut self, id: SessionId) -> Vec<Change> {
        self.erased.insert(id);
        self.order.remove(&id);
        self.live.remove(&id);
        let removed = self.entries.remove(&id);
        if let Some(holder) = removed.as_ref().and_then(|e| e.holder.as_ref())
            && let Some(held) = self.held.get_mut(&holder.node)
        {
            held.remove(&id);
        }
        match removed.filter(|e| e.started) {
            Some(before) => vec![Change {
                before: Some(before),
                after: None,
            }],
            None => Vec::new(),
        }
    }

    /// Forgets an erased session here and now, before its `erased` record is read back.
    pub fn forget(&mut self, id: SessionId) -> Vec<Change> {
        self.erase(id)
    }

    fn node_seen(&mut self, node: &str, at_ms: u64, stopping: bool) {
        let slot = self
            .nodes
            .entry(clip(node, 128))
            .or_insert(NodeSeen { at_ms, stopping });
        slot.at_ms = slot.at_ms.max(at_ms);
        // A process that said it stops does not come back: a restart is a new instance.
        slot.stopping |= stopping;
    }

    /// Recomputes liveness at `now_ms` (nodes that went silent); the changes.
    pub fn sweep(&mut self, now_ms: u64) -> Vec<Change> {
        let live: Vec<SessionId> = self.live.keys().copied().collect();
        self.refresh(live, now_ms)
    }

    /// Recomputes the liveness of `ids`; an entry changes only when it goes live or stops being
    /// live (its last sign of life moves on every heartbeat, which no watcher needs to hear).
    fn refresh(&mut self, ids: Vec<SessionId>, now_ms: u64) -> Vec<Change> {
        let mut changes = Vec::new();
        for id in ids {
            let Some(before) = self.entries.get(&id).cloned() else {
                continue;
            };
            let (live, last_seen) = self.liveness(&before, now_ms);
            if live == before.live {
                continue;
            }
            let mut entry = (*before).clone();
            entry.live = live;
            entry.last_seen_ms = last_seen;
            changes.extend(self.put(Some(before), entry));
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PageInfo;

    const TIMEOUT: u64 = 15_000;

    fn started(id: SessionId, node: &str, at_ms: u64, user: Option<&str>) -> DirectoryRecord {
        DirectoryRecord::Started {
            session: id,
            project: "pk".into(),
            node: node.into(),
            at_ms,
            tab: "t1".into(),
            page: PageInfo {
                url: "https://shop.example/cart".into(),
                user_agent: "Mozilla/5.0 Firefox/121.0".into(),
                ..PageInfo::default()
            },
            user_id: user.map(str::to_string),
            metadata: BTreeMap::from([("plan".into(), "Pro".into())]),
        }
    }

    fn node(node: &str, at_ms: u64, stopping: bool) -> DirectoryRecord {
        DirectoryRecord::Node {
            node: node.into(),
            at_ms,
            stopping,
        }
    }

    #[test]
    fn a_started_session_is_listed_live_with_who_and_where() {
        let mut index = Index::new(TIMEOUT);
        let id = SessionId::new();
        let changes = index.apply(&started(id, "a#1", 1_000, Some("Alice")), 1_000);
        assert_eq!(changes.len(), 1);
        assert!(changes[0].before.is_none());
        let summary = index.get(id).unwrap().summary(1_500);
        assert!(summary.live);
        assert_eq!(summary.user_id.as_deref(), Some("Alice"));
        assert_eq!(summary.url, "https://shop.example/cart");
        assert_eq!(summary.browser, "firefox");
        assert_eq!(summary.tabs, ["t1"]);
        assert_eq!(summary.project, "pk");
        assert_eq!(index.live_count(), 1);
    }

    #[test]
    fn folding_is_insensitive_to_order_and_duplicates() {
        let id = SessionId::new();
        let records = [
            started(id, "a#1", 1_000, Some("alice")),
            DirectoryRecord::Page {
                session: id,
                tab: "t1".into(),
                url: "https://shop.example/pay".into(),
                at_ms: 2_000,
            },
            DirectoryRecord::Page {
                session: id,
                tab: "t2".into(),
                url: "https://shop.example/help".into(),
                at_ms: 2_500,
            },
            DirectoryRecord::Identity {
                session: id,
                user_id: Some("alice@example.com".into()),
                metadata: BTreeMap::from([("plan".into(), "Enterprise".into())]),
                at_ms: 3_000,
            },
            DirectoryRecord::TabClosed {
                session: id,
                tab: "t2".into(),
                at_ms: 3_500,
            },
            DirectoryRecord::Ended {
                session: id,
                reason: EndReason::Ended,
                at_ms: 4_000,
            },
        ];
        let mut forward = Index::new(TIMEOUT);
        for r in &records {
            forward.apply(r, 5_000);
        }
        let mut backward = Index::new(TIMEOUT);
        for r in records.iter().rev().chain(records.iter()) {
            backward.apply(r, 5_000);
        }
        let a = forward.get(id).unwrap().summary(5_000);
        let b = backward.get(id).unwrap().summary(5_000);
        assert_eq!(a, b);
        assert_eq!(a.user_id.as_deref(), Some("alice@example.com"));
        assert_eq!(a.metadata["plan"], "Enterprise");
        assert_eq!(
            a.url, "https://shop.example/help",
            "the tab that moved last"
        );
        assert_eq!(a.ended_ms, Some(4_000));
        assert!(!a.live);
        assert_eq!(a.tabs, ["t1", "t2"], "an ended session offers every tab");
    }

    #[test]
    fn records_before_their_start_wait_unlisted() {
        let mut index = Index::new(TIMEOUT);
        let id = SessionId::new();
        let early = DirectoryRecord::Identity {
            session: id,
            user_id: Some("bob".into()),
            metadata: BTreeMap::new(),
            at_ms: 2_000,
        };
        assert!(index.apply(&early, 2_000).is_empty());
        assert!(index.get(id).is_none());
        assert!(index.is_empty());
        index.apply(&started(id, "a#1", 1_000, None), 2_000);
        assert_eq!(index.get(id).unwrap().user_id.as_deref(), Some("bob"));
    }

    #[test]
    fn sessions_of_a_silent_or_stopped_node_are_not_live_and_a_claim_revives_them() {
        let mut index = Index::new(TIMEOUT);
        let id = SessionId::new();
        index.apply(&started(id, "a#1", 1_000, None), 1_000);
        index.apply(&node("a#1", 10_000, false), 10_000);
        assert!(index.sweep(20_000).is_empty(), "heard from 10 s ago");
        let changes = index.sweep(25_001);
        assert_eq!(changes.len(), 1);
        assert!(!index.get(id).unwrap().live);
        assert!(index.get(id).unwrap().ended.is_none(), "not ended: gone");

        let claim = DirectoryRecord::Claimed {
            session: id,
            node: "b#7".into(),
            at_ms: 26_000,
        };
        index.apply(&claim, 26_000);
        assert!(index.get(id).unwrap().live, "the tracker reconnected to b");
        index.apply(&node("b#7", 27_000, true), 27_000);
        assert!(!index.get(id).unwrap().live, "b stopped");
    }

    #[test]
    fn a_session_whose_node_went_silent_is_an_orphan_after_the_idle_timeout() {
        let mut index = Index::new(TIMEOUT);
        let at = |ms: u64, n: u128| {
            SessionId::from_uuid(uuid::Uuid::from_u128((u128::from(ms) << 80) | n))
        };
        let orphan = at(900, 1);
        let ended = at(900, 2);
        index.apply(&started(orphan, "a#1", 1_000, None), 1_000);
        index.apply(&started(ended, "a#1", 1_000, None), 1_000);
        let end = DirectoryRecord::Ended {
            session: ended,
            reason: EndReason::Ended,
            at_ms: 2_000,
        };
        index.apply(&end, 2_000);
        index.apply(&node("a#1", 10_000, false), 10_000);
        assert!(index.orphans(20_000, 60_000, 10).is_empty(), "still live");
        index.sweep(30_000);
        assert!(
            index.orphans(30_000, 60_000, 10).is_empty(),
            "silent for less than the idle timeout"
        );
        assert_eq!(index.orphans(70_001, 60_000, 10), [orphan]);
        assert!(index.orphans(70_001, 60_000, 0).is_empty());
    }

    #[test]
    fn a_heartbeat_read_after_the_sessions_makes_them_live() {
        let mut index = Index::new(TIMEOUT);
        let id = SessionId::new();
        // A rebuild reads the day of the session's start before today's heartbeats.
        index.apply(&started(id, "a#1", 1_000, None), 100_000);
        assert!(!index.get(id).unwrap().live);
        let changes = index.apply(&node("a#1", 99_000, false), 100_000);
        assert_eq!(changes.len(), 1);
        assert!(index.get(id).unwrap().live);
    }

    #[test]
    fn an_ended_session_never_changes_and_an_erased_one_never_comes_back() {
        let mut index = Index::new(TIMEOUT);
        let id = SessionId::new();
        index.apply(&started(id, "a#1", 1_000, Some("carol")), 1_000);
        let end = DirectoryRecord::Ended {
            session: id,
            reason: EndReason::Idle,
            at_ms: 2_000,
        };
        index.apply(&end, 2_000);
        assert!(
            index.apply(&end, 3_000).is_empty(),
            "folding it again changes nothing"
        );
        let erased = DirectoryRecord::Erased {
            session: id,
            at_ms: 4_000,
        };
        let changes = index.apply(&erased, 4_000);
        assert_eq!(changes.len(), 1);
        assert!(changes[0].after.is_none());
        assert!(
            index
                .apply(&started(id, "a#1", 1_000, Some("carol")), 5_000)
                .is_empty()
        );
        assert!(index.get(id).is_none());
        assert!(index.is_empty());
    }

    #[test]
    fn fields_are_bounded() {
        let mut index = Index::new(TIMEOUT);
        let id = SessionId::new();
        index.apply(&started(id, "a#1", 1_000, None), 1_000);
        let metadata = (0..100)
            .map(|i| (format!("k{i}"), "v".repeat(5000)))
            .collect();
        index.apply(
            &DirectoryRecord::Identity {
                session: id,
                user_id: Some("u".repeat(10_000)),
                metadata,
                at_ms: 2_000,
            },
            2_000,
        );
        for i in 0..100 {
            index.apply(
                &DirectoryRecord::Page {
                    session: id,
                    tab: format!("tab{i}"),
                    url: format!("https://shop.example/{i}"),
                    at_ms: 3_000 + i,
                },
                3_000,
            );
        }
        let entry = index.get(id).unwrap();
        assert_eq!(
            entry.user_id.as_ref().unwrap().len(),
            MAX_DIRECTORY_FIELD_BYTES
        );
        assert_eq!(entry.metadata().len(), MAX_METADATA);
        assert_eq!(entry.pages().len(), MAX_PAGES);
        assert_eq!(entry.summary(3_000).tabs.len(), MAX_TABS);
        assert!(entry.heap_bytes() < 200_000, "{}", entry.heap_bytes());
    }
}
