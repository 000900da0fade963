//! The recorded store of a previous release (tests/compat/<release>/store.json): every record its
//! node wrote to S2 (session streams, `cluster/signals`, `cluster/directory/...`, fences
//! included), with what that node answered for them, so that a node of this release can be
//! started on that store in CI without building the old one. `scripts/record-compat` writes it
//! (`compat_record.rs`); `compat.rs` reads it.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use cobrowse::seal::Seal;
use cobrowse::store::sdk::{SdkBackend, SdkConfig};
use cobrowse::store::{AppendCondition, AppendItem, Backend, StreamSettings};
use s2_sdk::types::{
    BasinName, ListStreamsInput, ReadInput, ReadLimits, ReadStart, ReadStop, S2Config, S2Endpoints,
    StreamNameStartAfter,
};
use serde::{Deserialize, Serialize};

use crate::common::{Node, get_text};

/// The release before this one (docs/protocol.md, "Versioning and upgrades"), whose recordings
/// are under tests/compat/<release>/.
pub fn previous() -> &'static str {
    include_str!("../compat/PREVIOUS").trim()
}
pub const SECRET: &str = "compat-shared-secret";
pub const BASIN: &str = "cobrowse";
/// The labels of the signed shared streams (docs/protocol.md §9.1, §12.2).
pub const SIGNAL_LABEL: &[u8] = b"cobrowse/signal\0";
pub const DIRECTORY_LABEL: &[u8] = b"cobrowse/directory\0";

