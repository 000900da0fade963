//! What an agent reads: a session from any starting point, then live, reassembled and
//! deduplicated. A subscription first catches up with plain reads of its own, then follows the
//! room's shared tail ([`crate::room::Room::subscribe`]), skipping what it already has and
//! filling any gap between the two with another read, so no event is missed or repeated.

use std::sync::Arc;

use s2_sdk::types::{ReadFrom, SequencedRecord};
use tokio::sync::broadcast;
use tracing::warn;

use crate::frame::{Dedup, Reassembler, StoredEvent};
use crate::protocol::{DeliveredEvent, RecordKind};
use crate::room::{FeedBatch, Room};
use crate::stream::{SessionStream, StoreError};

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
    room: Arc<Room>,
    stream: SessionStream,
    feed: Option<broadcast::Receiver<FeedBatch>>,
    next: u64,
    reassembler: Reassembler,
    dedup: Dedup,
    caught_up: bool,
    ended: bool,
}

impl Subscription {
    /// Starts at sequence number `from` (resolve timestamps and "live" before).
    pub fn new(room: Arc<Room>, from: u64) -> Self {
        let stream = room.stream().clone();
        Self {
            room,
            stream,
            feed: None,
            next: from,
            reassembler: Reassembler::new(),
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
                if self.feed.is_none() {
                    // Subscribe before the catch-up reads, so nothing written meanwhile is lost.
                    self.feed = Some(self.room.subscribe());
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
            let feed = self.feed.as_mut().expect("subscribed during catch-up");
            let batch = match feed.recv().await {
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
            let fresh: Vec<SequencedRecord> = batch
                .iter()
                .filter(|r| r.seq_num >= self.next)
                .cloned()
                .collect();
            let Some(first) = fresh.first().map(|r| r.seq_num) else {
                continue;
            };
            let mut events = self.fill_gap(first).await?;
            events.extend(self.absorb(&fresh));
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
            let records: Vec<SequencedRecord> =
                records.into_iter().filter(|r| r.seq_num < until).collect();
            if records.is_empty() {
                self.next = until;
                break;
            }
            events.extend(self.absorb(&records));
        }
        Ok(events)
    }

    fn absorb(&mut self, records: &[SequencedRecord]) -> Vec<StoredEvent> {
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
                Err(e) => warn!(session = %self.room.id, error = %e, "skipping unreadable record"),
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
