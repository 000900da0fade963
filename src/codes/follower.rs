//! Folds `cluster/codes` into this node's book: from the longer of the lock-out window and a code's
//! lifetime before now at start (what is older no longer decides anything), then every record as it lands. It says how far it has folded, so
//! a node can wait until its book includes a record it appended, or the stream's tail, before it
//! decides: that is what makes a node's answer include what every other node wrote.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::CODE_STREAM;
use super::book::{CodeBook, CodeUse};
use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::protocol::codes::CodeRecord;
use crate::seal::Seal;
use crate::store::{ReadFrom, StoredRecord, Streams};

/// What the follower keeps current and the handlers read.
pub(super) struct Folded {
    pub book: Mutex<CodeBook>,
    /// The sequence number after the last record folded.
    pub next: watch::Sender<u64>,
    /// Uses that took effect, for the node holding the session to record.
    pub uses: broadcast::Sender<CodeUse>,
    pub seal: Seal,
    pub metrics: Arc<Metrics>,
}

impl Folded {
    fn fold(&self, records: &[StoredRecord]) {
        let Some(last) = records.last() else {
            return;
        };
        let mut uses = Vec::new();
        {
            let mut book = self.book.lock().expect("lock");
            for stored in records {
                let record = self
                    .seal
                    .open_record::<CodeRecord>(&stored.body, stored.timestamp);
                match record {
                    Ok(record) => uses.extend(book.apply(stored.seq_num, &record)),
                    Err(why) => {
                        self.metrics
                            .rejected
                            .with_label_values(&[&why.metric_reason("codes")])
                            .inc();
                        debug!(error = %why, "help code record dropped");
                    }
                }
            }
            book.prune(now_ms());
        }
        self.next.send_replace(last.seq_num + 1);
        for used in uses {
            // No listener is no error: a node with no rooms records nothing.
            let _ = self.uses.send(used);
        }
    }
}

/// Follows the stream until `shutdown`, from `horizon` before now.
pub(super) fn spawn(
    streams: Streams,
    folded: Arc<Folded>,
    horizon: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let since = now_ms().saturating_sub(horizon.as_millis() as u64);
        let mut from = ReadFrom::Timestamp(since);
        // Records before the horizon are not folded; the book is current up to them.
        if let Ok(first) = streams.backend().read(CODE_STREAM, from, 1).await {
            let start = match first.first() {
                Some(record) => record.seq_num,
                None => streams
                    .backend()
                    .check_tail(CODE_STREAM)
                    .await
                    .map_or(0, |p| p.seq_num),
            };
            folded.next.send_replace(start);
            from = ReadFrom::SeqNum(start);
        }
        loop {
            let follow = tokio::select! {
                follow = streams.backend().follow(CODE_STREAM, from) => follow,
                _ = shutdown.cancelled() => return,
            };
            match follow {
                Ok(mut batches) => loop {
                    let batch = tokio::select! {
                        batch = batches.next() => batch,
                        _ = shutdown.cancelled() => return,
                    };
                    match batch {
                        Some(Ok(records)) => {
                            folded.fold(&records);
                            from = ReadFrom::SeqNum(*folded.next.borrow());
                        }
                        Some(Err(e)) => {
                            debug!(error = %e, "help codes follow interrupted");
                            break;
                        }
                        None => break,
                    }
                },
                Err(e) => warn!(error = %e, "could not follow the help codes; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    })
}