#[derive(Debug, Serialize, Deserialize)]
pub struct Fixture {
    /// The commit whose binary wrote it.
    pub release: String,
    /// A session still live when the old node stopped (its tracker will resume elsewhere).
    pub live: TrackerState,
    /// A session its tracker ended (end record, sealed stream).
    pub ended: TrackerState,
    /// What the old node answered: `GET /api/v1/sessions?status=any`.
    pub list: serde_json::Value,
    /// What the old node answered: `GET /api/v1/sessions/{id}/events?format=rrweb`, per session
    /// (its digest: the split event alone is 700 KB).
    pub exports: Vec<ExportDigest>,
    /// Every message the old node sent the live session's tracker, MessagePack in base64.
    pub to_tracker: Vec<String>,
    pub streams: Vec<StreamDump>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TrackerState {
    pub session_id: String,
    pub token: String,
    pub tab: String,
    pub last_seq: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ExportDigest {
    pub session_id: String,
    pub bytes: usize,
    /// hex
    pub sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StreamDump {
    pub name: String,
    pub records: Vec<RecordDump>,
}

/// One record as S2 stored it. A command record (`fence`) has `command` set and the token as its
/// body; a data record has no headers (cobrowse writes none).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordDump {
    pub seq_num: u64,
    pub timestamp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// base64
    pub body: String,
}

impl RecordDump {
    pub fn body(&self) -> Vec<u8> {
        STANDARD
            .decode(&self.body)
            .expect("fixture bodies are base64")
    }
}

impl Fixture {
    pub fn path(release: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/compat")
            .join(release)
            .join("store.json")
    }

    pub fn read(release: &str) -> Self {
        let path = Self::path(release);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; scripts/record-compat writes it", path.display()));
        serde_json::from_str(&text).expect("the fixture parses")
    }

    pub fn stream(&self, name: &str) -> &StreamDump {
        self.streams
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("the fixture has no stream {name}"))
    }

    /// The session stream of `session_id`.
    pub fn session_stream(&self, session_id: &str) -> &StreamDump {
        self.streams
            .iter()
            .find(|s| s.name.starts_with("sessions/") && s.name.ends_with(session_id))
            .unwrap_or_else(|| panic!("the fixture has no stream for session {session_id}"))
    }

    pub fn export(&self, session_id: &str) -> &ExportDigest {
        self.exports
            .iter()
            .find(|e| e.session_id == session_id)
            .expect("the old node's export")
    }

    /// The latest timestamp in the store: loading shifts every timestamp so that this one is now.
    pub fn newest_ms(&self) -> u64 {
        self.streams
            .iter()
            .flat_map(|s| s.records.iter().map(|r| r.timestamp))
            .max()
            .expect("records")
    }
}

/// A session's events as a node exports them (`GET /api/v1/sessions/{id}/events?format=rrweb`).
pub async fn export(server: &impl Node, id: &str) -> String {
    get_text(
        server,
        &format!("/api/v1/sessions/{id}/events?format=rrweb"),
    )
    .await
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn decode(text: &str) -> Vec<u8> {
    STANDARD.decode(text).expect("base64")
}

fn s2(endpoint: &str) -> s2_sdk::S2Basin {
    let config = S2Config::new("compat")
        .with_endpoints(S2Endpoints::for_endpoint(endpoint).expect("an s2-lite URL"));
    let basin: BasinName = BASIN.parse().expect("basin name");
    s2_sdk::S2::new(config).expect("s2 client").basin(basin)
}

/// Every stream of the basin with every record, fences included, as S2 stores them.
pub async fn dump(endpoint: &str) -> Vec<StreamDump> {
    let basin = s2(endpoint);
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut input = ListStreamsInput::new().with_limit(1000);
        if let Some(after) = &after {
            let after: StreamNameStartAfter = after.parse().expect("stream name");
            input = input.with_start_after(after);
        }
        let page = basin.list_streams(input).await.expect("list streams");
        names.extend(page.values.iter().map(|info| info.name.to_string()));
        after = names.last().cloned();
        if !page.has_more {
            break;
        }
    }
    let mut streams = Vec::new();
    for name in names {
        let stream = basin.stream(name.parse().expect("stream name"));
        let mut records = Vec::new();
        loop {
            let input = ReadInput::new()
                .with_start(
                    ReadStart::new()
                        .with_from(s2_sdk::types::ReadFrom::SeqNum(records.len() as u64)),
                )
                .with_stop(ReadStop::new().with_limits(ReadLimits::new().with_count(1000)))
                .with_ignore_command_records(false);
            let batch = match stream.read(input).await {
                Ok(batch) => batch,
                Err(s2_sdk::error::ReadError::ReadUnwritten(_)) => break,
                Err(e) => panic!("read {name}: {e}"),
            };
            if batch.records.is_empty() {
                break;
            }
            for record in batch.records {
                let command = match record.headers.as_slice() {
                    [] => None,
                    [header] if header.name.is_empty() => {
                        Some(String::from_utf8_lossy(&header.value).into_owned())
                    }
                    other => panic!("{name}: a record with headers {other:?}: not cobrowse's"),
                };
                records.push(RecordDump {
                    seq_num: record.seq_num,
                    timestamp: record.timestamp,
                    command,
                    body: encode(&record.body),
                });
            }
        }
        streams.push(StreamDump { name, records });
    }
    streams
}

/// Writes the fixture's records into the (empty) basin at `endpoint`, record by record with the
/// fencing token each one met, every timestamp moved by `shift_ms` (so retention keeps them and
/// they are as recent as when they were written). Signed records are signed again at their
/// moved time, after checking that their original signature verifies under `secret`.
pub async fn load(fixture: &Fixture, endpoint: &str, secret: &str, shift_ms: u64) {
    let settings = StreamSettings {
        retention: std::time::Duration::from_secs(3600 * 24 * 365),
        delete_on_empty_after: std::time::Duration::from_secs(3600),
    };
    let backend = SdkBackend::connect(
        &SdkConfig {
            endpoint: Some(endpoint.to_string()),
            token: "compat".into(),
            basin: BASIN.into(),
        },
        settings,
    )
    .await
    .expect("the store answers");
    for stream in &fixture.streams {
        backend
            .create_stream(&stream.name, settings)
            .await
            .expect("create stream");
        let seal = seal_of(&stream.name, secret);
        let mut token: Option<String> = None;
        for record in &stream.records {
            let timestamp = Some(record.timestamp + shift_ms);
            let item = match record.command.as_deref() {
                Some("fence") => AppendItem::Fence {
                    token: String::from_utf8(record.body()).expect("a fencing token"),
                    timestamp,
                },
                Some(other) => panic!("{}: unexpected command {other}", stream.name),
                None => {
                    let body = record.body();
                    let body = match &seal {
                        Some(seal) => resign(seal, &body, record.timestamp, shift_ms),
                        None => Bytes::from(body),
                    };
                    AppendItem::Data { body, timestamp }
                }
            };
            let next_token = match &item {
                AppendItem::Fence { token, .. } => Some(token.clone()),
                AppendItem::Data { .. } => token.clone(),
            };
            backend
                .append(
                    &stream.name,
                    vec![item],
                    AppendCondition {
                        fencing_token: token.clone(),
                        match_seq_num: Some(record.seq_num),
                    },
                )
                .await
                .unwrap_or_else(|e| panic!("{} record {}: {e}", stream.name, record.seq_num));
            token = next_token;
        }
    }
}

/// The seal of a signed shared stream, `None` for other streams.
pub fn seal_of(stream: &str, secret: &str) -> Option<Seal> {
    if stream == "cluster/signals" {
        Some(Seal::new(secret.as_bytes(), SIGNAL_LABEL))
    } else if stream.starts_with("cluster/directory/") {
        Some(Seal::new(secret.as_bytes(), DIRECTORY_LABEL))
    } else {
        None
    }
}

/// The payload of a signed record, checked against the old node's signature.
pub fn opened(seal: &Seal, body: &[u8], stored_ms: u64) -> Vec<u8> {
    seal.open(body, stored_ms)
        .unwrap_or_else(|e| {
            panic!(
                "a record the previous release signed does not open: {e}. {}",
                crate::compat::WIRE_CHANGED
            )
        })
        .to_vec()
}

/// `body` signed again `shift_ms` later than its original signature.
pub fn resign(seal: &Seal, body: &[u8], stored_ms: u64, shift_ms: u64) -> Bytes {
    let payload = opened(seal, body, stored_ms);
    let signed_ms = u64::from_be_bytes(body[1..9].try_into().expect("8 bytes"));
    seal.seal(&payload, signed_ms + shift_ms)
}
