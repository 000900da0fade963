//! One session read from its stream, for the detail route: what agents did in it, and its summary
//! when the session directory does not know it (a session written before the directory existed,
//! or by a node whose directory record has not arrived yet). The session list never reads
//! streams: it is answered from the directory ([`crate::directory`]).

use futures::TryStreamExt;

use crate::protocol::SessionId;
use crate::protocol::{Activity, AgentRecord, RecordKind, SessionSummary};
use crate::session::rooms::Rooms;
use crate::store::stream::{SessionStream, StoreError, read_all};

/// Summarizes one session from its stream's first and last records.
pub async fn summarize(rooms: &Rooms, id: SessionId) -> Result<SessionSummary, StoreError> {
    let stream = rooms.store().session(id);
    let tail = stream.tail().await?;
    let start = stream.start().await?;
    let end = stream.end_record(tail.seq_num).await?;
    let room = rooms.get(id);
    let room_info = room.as_ref().map(|r| r.info());
    let mut summary = SessionSummary {
        id,
        project: String::new(),
        browser: String::new(),
        console_errors: false,
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
        summary.project = start.project_key;
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
    summary.live = end.is_none() && room.as_ref().is_some_and(|r| r.holds_session());
    summary.browser = crate::directory::browser::family(&summary.user_agent).to_string();
    Ok(summary)
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
