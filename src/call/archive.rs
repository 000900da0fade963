//! Call recordings in S2, next to the session: one stream per recorded file,
//! `recordings/<session>/<recording>/<file>`, with the session streams' retention. A file's
//! records are its metadata, then chunks of the file as written, then a last record saying it
//! ended cleanly. Any node can list and serve them.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::ivf;
use crate::protocol::SessionId;
use crate::protocol::{Media, Participant, Recording, RecordingFile};
use crate::store::stream::{Store, StoreError};
use crate::store::{AppendCondition, AppendItem, BackendError, ReadFrom, Streams};

const PREFIX: &str = "recordings/";
const META: u8 = b'M';
const CHUNK: u8 = b'C';
const END: u8 = b'E';
/// Recordings listed per session at most.
const MAX_FILES: usize = 1000;

/// What a file is, in its first record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileMeta {
    pub participant: Participant,
    pub media: Media,
    pub started_ms: u64,
}

/// Its last record, once it ended cleanly.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileEnd {
    bytes: u64,
    frames: u32,
    /// For IVF: the duration in the file's timebase, for its header.
    #[serde(default)]
    duration: u64,
}

fn prefix(session: SessionId) -> String {
    format!("{PREFIX}{session}/")
}

/// A recording's file names are the participant's id and what it holds: `user-audio.ogg`,
/// `<agent id>-video.ivf`, `user-canvas-12.ivf`.
pub fn file_name(participant: &str, media: Media, canvas: Option<u32>) -> String {
    match (media, canvas) {
        (Media::Audio, _) => format!("{participant}-audio.ogg"),
        (Media::Video, _) => format!("{participant}-video.ivf"),
        (Media::Canvas, Some(id)) => format!("{participant}-canvas-{id}.ivf"),
        (Media::Canvas, None) => format!("{participant}-canvas.ivf"),
    }
}

fn valid_part(part: &str) -> bool {
    (1..=128).contains(&part.len())
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !part.starts_with('.')
}

/// One recorded file being written.
pub struct FileWriter {
    streams: Streams,
    name: String,
    bytes: u64,
}

impl FileWriter {
    pub async fn create(
        store: &Store,
        session: SessionId,
        recording: &str,
        file: &str,
        meta: &FileMeta,
    ) -> Result<Self, StoreError> {
        let name = format!("{}{recording}/{file}", prefix(session));
        let streams = store.streams().clone();
        streams
            .backend()
            .create_stream(&name, streams.settings())
            .await?;
        let writer = Self {
            streams,
            name,
            bytes: 0,
        };
        writer
            .append(
                META,
                &serde_json::to_vec(meta).expect("file metadata serializes"),
            )
            .await?;
        Ok(writer)
    }

    /// Appends a piece of the file (at most 1 MiB less S2's overhead).
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.append(CHUNK, chunk).await?;
        self.bytes += chunk.len() as u64;
        Ok(())
    }

    /// Marks the file complete.
    pub async fn finish(self, frames: u32, duration: u64) -> Result<(), StoreError> {
        let end = FileEnd {
            bytes: self.bytes,
            frames,
            duration,
        };
        self.append(END, &serde_json::to_vec(&end).expect("file end serializes"))
            .await
    }

    async fn append(&self, tag: u8, body: &[u8]) -> Result<(), StoreError> {
        let mut record = BytesMut::with_capacity(body.len() + 1);
        record.put_u8(tag);
        record.put_slice(body);
        let record = AppendItem::Data {
            body: record.freeze(),
            timestamp: None,
        };
        self.streams
            .backend()
            .append(&self.name, vec![record], AppendCondition::default())
            .await
            .map_err(|e| StoreError::Unavailable(format!("appending to a recording: {e}")))?;
        Ok(())
    }
}

