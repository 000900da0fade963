//! The session list, read from S2 alone: stream names give ids and order; each session's first
//! record says who and where, its last records say whether it ended and when it was last active.
//! Rooms on this node add what only they know (open tabs, the current page).

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};

use crate::clock::now_ms;
use crate::protocol::SessionId;
use crate::protocol::{
    Activity, AgentRecord, RecordKind, SessionPage, SessionStart, SessionSummary,
};
use crate::session::rooms::Rooms;
use crate::store::stream::{SessionStream, StoreError, read_all};

/// Sessions summarized at once while listing.
const CONCURRENCY: usize = 16;
/// Streams examined per request at most when filtering, so a request stays bounded.
const MAX_SCAN: usize = 1000;

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub limit: usize,
    pub after: Option<SessionId>,
    pub live_only: bool,
    /// Case-insensitive substring of the user id, URL or a metadata value.
    pub search: Option<String>,
}

/// Summarizes one session.
pub async fn summarize(
    rooms: &Rooms,
    id: SessionId,
    live_window: Duration,
) -> Result<SessionSummary, StoreError> {
    let stream = rooms.store().session(id);
    let tail = stream.tail().await?;
    let start = stream
        .first_event(0)
        .await?
        .filter(|e| e.event.kind == RecordKind::Start)
        .and_then(|e| serde_json::from_slice::<SessionStart>(&e.event.body).ok());
    let end = stream.end_record(tail.seq_num).await?;
    let room = rooms.get(id);
    let room_info = room.as_ref().map(|r| r.info());
    let mut summary = SessionSummary {
        id,
        started_ms: id.created_ms(),
        last_activity_ms: tail.timestamp,
        url: String::new(),
        user_id: None,
        metadata: Default::default(),
        user_agent: String::new(),
        viewport: Default::default(),
        tabs: Vec::new(),
        live: false,
        ended_ms: end.as_ref().map(|e| e.ended_ms),
        end_reason: end.as_ref().map(|e| e.reason),
        records: tail.seq_num,
        call: room.as_ref().is_some_and(|r| r.call_running()),
    };
    if let Some(start) = start {
        summary.url = start.page.url;
        summary.user_agent = start.page.user_agent;
        summary.viewport = start.page.viewport;
        summary.user_id = start.user_id;
        summary.metadata = start.metadata;
        summary.tabs = vec![start.tab];
    }
    if let Some(info) = room_info {
        if let Some(url) = info.url {
            summary.url = url;
        }
        if !info.tabs.is_empty() {
            summary.tabs = info.tabs.keys().cloned().collect();
        }
        summary.user_id = info.user_id.or(summary.user_id);
        summary.metadata.extend(info.metadata);
    }
    let writing_here = room.as_ref().is_some_and(|r| r.holds_session());
    let recent = now_ms().saturating_sub(tail.timestamp) < live_window.as_millis() as u64;
    summary.live = end.is_none() && (writing_here || recent);
    Ok(summary)
}

/// One page of the session list, newest first.
pub async fn list(
    rooms: &Rooms,
    query: &ListQuery,
    live_window: Duration,
) -> Result<SessionPage, StoreError> {
    let limit = query.limit.clamp(1, 200);
    let filtering = query.live_only || query.search.is_some();
    let mut sessions = Vec::new();
    let mut after = query.after;
    let mut scanned = 0;
    loop {
        let page_size = if filtering {
            100
        } else {
            limit - sessions.len()
        };
        let (ids, has_more) = rooms.store().list_sessions(after, page_size).await?;
        scanned += ids.len();
        let summaries: Vec<Option<SessionSummary>> = futures::stream::iter(ids.clone())
            .map(|id| async move {
                match summarize(rooms, id, live_window).await {
                    // Deleted (by retention) between the listing and now: not a session any more.
                    Err(StoreError::NotFound(_)) => Ok(None),
                    other => other.map(Some),
                }
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        for (id, summary) in ids.iter().zip(summaries) {
            after = Some(*id);
            let Some(summary) = summary else { continue };
            if matches(&summary, query) {
                sessions.push(summary);
                if sessions.len() == limit {
                    return Ok(SessionPage {
                        sessions,
                        next_cursor: Some(id.to_string()),
                    });
                }
            }
        }
        if !has_more {
            return Ok(SessionPage {
                sessions,
                next_cursor: None,
            });
        }
        if scanned >= MAX_SCAN {
            return Ok(SessionPage {
                sessions,
                next_cursor: after.map(|a| a.to_string()),
            });
        }
    }
}

fn matches(summary: &SessionSummary, query: &ListQuery) -> bool {
    if query.live_only && !summary.live {
        return false;
    }
    let Some(needle) = query.search.as_deref().map(str::to_lowercase) else {
        return true;
    };
    let hit = |s: &str| s.to_lowercase().contains(&needle);
    summary.user_id.as_deref().is_some_and(hit)
        || hit(&summary.url)
        || hit(&summary.id.to_string())
        || summary.metadata.values().any(|v| hit(v))
}

/// What agents asked and did in a session: its `agent` records, in order. Reads the whole
/// stream; only the detail route asks for it.
pub async fn activity(stream: &SessionStream) -> Result<Vec<Activity>, StoreError> {
    let events = read_all(stream, 0).await?;
    events
        .try_filter_map(|stored| async move {
            if stored.event.kind != RecordKind::Agent {
                return Ok(None);
            }
            Ok(serde_json::from_slice::<AgentRecord>(&stored.event.body)
                .ok()
                .map(|record| Activity {
                    ts: stored.timestamp,
                    record,
                }))
        })
        .try_collect()
        .await
}
