//! Server-side call recording: while the user allows it, every track of the call is also written
//! to a file in S2 (Opus → Ogg, VP8 → IVF), flushed every second so a node dying mid-call loses
//! at most that second.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rtc::rtp;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::archive::{FileMeta, FileWriter, file_name};
use super::forward::Source;
use super::ivf::{IvfWriter, Pushed};
use super::ogg::OggWriter;
use crate::clock::now_ms;
use crate::protocol::SessionId;
use crate::protocol::{Media, Participant};
use crate::store::stream::Store;

const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// A chunk record at most (S2 takes up to 1 MiB a record).
const CHUNK_BYTES: usize = 256 * 1024;

/// One recording of a call: a file per track recorded.
pub struct Recorder {
    pub id: String,
    store: Store,
    session: SessionId,
    stop: CancellationToken,
    files: HashMap<u64, (CancellationToken, JoinHandle<()>)>,
}

/// A track to record.
pub struct Track<'a> {
    pub key: u64,
    pub participant: Participant,
    pub media: Media,
    pub canvas: Option<u32>,
    pub source: &'a Source,
}

impl Recorder {
    pub fn start(store: Store, session: SessionId) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            store,
            session,
            stop: CancellationToken::new(),
            files: HashMap::new(),
        }
    }

    /// Records `track` from now on, unless it already is.
    pub fn add(&mut self, track: Track<'_>) {
        if self.files.contains_key(&track.key) {
            return;
        }
        let stop = self.stop.child_token();
        let file = file_name(&track.participant.id, track.media, track.canvas);
        let meta = FileMeta {
            participant: track.participant,
            media: track.media,
            started_ms: now_ms(),
        };
        let job = Job {
            store: self.store.clone(),
            session: self.session,
            recording: self.id.clone(),
            file,
            meta,
        };
        let task = tokio::spawn(record(
            job,
            track.source.packets.subscribe(),
            track.source.keyframe.clone(),
            stop.clone(),
        ));
        self.files.insert(track.key, (stop, task));
    }

    /// Stops recording a track that left the call; its file is completed.
    pub fn remove(&mut self, key: u64) {
        if let Some((stop, _)) = self.files.remove(&key) {
            stop.cancel();
        }
    }

    /// Stops every file and waits until each is complete in S2.
    pub async fn stop(self) {
        self.stop.cancel();
        for (_, (_, task)) in self.files {
            let _ = task.await;
        }
    }
}

enum Container {
    Ogg(OggWriter),
    Ivf(IvfWriter),
}

impl Container {
    fn push(&mut self, packet: &rtp::Packet, out: &mut Vec<u8>) -> Pushed {
        match self {
            Self::Ogg(ogg) => {
                ogg.push(packet, out);
                Pushed::Taken
            }
            Self::Ivf(ivf) => ivf.push(packet, out),
        }
    }

    /// What the file's end record says: frames (or packets), and for video the length to
    /// write into the header.
    fn end(&self) -> (u32, u64) {
        match self {
            Self::Ogg(ogg) => (u32::try_from(ogg.packets).unwrap_or(u32::MAX), 0),
            Self::Ivf(ivf) => (ivf.frames, ivf.duration()),
        }
    }
}

/// Which file to write, and where.
struct Job {
    store: Store,
    session: SessionId,
    recording: String,
    file: String,
    meta: FileMeta,
}

async fn record(
    job: Job,
    mut packets: broadcast::Receiver<rtp::Packet>,
    keyframe: Arc<Notify>,
    stop: CancellationToken,
) {
    let Job {
        store,
        session,
        recording,
        file,
        meta,
    } = job;
    let mut container = match meta.media {
        Media::Audio => Container::Ogg(OggWriter::default()),
        Media::Video | Media::Canvas => Container::Ivf(IvfWriter::default()),
    };
    let mut writer = match FileWriter::create(&store, session, &recording, &file, &meta).await {
        Ok(writer) => writer,
        Err(e) => {
            warn!(%session, recording, file, error = %e, "could not start recording a track");
            return;
        }
    };
    keyframe.notify_one();
    let mut pending = Vec::new();
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = flush.tick() => {
                if !pending.is_empty() && writer.write(&pending).await.is_err() {
                    warn!(%session, recording, file, "recording chunk lost: S2 refused it");
                }
                pending.clear();
            }
            packet = packets.recv() => match packet {
                Ok(packet) => {
                    if container.push(&packet, &mut pending) == Pushed::NeedKeyframe {
                        keyframe.notify_one();
                    }
                    if pending.len() >= CHUNK_BYTES {
                        if writer.write(&pending).await.is_err() {
                            warn!(%session, recording, file, "recording chunk lost: S2 refused it");
                        }
                        pending.clear();
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => keyframe.notify_one(),
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    if !pending.is_empty() && writer.write(&pending).await.is_err() {
        warn!(%session, recording, file, "recording chunk lost: S2 refused it");
    }
    let (frames, duration) = container.end();
    if let Err(e) = writer.finish(frames, duration).await {
        warn!(%session, recording, file, error = %e, "could not mark a recorded file complete");
    }
}
