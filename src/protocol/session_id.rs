//! Session identity and stream naming.
//!
//! A session id is a UUIDv7, so it carries its creation time. The session's stream name is derived
//! from the id alone: `sessions/<13-digit reverse ms>/<id>`. S2 lists streams in ascending
//! lexicographic order, so the reverse timestamp makes a plain listing return the newest sessions
//! first, and any node can find a session's stream from its id without an index.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// Prefix under which every session stream lives.
pub const STREAM_PREFIX: &str = "sessions/";

/// Largest millisecond timestamp with 13 digits (year 2286); reverse timestamps count down from it.
const REVERSE_BASE: u64 = 9_999_999_999_999;

/// The identity of one browser session (all tabs of one user on one site).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ts_rs::TS)]
#[ts(type = "string")]
pub struct SessionId(Uuid);

/// Always the hyphenated string, in MessagePack as in JSON (a UUID's own serde form is 16 raw
/// bytes in binary formats, which a browser tracker would have to decode by hand).
impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl SessionId {
    /// A fresh id stamped with the current time.
    pub fn new() -> Self {
        SessionId(Uuid::now_v7())
    }

    /// The session id `uuid` is (a UUIDv7 if it came from [`SessionId::new`]).
    pub fn from_uuid(uuid: Uuid) -> Self {
        SessionId(uuid)
    }

    /// Milliseconds since the Unix epoch at which the session was created.
    pub fn created_ms(&self) -> u64 {
        self.0
            .get_timestamp()
            .map(|ts| {
                let (secs, nanos) = ts.to_unix();
                secs * 1000 + u64::from(nanos) / 1_000_000
            })
            .unwrap_or(0)
    }

    /// The S2 stream that holds this session.
    pub fn stream_name(&self) -> String {
        let reverse = REVERSE_BASE.saturating_sub(self.created_ms());
        format!("{STREAM_PREFIX}{reverse:013}/{}", self.0)
    }

    /// Recovers the session id from a stream name produced by [`SessionId::stream_name`].
    pub fn from_stream_name(name: &str) -> Option<Self> {
        let rest = name.strip_prefix(STREAM_PREFIX)?;
        let (_, id) = rest.split_once('/')?;
        id.parse().ok()
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0)
    }
}

/// Only UUIDv7 ids are sessions: the stream name depends on the embedded timestamp.
#[derive(Debug, thiserror::Error)]
#[error(
    "'{0}' is not a session id (expected a UUIDv7 such as 0193e0b6-8c1e-7a4e-9b5e-1f2d3c4b5a69)"
)]
pub struct InvalidSessionId(String);

impl FromStr for SessionId {
    type Err = InvalidSessionId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match Uuid::parse_str(s) {
            Ok(uuid) if uuid.get_version_num() == 7 => Ok(SessionId(uuid)),
            _ => Err(InvalidSessionId(s.chars().take(64).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_name_round_trips_to_the_id() {
        let id = SessionId::new();
        let name = id.stream_name();
        assert!(name.starts_with(STREAM_PREFIX));
        assert_eq!(SessionId::from_stream_name(&name), Some(id));
    }

    #[test]
    fn newer_sessions_sort_first() {
        let older = SessionId::new();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let newer = SessionId::new();
        assert!(newer.stream_name() < older.stream_name());
    }

    #[test]
    fn session_ids_are_strings_on_every_wire() {
        let id = SessionId::new();
        let packed = rmp_serde::to_vec_named(&id).unwrap();
        assert_eq!(
            rmp_serde::from_slice::<String>(&packed).unwrap(),
            id.to_string()
        );
        assert_eq!(rmp_serde::from_slice::<SessionId>(&packed).unwrap(), id);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""));
    }

    #[test]
    fn only_uuid_v7_is_a_session_id() {
        assert!("not-a-uuid".parse::<SessionId>().is_err());
        assert!(Uuid::new_v4().to_string().parse::<SessionId>().is_err());
        let id = SessionId::new();
        assert_eq!(id.to_string().parse::<SessionId>().unwrap(), id);
    }
}
