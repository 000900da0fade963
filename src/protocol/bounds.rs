//! MessagePack someone else wrote, checked before serde sees it. A header's element count is a
//! number the sender chose: serde preallocates up to 1 MiB per collection on its word, so an
//! 18-byte frame whose map claims 4 billion entries cost 2 MiB, and nested claims a megabyte per
//! level. Recursion is the other cost: rmp-serde allows 1024 levels, more than a worker thread's
//! 2 MiB stack holds in a debug build (a 600-byte frame of nested arrays aborted the server).
//! One pass without recursion or allocation refuses both, so what serde then builds is bounded
//! by the bytes that arrived.

use serde::Deserialize;

/// Deeper than any message of this protocol nests (a control input inside a signal record is
/// three levels; unknown fields a newer client adds get as many again).
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BoundsError {
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("a header at byte {0} claims more than the frame holds")]
    Truncated(usize),
    #[error("byte {0} starts no MessagePack value")]
    Reserved(usize),
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Bounds(#[from] BoundsError),
    #[error(transparent)]
    Serde(#[from] rmp_serde::decode::Error),
}

/// Decodes a MessagePack frame or record someone else wrote, after [`check`]. Every decode of a
/// peer's or the store's bytes goes through here.
pub fn from_msgpack<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, DecodeError> {
    check(bytes)?;
    Ok(rmp_serde::from_slice(bytes)?)
}

/// Walks the first value of `bytes`: every length and count must fit in what follows (each
/// element takes at least a byte), and nesting must stay within [`MAX_DEPTH`].
pub fn check(bytes: &[u8]) -> Result<(), BoundsError> {
    // Values still expected at each open level; the bottom level expects the one value.
    let mut expected = [0u64; MAX_DEPTH + 1];
    let mut depth = 0;
    expected[0] = 1;
    let mut at = 0;
    loop {
        while expected[depth] == 0 {
            if depth == 0 {
                return Ok(());
            }
            depth -= 1;
        }
        expected[depth] -= 1;
        let marker = *bytes.get(at).ok_or(BoundsError::Truncated(at))?;
        let start = at;
        at += 1;
        let (skip, children) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * u64::from(marker & 0x0f)),
            0x90..=0x9f => (0, u64::from(marker & 0x0f)),
            0xa0..=0xbf => (u64::from(marker & 0x1f), 0),
            0xc1 => return Err(BoundsError::Reserved(start)),
            0xc4 | 0xd9 => (read(bytes, &mut at, 1, start)?, 0),
            0xc5 | 0xda => (read(bytes, &mut at, 2, start)?, 0),
            0xc6 | 0xdb => (read(bytes, &mut at, 4, start)?, 0),
            // ext 8/16/32: a length, then a type byte and the data.
            0xc7 => (read(bytes, &mut at, 1, start)? + 1, 0),
            0xc8 => (read(bytes, &mut at, 2, start)? + 1, 0),
            0xc9 => (read(bytes, &mut at, 4, start)? + 1, 0),
            0xca => (4, 0),
            0xcb => (8, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xce | 0xd2 => (4, 0),
            0xcf | 0xd3 => (8, 0),
            // fixext 1/2/4/8/16: a type byte and the data.
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (0, read(bytes, &mut at, 2, start)?),
            0xdd => (0, read(bytes, &mut at, 4, start)?),
            0xde => (0, 2 * read(bytes, &mut at, 2, start)?),
            0xdf => (0, 2 * read(bytes, &mut at, 4, start)?),
        };
        let left = (bytes.len() - at) as u64;
        if skip > left || children > left {
            return Err(BoundsError::Truncated(start));
        }
        at += skip as usize;
        if children > 0 {
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(BoundsError::TooDeep);
            }
            expected[depth] = children;
        }
    }
}

/// Reads a big-endian length of `width` bytes at `at`.
fn read(bytes: &[u8], at: &mut usize, width: usize, start: usize) -> Result<u64, BoundsError> {
    let field = bytes
        .get(*at..*at + width)
        .ok_or(BoundsError::Truncated(start))?;
    *at += width;
    Ok(field.iter().fold(0, |n, b| n << 8 | u64::from(*b)))
}

/// `text` cut to at most `max` bytes at a character boundary.
pub fn clip(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{
        AgentRef, ControlInput, SessionId, Signal, SignalRecord, TrackerMessage,
    };

    /// On a thread with a tokio worker's stack, as the server decodes frames.
    fn on_worker_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn clip_keeps_whole_characters() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("héllo", 3), "hé");
        assert_eq!(clip("abc", 10), "abc");
    }

    #[test]
    fn a_frame_nested_past_the_limit_is_refused_not_a_stack_overflow() {
        let mut frame = b"\x82\xa4type\xa6events\xa6events".to_vec();
        frame.extend(std::iter::repeat_n(0x91, 100_000));
        frame.push(0xc0);
        let refused = on_worker_stack(move || from_msgpack::<TrackerMessage>(&frame).err());
        assert!(matches!(
            refused,
            Some(DecodeError::Bounds(BoundsError::TooDeep))
        ));
    }

    #[test]
    fn a_count_larger_than_the_frame_is_refused_before_decoding() {
        // A map claiming 4 billion entries, then an array claiming as many: 18 bytes.
        let frame = b"\xdf\xff\xff\xff\xff\xa4type\xa6events\xdd\xff\xff\xff\xff";
        assert_eq!(check(frame), Err(BoundsError::Truncated(0)));
        let frame = b"\x81\xa4type\xdd\xff\xff\xff\xff\xc0";
        assert_eq!(check(frame), Err(BoundsError::Truncated(6)));
        assert_eq!(check(b"\xc4\x05abc"), Err(BoundsError::Truncated(0)));
        assert_eq!(check(b"\x92\xc1\xc0"), Err(BoundsError::Reserved(1)));
    }

    #[test]
    fn every_kind_of_value_passes_when_whole() {
        let value = serde_json::json!({
            "a": [1, -1, 300, -300, 70_000, -70_000, 5_000_000_000u64, -5_000_000_000i64],
            "f": [1.5, 0.25], "s": "x".repeat(40), "l": "y".repeat(70_000),
            "n": null, "t": true, "m": {"k": [[[]]]},
        });
        assert_eq!(check(&rmp_serde::to_vec(&value).unwrap()), Ok(()));
        let bin = rmp_serde::to_vec(&serde_bytes::ByteBuf::from(vec![7u8; 70_000])).unwrap();
        assert_eq!(check(&bin), Ok(()));
        let mut fixext16 = vec![0xd8, 0x01];
        fixext16.extend([0; 16]);
        for ext in [&b"\xd4\x01\x00"[..], &fixext16, b"\xc7\x02\x01ab"] {
            assert_eq!(check(ext), Ok(()));
            assert!(check(&ext[..ext.len() - 1]).is_err());
        }
    }

    #[test]
    fn the_deepest_message_of_the_protocol_passes() {
        let record = SignalRecord {
            session: SessionId::new(),
            agent: AgentRef {
                id: "a".into(),
                name: "Alice".into(),
            },
            node: "node-a".into(),
            signal: Signal::Control {
                tab: "tab-1".into(),
                input: ControlInput::Click {
                    id: 1,
                    x: 2.0,
                    y: 3.0,
                },
            },
        };
        let bytes = rmp_serde::to_vec_named(&record).unwrap();
        assert_eq!(from_msgpack::<SignalRecord>(&bytes).unwrap(), record);
    }
}
