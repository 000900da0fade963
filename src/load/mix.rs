//! The event mix a simulated tracker replays: real rrweb events recorded from the demo site (a
//! full snapshot, then mutations, mouse moves, scrolls, inputs and console messages), or a file
//! of rrweb events exported with `cobrowse sessions export`.

use std::path::Path;

/// Recorded from the demo site with the tracker plugin (see `docs/benchmarks.md`).
const DEMO_MIX: &str = include_str!("demo-mix.json");

#[derive(Debug, thiserror::Error)]
pub enum MixError {
    #[error("cannot read the event mix {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the event mix must be a JSON array of rrweb events with a full snapshot: {0}")]
    Invalid(String),
}

/// Events as JSON bytes: the snapshot a tracker sends when it starts (or is asked to resync), and
/// the incremental events it cycles through afterwards.
#[derive(Debug, Clone)]
pub struct EventMix {
    pub snapshot: Vec<Vec<u8>>,
    pub incremental: Vec<Vec<u8>>,
}

impl EventMix {
    pub fn demo() -> Self {
        Self::parse(DEMO_MIX).expect("the built-in mix is valid")
    }

    pub fn load(path: &Path) -> Result<Self, MixError> {
        let text = std::fs::read_to_string(path).map_err(|source| MixError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    fn parse(text: &str) -> Result<Self, MixError> {
        let events: Vec<serde_json::Value> =
            serde_json::from_str(text).map_err(|e| MixError::Invalid(e.to_string()))?;
        let kind = |e: &serde_json::Value| e.get("type").and_then(|t| t.as_u64());
        let full = events
            .iter()
            .position(|e| kind(e) == Some(2))
            .ok_or_else(|| MixError::Invalid("no full snapshot (type 2)".into()))?;
        let encode = |e: &serde_json::Value| serde_json::to_vec(e).expect("JSON values encode");
        let snapshot = events[..=full]
            .iter()
            .filter(|e| matches!(kind(e), Some(2 | 4)))
            .map(encode)
            .collect();
        let incremental: Vec<Vec<u8>> = events[full + 1..]
            .iter()
            .filter(|e| matches!(kind(e), Some(3 | 5 | 6)))
            .map(encode)
            .collect();
        if incremental.is_empty() {
            return Err(MixError::Invalid(
                "no incremental events after the snapshot".into(),
            ));
        }
        Ok(Self {
            snapshot,
            incremental,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_mix_has_a_snapshot_and_varied_incremental_events() {
        let mix = EventMix::demo();
        let snapshot: usize = mix.snapshot.iter().map(Vec::len).sum();
        assert!(snapshot > 10_000, "{snapshot}");
        assert!(mix.incremental.len() > 50);
    }

    #[test]
    fn a_mix_without_a_snapshot_is_refused() {
        assert!(EventMix::parse(r#"[{"type":3,"data":{}}]"#).is_err());
        assert!(EventMix::parse("not json").is_err());
    }
}
