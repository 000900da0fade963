//! The records of the session directory: the day streams `cluster/directory/<day>/<generation>`
//! that every node appends compact summaries to and folds into its in-memory index of sessions
//! (docs/protocol.md §12, docs/architecture.md "The session directory").
//!
//! Each record stands on its own and says when it happened (`at_ms`, the appending node's clock),
//! so folding them is insensitive to order and to duplicates: a rewritten generation may hold a
//! session's records in another order than they were written, and two generations of one day may
//! be read at once while a rewrite runs. Stored as MessagePack inside a signed body
//! ([`crate::seal`]): anything that can append to the store could otherwise forge entries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::bounds::clip;
use super::{EndReason, PageInfo, SessionId};

/// Longest value of a directory field (a URL, a user id, a metadata value) kept; longer ones are
/// cut at a character boundary. The tracker's own caps are lower; this bounds what a record costs.
pub const MAX_DIRECTORY_FIELD_BYTES: usize = 2048;
/// Metadata keys a record carries at most (the first, in key order).
pub const MAX_DIRECTORY_METADATA: usize = 32;
/// Longest metadata key, tab id or node name kept.
const MAX_NAME_BYTES: usize = 256;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DirectoryRecord {
    /// A session began: who, where, on which node.
    Started {
        session: SessionId,
        project: String,
        node: String,
        at_ms: u64,
        tab: String,
        page: PageInfo,
        user_id: Option<String>,
        metadata: BTreeMap<String, String>,
    },
    /// A node took the session's stream over (the tracker reconnected there).
    Claimed {
        session: SessionId,
        node: String,
        at_ms: u64,
    },
    /// A tab connected, or its page changed.
    Page {
        session: SessionId,
        tab: String,
        url: String,
        at_ms: u64,
    },
    /// A tab's tracker went away (closed, navigated off the site, or lost its connection).
    TabClosed {
        session: SessionId,
        tab: String,
        at_ms: u64,
    },
    /// The page identified the user or added metadata (merged into what is known).
    Identity {
        session: SessionId,
        user_id: Option<String>,
        metadata: BTreeMap<String, String>,
        at_ms: u64,
    },
    /// The page logged its first console error.
    ConsoleError { session: SessionId, at_ms: u64 },
    /// The session ended and its stream is sealed: its entry never changes again.
    Ended {
        session: SessionId,
        reason: EndReason,
        at_ms: u64,
    },
    /// A node is alive (every few seconds) or stopping: the sessions it holds are live only
    /// while it is.
    Node {
        node: String,
        at_ms: u64,
        stopping: bool,
    },
    /// The session was erased: forget it. Written to a generation as it is closed for a rewrite
    /// without the session, so that nodes folding that generation drop what they know at once.
    Erased { session: SessionId, at_ms: u64 },
}

fn bounded_metadata(metadata: BTreeMap<String, String>) -> BTreeMap<String, String> {
    metadata
        .into_iter()
        .take(MAX_DIRECTORY_METADATA)
        .map(|(k, v)| {
            (
                clip(&k, MAX_NAME_BYTES),
                clip(&v, MAX_DIRECTORY_FIELD_BYTES),
            )
        })
        .collect()
}

fn bounded(text: String) -> String {
    clip(&text, MAX_DIRECTORY_FIELD_BYTES)
}

impl DirectoryRecord {
    /// The record with every field within its cap, so that no record is too large to append
    /// (a metadata event may be as large as any event) and what the index keeps is bounded.
    pub fn bounded(self) -> Self {
        match self {
            DirectoryRecord::Started {
                session,
                project,
                node,
                at_ms,
                tab,
                mut page,
                user_id,
                metadata,
            } => {
                page.url = bounded(page.url);
                page.referrer = page.referrer.map(bounded);
                page.title = page.title.map(bounded);
                page.user_agent = bounded(page.user_agent);
                DirectoryRecord::Started {
                    session,
                    project: clip(&project, MAX_NAME_BYTES),
                    node: clip(&node, MAX_NAME_BYTES),
                    at_ms,
                    tab: clip(&tab, MAX_NAME_BYTES),
                    page,
                    user_id: user_id.map(bounded),
                    metadata: bounded_metadata(metadata),
                }
            }
            DirectoryRecord::Page {
                session,
                tab,
                url,
                at_ms,
            } => DirectoryRecord::Page {
                session,
                tab: clip(&tab, MAX_NAME_BYTES),
                url: bounded(url),
                at_ms,
            },
            DirectoryRecord::Identity {
                session,
                user_id,
                metadata,
                at_ms,
            } => DirectoryRecord::Identity {
                session,
                user_id: user_id.map(bounded),
                metadata: bounded_metadata(metadata),
                at_ms,
            },
            other => other,
        }
    }

    /// The session the record is about; `None` for a node's heartbeat.
    pub fn session(&self) -> Option<SessionId> {
        match self {
            DirectoryRecord::Started { session, .. }
            | DirectoryRecord::Claimed { session, .. }
            | DirectoryRecord::Page { session, .. }
            | DirectoryRecord::TabClosed { session, .. }
            | DirectoryRecord::Identity { session, .. }
            | DirectoryRecord::ConsoleError { session, .. }
            | DirectoryRecord::Ended { session, .. }
            | DirectoryRecord::Erased { session, .. } => Some(*session),
            DirectoryRecord::Node { .. } => None,
        }
    }

    /// When it happened, by the clock of the node that wrote it.
    pub fn at_ms(&self) -> u64 {
        match self {
            DirectoryRecord::Started { at_ms, .. }
            | DirectoryRecord::Claimed { at_ms, .. }
            | DirectoryRecord::Page { at_ms, .. }
            | DirectoryRecord::TabClosed { at_ms, .. }
            | DirectoryRecord::Identity { at_ms, .. }
            | DirectoryRecord::ConsoleError { at_ms, .. }
            | DirectoryRecord::Ended { at_ms, .. }
            | DirectoryRecord::Node { at_ms, .. }
            | DirectoryRecord::Erased { at_ms, .. } => *at_ms,
        }
    }
}
