//! What an agent reads: a session from any starting point, then live, reassembled and
//! deduplicated. A subscription first catches up with plain reads of its own, then follows the
//! session's live [`Feed`] on this node (fed by the writer where this node writes the session,
//! by one shared S2 read session elsewhere), skipping what it already has and filling any gap
//! with another read, so no event is missed or repeated wherever the feed switches source.

use std::sync::Arc;

use tokio::sync::broadcast;
use tracing::warn;

use crate::protocol::SessionId;
use crate::protocol::{DeliveredEvent, RecordKind};
use crate::store::feed::{Feed, FeedBatch};
use crate::store::frame::{Dedup, Reassembler, StoredEvent};
use crate::store::stream::{Landed, SessionStream, StoreError};
use crate::store::{ReadFrom, StoredRecord};

const CATCH_UP_RECORDS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum TailError {
    #[error("agent fell behind the live stream; reconnect with from_seq={resume_from}")]
    TooSlow { resume_from: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the live tail of this session stopped; reconnect with from_seq={resume_from}")]
    FeedClosed { resume_from: u64 },
}

/// What a subscription yields.
#[derive(Debug)]
pub enum TailItem {
    Events(Vec<StoredEvent>),
    /// Everything stored before the subscription began has been delivered; `next_seq` is where
    /// live delivery continues.
    CaughtUp {
        next_seq: u64,
    },
}

pub struct Subscription {
    id: SessionId,
    stream: SessionStream,
    feed: Arc<Feed>,
    live: Option<broadcast::Receiver<FeedBatch>>,
    next: u64,
    reassembler: Reassembler,
    dedup: Dedup,
    caught_up: bool,
    ended: bool,
}

impl Subscription {
    /// Starts at sequence number `from` (resolve timestamps and "live" before).
    pub fn new(stream: SessionStream, feed: Arc<Feed>, from: u64) -> Self {
        Self {
            id: stream.id(),
            reassembler: stream.reassembler(),
            stream,
            feed,
            live: None,
            next: from,
            dedup: Dedup::new(),
            caught_up: false,
            ended: false,
        }
    }

    /// Where to resume after a disconnect: the next record, or the first part of an event
    /// only partly read.
    pub fn next_seq(&self) -> u64 {
        self.reassembler.pending_from().unwrap_or(self.next)
    }

    /// The next events, `None` once the session's `end` record has been delivered.
    pub async fn next(&mut self) -> Result<Option<TailItem>, TailError> {
        loop {
            if self.ended {
                return Ok(None);
            }
            if !self.caught_up {
                if self.live.is_none() {
                    // Subscribe before the catch-up reads, so nothing written meanwhile is lost.
                    self.live = Some(self.feed.subscribe());
                }
                let records = self
                    .stream
                    .read(ReadFrom::SeqNum(self.next), CATCH_UP_RECORDS)
                    .await?;
                if records.is_empty() {
                    self.caught_up = true;
                    // Starting after the `end` record: there is nothing left to follow.
                    let tail = self.stream.tail().await?;
                    self.ended = self.stream.end_record(tail.seq_num).await?.is_some();
                    return Ok(Some(TailItem::CaughtUp {
                        next_seq: self.next,
                    }));
                }
                let events = self.absorb(&records);
                if !events.is_empty() {
                    return Ok(Some(TailItem::Events(events)));
                }
                continue;
            }
            let live = self.live.as_mut().expect("subscribed during catch-up");
            let batch = match live.recv().await {
                Ok(batch) => batch,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Err(TailError::TooSlow {
                        resume_from: self.next_seq(),
                    });
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(TailError::FeedClosed {
                        resume_from: self.next_seq(),
                    });
                }
            };
            let records = match batch.as_ref() {
                Landed::Records(records) => records,
                // Only a read says what landed: read up to its end.
                Landed::Unknown { end, .. } => {
                    let events = self.fill_gap(*end).await?;
                    if !events.is_empty() {
                        return Ok(Some(TailItem::Events(events)));
                    }
                    continue;
                }
            };
            let fresh = match records.iter().position(|r| r.seq_num >= self.next) {
                Some(at) => &records[at..],
                None => continue,
            };
            let mut events = self.fill_gap(fresh[0].seq_num).await?;
            events.extend(self.absorb(fresh));
            if !events.is_empty() {
                return Ok(Some(TailItem::Events(events)));
            }
        }
    }

    /// Reads what lies between the catch-up's end and the shared tail's first record.
    async fn fill_gap(&mut self, until: u64) -> Result<Vec<StoredEvent>, TailError> {
        let mut events = Vec::new();
        while self.next < until {
            let records = self
                .stream
                .read(ReadFrom::SeqNum(self.next), CATCH_UP_RECORDS)
                .await?;
            let records: Vec<StoredRecord> =
                records.into_iter().filter(|r| r.seq_num < until).collect();
            if records.is_empty() {
                self.next = until;
                break;
            }
            events.extend(self.absorb(&records));
        }
        Ok(events)
    }

    fn absorb(&mut self, records: &[StoredRecord]) -> Vec<StoredEvent> {
        let mut events = Vec::new();
        for record in records {
            if self.ended {
                break;
            }
            self.next = record.seq_num + 1;
            match self
                .reassembler
                .push(record.seq_num, record.timestamp, &record.body)
            {
                Ok(Some(stored)) if self.dedup.admit(&stored.event) => {
                    self.ended = stored.event.kind == RecordKind::End;
                    events.push(stored);
                }
                Ok(_) => {}
                Err(e) => warn!(session = %self.id, error = %e, "skipping unreadable record"),
            }
        }
        events
    }
}

impl From<StoredEvent> for DeliveredEvent {
    fn from(stored: StoredEvent) -> Self {
        DeliveredEvent {
            seq_num: stored.seq_num,
            ts: stored.timestamp,
            kind: stored.event.kind,
            tab: stored.event.tab,
            client_seq: stored.event.seq,
            client_ts: stored.event.ts,
            data: serde_bytes::ByteBuf::from(stored.event.body.to_vec()),
        }
    }
}
