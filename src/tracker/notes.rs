//! What a tracker's events say about the session, kept for the session list: who the user is,
//! which page each tab is on, whether the page logged errors. The room keeps it for this node;
//! the session directory gets a record for every node.

use std::collections::BTreeMap;

use crate::clock::now_ms;
use crate::directory::writer::DirectoryWriter;
use crate::protocol::TrackerEventKind;
use crate::protocol::directory::DirectoryRecord;
use crate::session::room::{Room, RoomInfo};

/// Page and identity records one session may add to the directory through this node: a real user
/// navigates and identifies far fewer times; a page that loops is not let to fill the directory.
pub const MAX_DIRECTORY_NOTES: u32 = 1000;

/// Counts one more record of the session for the directory; false once it had its share.
fn take_note(info: &mut RoomInfo) -> bool {
    info.directory_notes += 1;
    info.directory_notes <= MAX_DIRECTORY_NOTES
}

/// Keeps the room's view of the user current, and tells the session directory.
pub fn note_identity(
    room: &Room,
    directory: &DirectoryWriter,
    kind: TrackerEventKind,
    body: &[u8],
) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let mut user_id = None;
    let mut metadata = BTreeMap::new();
    match kind {
        TrackerEventKind::Identify => {
            user_id = value
                .get("user_id")
                .and_then(|u| u.as_str())
                .map(str::to_string);
        }
        TrackerEventKind::Metadata => {
            if let Some(map) = value.get("metadata").and_then(|m| m.as_object()) {
                for (k, v) in map {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    metadata.insert(k.clone(), v);
                }
            }
        }
        TrackerEventKind::Rrweb => return,
    }
    if user_id.is_none() && metadata.is_empty() {
        return;
    }
    let mut noted = false;
    room.update_info(|info| {
        if let Some(user) = &user_id {
            info.user_id = Some(user.clone());
        }
        info.metadata.extend(metadata.clone());
        noted = take_note(info);
    });
    if !noted {
        return;
    }
    directory.record(DirectoryRecord::Identity {
        session: room.id,
        user_id,
        metadata,
        at_ms: now_ms(),
    });
}

/// What an rrweb event tells the session directory: a `meta` event (type 4, written with every
/// full snapshot and navigation) names the tab's page; a console plugin event (type 6) at level
/// `error` marks the session as having errors. Both are found from the event's first bytes (the
/// tracker serializes `type` first), so other events cost a prefix comparison.
pub fn note_rrweb(room: &Room, directory: &DirectoryWriter, tab: &str, body: &[u8]) {
    if body.starts_with(br#"{"type":6,"#) {
        let has = |needle: &[u8]| memchr::memmem::find(body, needle).is_some();
        if has(b"rrweb/console@1") && has(br#""level":"error""#) {
            let mut first = false;
            room.update_info(|info| first = !std::mem::replace(&mut info.console_errors, true));
            if first {
                directory.record(DirectoryRecord::ConsoleError {
                    session: room.id,
                    at_ms: now_ms(),
                });
            }
        }
        return;
    }
    if !body.starts_with(br#"{"type":4,"#) {
        return;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let Some(href) = value.pointer("/data/href").and_then(|h| h.as_str()) else {
        return;
    };
    let mut moved = false;
    room.update_info(|info| {
        if let Some(page) = info.tabs.get_mut(tab)
            && page.url != href
        {
            page.url = href.to_string();
            info.url = Some(href.to_string());
            moved = take_note(info);
        }
    });
    if moved {
        directory.record(DirectoryRecord::Page {
            session: room.id,
            tab: tab.to_string(),
            url: href.to_string(),
            at_ms: now_ms(),
        });
    }
}
