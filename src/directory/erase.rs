//! Erasing a session from the directory: its day is rewritten without it into a new generation,
//! and the old generations are deleted, so that no directory stream holds its user id, metadata
//! or pages any more (docs/architecture.md, "Erasure").
//!
//! 1. Open generation `n + 1` and write an `erased` record there first: nodes following it drop
//!    the session and never take it back.
//! 2. Close every older generation with an `erased` record and the fence `closed`: nodes folding
//!    it drop the session at once, and a node still appending there fails, looks again, and
//!    appends to `n + 1` instead.
//! 3. Copy every record of the old generations to `n + 1`, without the erased sessions' (this
//!    one's, and any a rewrite that died half-way left `erased` records for) and without
//!    duplicates, signed afresh.
//! 4. Delete the old generations.
//!
//! Two rewrites of one day at once close each other's new generation; the one whose copy fails
//! starts again from the generations that exist then, which hold the other's `erased` records.

use std::collections::HashSet;

use bytes::Bytes;

use super::days::{CLOSED, DayStreams, day_of, stream_name};
use crate::clock::now_ms;
use crate::protocol::SessionId;
use crate::protocol::directory::DirectoryRecord;
use crate::seal::Seal;
use crate::store::{AppendCondition, AppendItem, BackendError};

/// Rewrites tried before the erasure gives up (each fails only if another one runs meanwhile).
const ATTEMPTS: usize = 5;

/// Rewrites `session`'s day without it.
pub async fn erase(days: &DayStreams, seal: &Seal, session: SessionId) -> Result<(), BackendError> {
    let day = day_of(session.created_ms());
    let mut last_error = None;
    for _ in 0..ATTEMPTS {
        let old = days.list().await?.remove(&day).unwrap_or_default();
        let Some(newest) = old.last().copied() else {
            return Ok(());
        };
        match rewrite(days, seal, session, &day, &old, newest + 1).await {
            Ok(()) => return Ok(()),
            Err(BackendError::FencingMismatch) => {
                last_error = Some(BackendError::FencingMismatch);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or(BackendError::FencingMismatch))
}

fn marker(seal: &Seal, session: SessionId) -> Bytes {
    let record = DirectoryRecord::Erased {
        session,
        at_ms: now_ms(),
    };
    seal.seal_record(&record, now_ms())
}

async fn rewrite(
    days: &DayStreams,
    seal: &Seal,
    session: SessionId,
    day: &str,
    old: &[u32],
    new: u32,
) -> Result<(), BackendError> {
    let backend = days.streams().backend();
    let target = stream_name(day, new);
    days.open(day, new).await?;
    let open = AppendCondition {
        fencing_token: Some("open".into()),
        match_seq_num: None,
    };
    let data = |body: Bytes| AppendItem::Data {
        body,
        timestamp: None,
    };
    backend
        .append(&target, vec![data(marker(seal, session))], open.clone())
        .await?;
    for generation in old {
        let close = vec![
            data(marker(seal, session)),
            AppendItem::Fence {
                token: CLOSED.into(),
                timestamp: None,
            },
        ];
        match backend
            .append(&stream_name(day, *generation), close, open.clone())
            .await
        {
            // Closed already (a rewrite that died half-way), or deleted by one that finished.
            Ok(_) | Err(BackendError::FencingMismatch | BackendError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let mut erased = HashSet::from([session]);
    let mut kept: Vec<(Vec<u8>, Option<SessionId>)> = Vec::new();
    for generation in old {
        let name = stream_name(day, *generation);
        let mut next = 0;
        loop {
            let records = match days.read(&name, next).await {
                Ok(records) => records,
                Err(BackendError::NotFound(_)) => break,
                Err(e) => return Err(e),
            };
            let Some(last) = records.last() else { break };
            next = last.seq_num + 1;
            for stored in &records {
                let Ok(payload) = seal.open(&stored.body, stored.timestamp) else {
                    continue;
                };
                let Ok(record) = crate::protocol::from_msgpack::<DirectoryRecord>(payload) else {
                    continue;
                };
                if let DirectoryRecord::Erased { session, .. } = record {
                    erased.insert(session);
                    continue;
                }
                kept.push((payload.to_vec(), record.session()));
            }
        }
    }
    let mut seen = HashSet::new();
    let signed_ms = now_ms();
    let bodies: Vec<AppendItem> = kept
        .into_iter()
        .filter(|(_, session)| session.is_none_or(|s| !erased.contains(&s)))
        .filter(|(payload, _)| seen.insert(payload.clone()))
        .map(|(payload, _)| data(seal.seal(&payload, signed_ms)))
        .collect();
    days.streams().append_all(&target, bodies, open).await?;
    for generation in old {
        match backend.delete_stream(&stream_name(day, *generation)).await {
            Ok(()) | Err(BackendError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