/// The session's recordings, oldest first, each file with its size and whether it is complete.
/// Deletes every file of every recording of `session` (the session is erased); how many.
pub async fn delete_all(store: &Store, session: SessionId) -> Result<usize, StoreError> {
    let prefix_text = prefix(session);
    let backend = store.streams().backend();
    let mut deleted = 0;
    loop {
        let (names, more) = backend.list_streams(&prefix_text, None, MAX_FILES).await?;
        for name in &names {
            match backend.delete_stream(name).await {
                Ok(()) => deleted += 1,
                Err(BackendError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !more || names.is_empty() {
            return Ok(deleted);
        }
    }
}

pub async fn list(store: &Store, session: SessionId) -> Result<Vec<Recording>, StoreError> {
    let prefix_text = prefix(session);
    let streams = store.streams();
    let (names, _) = streams
        .backend()
        .list_streams(&prefix_text, None, MAX_FILES)
        .await?;
    let mut recordings: Vec<Recording> = Vec::new();
    for name in names {
        let Some((recording, file)) = name[prefix_text.len()..].split_once('/') else {
            continue;
        };
        let Some(meta) = read_meta(streams, &name).await? else {
            continue;
        };
        let end = read_end(streams, &name).await?;
        let entry = RecordingFile {
            name: file.to_string(),
            participant: meta.participant,
            media: meta.media,
            bytes: end.as_ref().map_or(0, |e| e.bytes),
            complete: end.is_some(),
        };
        match recordings.iter_mut().find(|r| r.id == recording) {
            Some(existing) => {
                existing.started_ms = existing.started_ms.min(meta.started_ms);
                existing.files.push(entry);
            }
            None => recordings.push(Recording {
                id: recording.to_string(),
                started_ms: meta.started_ms,
                files: vec![entry],
            }),
        }
    }
    recordings.sort_by_key(|r| r.started_ms);
    Ok(recordings)
}

/// A recorded file as it can be played: its chunks in order, the IVF length filled in.
/// `None` when there is no such file.
pub async fn read(
    store: &Store,
    session: SessionId,
    recording: &str,
    file: &str,
) -> Result<Option<Bytes>, StoreError> {
    if !valid_part(recording) || !valid_part(file) {
        return Ok(None);
    }
    let name = format!("{}{recording}/{file}", prefix(session));
    let mut body = BytesMut::new();
    let mut length = None;
    let mut next = 0;
    loop {
        let records = match read_records(store.streams(), &name, next, 1000).await {
            Ok(records) => records,
            Err(None) => return Ok(None),
            Err(Some(e)) => return Err(e),
        };
        let Some(last) = records.last().map(|r| r.0) else {
            break;
        };
        for (_, record) in &records {
            match record.split_first() {
                Some((&CHUNK, chunk)) => body.put_slice(chunk),
                Some((&END, end)) => {
                    length = serde_json::from_slice::<FileEnd>(end)
                        .ok()
                        .map(|e| u32::try_from(e.duration).unwrap_or(u32::MAX));
                }
                _ => {}
            }
        }
        next = last + 1;
    }
    if let Some(length) = length
        && file.ends_with(".ivf")
        && body.len() >= ivf::HEADER_LEN
    {
        body[ivf::LENGTH_AT..ivf::LENGTH_AT + 4].copy_from_slice(&length.to_le_bytes());
    }
    Ok(Some(body.freeze()))
}

/// Records from `from`: `Err(None)` when the stream does not exist.
async fn read_records(
    streams: &Streams,
    name: &str,
    from: u64,
    max: usize,
) -> Result<Vec<(u64, Bytes)>, Option<StoreError>> {
    match streams
        .backend()
        .read(name, ReadFrom::SeqNum(from), max)
        .await
    {
        Ok(records) => Ok(records.into_iter().map(|r| (r.seq_num, r.body)).collect()),
        Err(BackendError::NotFound(_)) => Err(None),
        Err(e) => Err(Some(e.into())),
    }
}

async fn read_meta(streams: &Streams, name: &str) -> Result<Option<FileMeta>, StoreError> {
    read_tagged(streams, name, 0, META).await
}

async fn read_end(streams: &Streams, name: &str) -> Result<Option<FileEnd>, StoreError> {
    let tail = streams.backend().check_tail(name).await?.seq_num;
    if tail == 0 {
        return Ok(None);
    }
    read_tagged(streams, name, tail - 1, END).await
}

/// The JSON body of the record at `seq`, if it is one tagged `tag`.
async fn read_tagged<T: serde::de::DeserializeOwned>(
    streams: &Streams,
    name: &str,
    seq: u64,
    tag: u8,
) -> Result<Option<T>, StoreError> {
    let records = read_records(streams, name, seq, 1).await.map_err(|e| {
        e.unwrap_or_else(|| StoreError::Unavailable("recording stream vanished".into()))
    })?;
    Ok(records
        .first()
        .and_then(|(_, body)| match body.split_first() {
            Some((found, json)) if *found == tag => serde_json::from_slice(json).ok(),
            _ => None,
        }))
}
