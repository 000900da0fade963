//! The directory's streams: one per UTC day of session creation, `cluster/directory/<day>/<gen>`.
//!
//! A session's records all go to the stream of the day it was created, so retention drops a
//! whole day at once and erasing a session rewrites one day. A rewrite writes a new generation
//! (`<gen>` + 1) and deletes the old ones. Appends present the fencing token `open`; a rewrite
//! closes the generations it replaces with another token, so a node still appending there fails,
//! looks again, and appends to the new one: nothing written meanwhile is lost.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::store::{
    AppendCondition, AppendItem, BackendError, ReadFrom, StoredRecord, StreamSettings, Streams,
};

/// Prefix of every directory stream.
pub const PREFIX: &str = "cluster/directory/";
/// The token every append to an open generation presents.
const OPEN: &str = "open";
/// The token a rewrite closes a generation with.
pub(super) const CLOSED: &str = "closed";
/// Records read from a stream per request.
pub(super) const READ_CHUNK: usize = 1000;
/// Tries of an append that found its generation closed or missing before it gives up for now.
const APPEND_TRIES: usize = 8;

/// `YYYY-MM-DD` (UTC) of `ms` since the epoch.
pub fn day_of(ms: u64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(at).to_string()[..10].to_string()
}

/// The name of a day's generation.
pub fn stream_name(day: &str, generation: u32) -> String {
    format!("{PREFIX}{day}/{generation:06}")
}

/// The day and generation a directory stream's name holds.
pub fn parse_name(name: &str) -> Option<(String, u32)> {
    let rest = name.strip_prefix(PREFIX)?;
    let (day, generation) = rest.split_once('/')?;
    let valid_day = day.len() == 10
        && day.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !valid_day || generation.len() != 6 {
        return None;
    }
    Some((day.to_string(), generation.parse().ok()?))
}

/// The directory's streams in the deployment's basin.
#[derive(Clone)]
pub struct DayStreams {
    streams: Streams,
    settings: StreamSettings,
}

impl DayStreams {
    /// `retention` is how long session streams are kept; a day stream keeps its records a day
    /// longer, so a session's entry outlives its stream rather than the other way round.
    pub fn new(streams: Streams, retention: Duration) -> Self {
        Self {
            streams,
            settings: StreamSettings {
                retention: retention + Duration::from_secs(86_400),
                delete_on_empty_after: Duration::from_secs(86_400),
            },
        }
    }

    /// Every directory stream, by day, generations ascending.
    pub async fn list(&self) -> Result<BTreeMap<String, Vec<u32>>, BackendError> {
        let mut days: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        let mut after: Option<String> = None;
        loop {
            let (names, more) = self
                .streams
                .backend()
                .list_streams(PREFIX, after.as_deref(), 1000)
                .await?;
            for name in &names {
                if let Some((day, generation)) = parse_name(name) {
                    days.entry(day).or_default().push(generation);
                }
            }
            match names.last() {
                Some(last) if more => after = Some(last.clone()),
                _ => break,
            }
        }
        for generations in days.values_mut() {
            generations.sort_unstable();
        }
        Ok(days)
    }

    /// Creates a day's generation and opens it for appends, unless that is done already.
    pub async fn open(&self, day: &str, generation: u32) -> Result<(), BackendError> {
        let name = stream_name(day, generation);
        let backend = self.streams.backend();
        match backend.create_stream(&name, self.settings).await {
            Ok(()) | Err(BackendError::AlreadyExists(_)) => {}
            Err(e) => return Err(e),
        }
        // Only the first record may open it: a generation closed since is never reopened.
        let fence = AppendItem::Fence {
            token: OPEN.into(),
            timestamp: None,
        };
        let first = AppendCondition {
            fencing_token: None,
            match_seq_num: Some(0),
        };
        match backend.append(&name, vec![fence], first).await {
            Ok(_) | Err(BackendError::SeqNumMismatch(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The generation of `day` to append to: the newest, created (and opened) if the day has none.
    async fn current(&self, day: &str) -> Result<u32, BackendError> {
        let prefix = format!("{PREFIX}{day}/");
        let (names, _) = self
            .streams
            .backend()
            .list_streams(&prefix, None, 1000)
            .await?;
        let newest = names
            .iter()
            .filter_map(|n| parse_name(n))
            .map(|(_, g)| g)
            .max();
        match newest {
            Some(generation) => Ok(generation),
            None => {
                self.open(day, 0).await?;
                Ok(0)
            }
        }
    }

    /// Appends signed bodies to `day`'s current generation, in order, in as many batches as S2's
    /// limits need; follows the day to a new generation when a rewrite closed the old one.
    pub async fn append(
        &self,
        day: &str,
        generation: &mut Option<u32>,
        bodies: &[Bytes],
    ) -> Result<(), BackendError> {
        let mut tries = 0;
        let mut sent = 0;
        while sent < bodies.len() {
            let current = match *generation {
                Some(g) => g,
                None => {
                    let g = self.current(day).await?;
                    *generation = Some(g);
                    g
                }
            };
            let items: Vec<AppendItem> = bodies[sent..]
                .iter()
                .map(|body| AppendItem::Data {
                    body: body.clone(),
                    timestamp: None,
                })
                .collect();
            let condition = AppendCondition {
                fencing_token: Some(OPEN.into()),
                match_seq_num: None,
            };
            let name = stream_name(day, current);
            match self.streams.append_all(&name, items, condition).await {
                Ok(_) => sent = bodies.len(),
                Err(BackendError::FencingMismatch | BackendError::NotFound(_))
                    if tries < APPEND_TRIES =>
                {
                    // Closed by a rewrite, deleted, or not opened yet: look again. A failed
                    // multi-batch append may have landed in part: the index folds duplicates.
                    tries += 1;
                    *generation = None;
                    if tries > 1 {
                        tokio::time::sleep(Duration::from_millis(25 << tries.min(5))).await;
                    }
                    if let Ok(g) = self.current(day).await {
                        // A generation that exists but was never opened (its creator died).
                        let _ = self.open(day, g).await;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Up to [`READ_CHUNK`] records of a stream from `from`; empty at the tail.
    pub async fn read(&self, name: &str, from: u64) -> Result<Vec<StoredRecord>, BackendError> {
        self.streams
            .backend()
            .read(name, ReadFrom::SeqNum(from), READ_CHUNK)
            .await
    }

    pub(super) fn streams(&self) -> &Streams {
        &self.streams
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_by_day_then_generation() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_796_601_600_000 + 3_600_000), "2026-12-07");
        let name = stream_name("2026-12-07", 3);
        assert_eq!(name, "cluster/directory/2026-12-07/000003");
        assert_eq!(parse_name(&name), Some(("2026-12-07".into(), 3)));
        assert!(stream_name("2026-12-07", 10) > stream_name("2026-12-07", 9));
        for bad in [
            "cluster/directory/2026-12-07",
            "cluster/directory/2026-12-7/000001",
            "cluster/directory/2026-12-07/1",
            "cluster/signals",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }
}
