//! Sessions nobody would end: their node stopped or died, and their tracker never came back to
//! any node. A room ends its session after `--idle-timeout` without a tracker, but a room lives
//! on one node; when that node is gone, so is the timer. So every node looks, every few seconds,
//! for sessions the directory shows neither live nor ended whose node has been silent for longer
//! than the idle timeout, and ends them as their room would have: unless the stream was written
//! within the idle timeout and a heartbeat (a writer alive whose directory heartbeats did not
//! arrive), it claims the stream (fenced, so a tracker that reconnects elsewhere at the same
//! moment wins or loses cleanly), seals it with an `end` record (`idle`), and tells the
//! directory.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::rooms::Rooms;
use crate::clock::now_ms;
use crate::directory::Directory;
use crate::protocol::directory::DirectoryRecord;
use crate::protocol::{EndReason, RecordKind, SessionEnd, SessionId};
use crate::store::frame::Event;
use crate::store::stream::StoreError;

/// How often a node looks, at most (and at least as often as the idle timeout).
const EVERY: Duration = Duration::from_secs(10);
/// Sessions ended per look at most, so that a node that finds thousands (a large node died)
/// spreads the work.
const PER_ROUND: usize = 100;

/// Ends orphaned sessions until shutdown.
pub fn spawn(
    rooms: Arc<Rooms>,
    directory: Directory,
    idle_timeout: Duration,
    heartbeat: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = EVERY.min(idle_timeout).max(Duration::from_millis(100));
        // Nodes started together do not all look at the same moment.
        let jitter = Duration::from_millis(rand::random_range(0..every.as_millis() as u64));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + jitter, every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => return,
            }
            if !directory.is_ready() {
                continue;
            }
            let silent_for = idle_timeout.as_millis() as u64;
            // A writer that is alive writes at least a heartbeat this often, whatever the
            // directory heard of its node.
            let quiet_for = silent_for + heartbeat.as_millis() as u64;
            for id in directory.orphans(now_ms(), silent_for, PER_ROUND) {
                if rooms.get(id).is_some_and(|room| room.holds_session()) {
                    continue;
                }
                match end_orphan(&rooms, id, quiet_for).await {
                    Ok(None) => {}
                    Ok(Some(end)) => {
                        info!(session = %id, "ended a session whose node went away");
                        directory.writer().record(DirectoryRecord::Ended {
                            session: id,
                            reason: end.reason,
                            at_ms: end.ended_ms,
                        });
                    }
                    Err(e) => warn!(session = %id, error = %e, "could not end an orphaned session"),
                }
            }
        }
    })
}

/// Claims and seals the session's stream; its `end` (an earlier one, if it had ended already), or
/// `None` if the stream was written within `quiet_ms` (its writer is alive after all).
async fn end_orphan(
    rooms: &Rooms,
    id: SessionId,
    quiet_ms: u64,
) -> Result<Option<SessionEnd>, StoreError> {
    let stream = rooms.store().session(id);
    if now_ms().saturating_sub(stream.tail().await?.timestamp) < quiet_ms {
        return Ok(None);
    }
    // S2 takes fencing tokens of at most 36 bytes.
    let token = format!("orphan-{:016x}", rand::random::<u64>());
    let now = now_ms();
    let first = Event::server(RecordKind::Heartbeat, &serde_json::json!({}));
    match stream.claim(&first, &token, now).await {
        Ok(_) => {}
        Err(StoreError::Ended { end: Some(end), .. }) => return Ok(Some(end)),
        Err(e) => return Err(e),
    }
    let end = SessionEnd {
        reason: EndReason::Idle,
        ended_ms: now,
    };
    stream
        .seal(&Event::server(RecordKind::End, &end), &token, now)
        .await?;
    Ok(Some(end))
}
