//! Decoding a tracker's frame without trusting it. Anyone on the internet can open a tracker
//! socket, so a frame is decoded in two cheap steps: first only its `type` (a string; nothing else
//! is kept while the map is walked), then the one message struct that type names. Serde's
//! internally tagged enums cannot do this: they buffer every element of the map before they know
//! the variant, which turned a 16 MiB `hello` of `nil`s into half a gigabyte. Unknown fields are
//! skipped without being kept, nesting is bounded, and so is the length of every array a message
//! holds, so a frame costs a small multiple of its size at most.
//!
//! [`check_hello`] caps what a `hello` may carry, because it is stored and listed before anyone
//! authenticated the page beyond its public project key.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{DeclineReason, GrantKind, Hello, IceCandidate, TrackerEvent, TrackerMessage};

/// Deepest nesting a tracker frame may have. Real messages nest three levels (`events`, an
/// event, its fields); the bound keeps skipping unknown values from recursing without end.
pub const MAX_DEPTH: usize = 16;
/// Longest array any tracker message may hold (events of a batch, canvases). The configured
/// `max_batch_events` is checked after decoding and may not exceed it.
pub const MAX_ELEMENTS: usize = 10_000;

/// Caps on a `hello`'s fields, in bytes unless said otherwise.
pub const MAX_URL_BYTES: usize = 8 * 1024;
pub const MAX_TITLE_BYTES: usize = 1024;
pub const MAX_USER_AGENT_BYTES: usize = 1024;
pub const MAX_USER_ID_BYTES: usize = 256;
pub const MAX_METADATA_ENTRIES: usize = 64;
pub const MAX_METADATA_KEY_BYTES: usize = 128;
pub const MAX_METADATA_VALUE_BYTES: usize = 1024;
pub const MAX_PROJECT_KEY_BYTES: usize = 256;
pub const MAX_SESSION_TOKEN_BYTES: usize = 1024;

/// Why a frame is not a message this server accepts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame is not a MessagePack map with a string 'type': {0}")]
    NotAMessage(String),
    #[error("'type' must be a string such as \"events\"; integer tags are not accepted")]
    TagNotAString,
    #[error("unknown message type '{0}'")]
    UnknownType(String),
    #[error("malformed '{kind}' message: {error}")]
    Malformed { kind: &'static str, error: String },
}

impl FrameError {
    /// Errors of the protocol itself (close 4002) rather than of the encoding (1007).
    pub fn is_protocol(&self) -> bool {
        matches!(self, Self::TagNotAString | Self::UnknownType(_))
    }
}

/// The `type` of a frame, read without decoding the rest of it. The frame's counts and nesting
/// are checked first ([`super::bounds`]), so no count it claims makes the decoder preallocate.
pub fn message_type(data: &[u8]) -> Result<&'static str, FrameError> {
    super::bounds::check(data).map_err(|e| FrameError::NotAMessage(e.to_string()))?;
    let tag = decode_with::<TypeTag>(data).map_err(|e| match e {
        TagError::NotAString => FrameError::TagNotAString,
        TagError::Decode(e) => FrameError::NotAMessage(e),
    })?;
    let Some(tag) = tag.0 else {
        return Err(FrameError::NotAMessage("no 'type' key".into()));
    };
    TrackerMessage::TYPES
        .into_iter()
        .find(|t| *t == tag)
        .ok_or_else(|| FrameError::UnknownType(tag.chars().take(32).collect()))
}

/// Decodes a tracker frame whose `type` is `kind` (from [`message_type`]).
pub fn decode(kind: &'static str, data: &[u8]) -> Result<TrackerMessage, FrameError> {
    let malformed = |error: TagError| FrameError::Malformed {
        kind,
        error: match error {
            TagError::Decode(e) => e,
            TagError::NotAString => "not a string".into(),
        },
    };
    Ok(match kind {
        "hello" => TrackerMessage::Hello(Box::new(decode_with::<Hello>(data).map_err(malformed)?)),
        "events" => {
            let body = decode_with::<EventsBody>(data).map_err(malformed)?;
            TrackerMessage::Events {
                events: body.events.0,
            }
        }
        "end" => {
            let body = decode_with::<EndBody>(data).map_err(malformed)?;
            TrackerMessage::End {
                reason: body.reason,
            }
        }
        "consent" => {
            let body = decode_with::<ConsentBody>(data).map_err(malformed)?;
            TrackerMessage::Consent {
                request_id: body.request_id,
                granted: body.granted,
                reason: body.reason,
            }
        }
        "revoke" => {
            let body = decode_with::<RevokeBody>(data).map_err(malformed)?;
            TrackerMessage::Revoke {
                kind: body.kind,
                agent_id: body.agent_id,
            }
        }
        "refused" => {
            let body = decode_with::<RefusedBody>(data).map_err(malformed)?;
            TrackerMessage::Refused {
                agent_id: body.agent_id,
                action: body.action,
                reason: body.reason,
            }
        }
        "call_join" => {
            let body = decode_with::<CallJoinBody>(data).map_err(malformed)?;
            TrackerMessage::CallJoin {
                audio: body.audio,
                video: body.video,
                canvases: body.canvases.0,
            }
        }
        "call_answer" => {
            let body = decode_with::<CallAnswerBody>(data).map_err(malformed)?;
            TrackerMessage::CallAnswer { sdp: body.sdp }
        }
        "call_candidate" => {
            let body = decode_with::<CallCandidateBody>(data).map_err(malformed)?;
            TrackerMessage::CallCandidate {
                candidate: body.candidate,
            }
        }
        "hangup" => {
            decode_with::<IgnoredAny>(data).map_err(malformed)?;
            TrackerMessage::Hangup
        }
        "help_request" => {
            decode_with::<IgnoredAny>(data).map_err(malformed)?;
            TrackerMessage::HelpRequest
        }
        other => return Err(FrameError::UnknownType(other.to_string())),
    })
}

/// Checks a `hello`'s fields against the caps above; the error says which field is too large.
pub fn check_hello(hello: &Hello) -> Result<(), String> {
    let page = &hello.page;
    let fields = [
        (
            "project_key",
            hello.project_key.len(),
            MAX_PROJECT_KEY_BYTES,
        ),
        (
            "session_token",
            hello.session_token.as_deref().map_or(0, str::len),
            MAX_SESSION_TOKEN_BYTES,
        ),
        ("page.url", page.url.len(), MAX_URL_BYTES),
        (
            "page.referrer",
            page.referrer.as_deref().map_or(0, str::len),
            MAX_URL_BYTES,
        ),
        (
            "page.title",
            page.title.as_deref().map_or(0, str::len),
            MAX_TITLE_BYTES,
        ),
        (
            "page.user_agent",
            page.user_agent.len(),
            MAX_USER_AGENT_BYTES,
        ),
        (
            "user_id",
            hello.user_id.as_deref().map_or(0, str::len),
            MAX_USER_ID_BYTES,
        ),
    ];
    for (name, len, max) in fields {
        if len > max {
            return Err(format!("hello's {name} of {len} bytes is over {max}"));
        }
    }
    check_metadata(&hello.metadata)
}

fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), String> {
    if metadata.len() > MAX_METADATA_ENTRIES {
        return Err(format!(
            "hello's metadata has {} entries; at most {MAX_METADATA_ENTRIES}",
            metadata.len()
        ));
    }
    for (key, value) in metadata {
        if key.len() > MAX_METADATA_KEY_BYTES || value.len() > MAX_METADATA_VALUE_BYTES {
            return Err(format!(
                "hello's metadata keys may hold {MAX_METADATA_KEY_BYTES} bytes and values \
                 {MAX_METADATA_VALUE_BYTES}"
            ));
        }
    }
    Ok(())
}

#[derive(Debug)]
enum TagError {
    NotAString,
    Decode(String),
}

fn decode_with<T: DeserializeOwned>(data: &[u8]) -> Result<T, TagError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(data);
    de.set_max_depth(MAX_DEPTH);
    T::deserialize(&mut de).map_err(|e| {
        if e.to_string() == NOT_A_STRING {
            TagError::NotAString
        } else {
            TagError::Decode(e.to_string())
        }
    })
}

const NOT_A_STRING: &str = "cobrowse: type tag is not a string";

/// The frame's `type`, if it has one; every other value of the map is skipped unkept.
struct TypeTag(Option<String>);

impl<'de> Deserialize<'de> for TypeTag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TypeTagVisitor)
    }
}

struct TypeTagVisitor;

impl<'de> Visitor<'de> for TypeTagVisitor {
    type Value = TypeTag;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map with a 'type' key")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TypeTag, A::Error> {
        let mut tag = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Type if tag.is_none() => tag = Some(map.next_value::<StringOnly>()?.0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(TypeTag(tag))
    }
}

/// A map key: `type`, or anything else (not kept).
enum Key {
    Type,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(if v == "type" { Key::Type } else { Key::Other })
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Key, E> {
                Ok(Key::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Key, E> {
                Ok(Key::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Key, E> {
                Ok(Key::Other)
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

/// A string, refusing the integers serde would otherwise take as a variant index.
struct StringOnly(String);

impl<'de> Deserialize<'de> for StringOnly {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringVisitor;
        impl Visitor<'_> for StringVisitor {
            type Value = StringOnly;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringOnly, E> {
                Ok(StringOnly(v.chars().take(64).collect()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<StringOnly, E> {
                Err(E::custom(NOT_A_STRING))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<StringOnly, E> {
                Err(E::custom(NOT_A_STRING))
            }
        }
        deserializer.deserialize_any(StringVisitor)
    }
}

/// An array of at most [`MAX_ELEMENTS`], refused as soon as it runs over.
struct Bounded<T>(Vec<T>);

impl<T> Default for Bounded<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Bounded<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoundedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for BoundedVisitor<T> {
            type Value = Bounded<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an array of at most {MAX_ELEMENTS} elements")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bounded<T>, A::Error> {
                let announced = seq.size_hint().unwrap_or(0);
                if announced > MAX_ELEMENTS {
                    return Err(de::Error::invalid_length(announced, &self));
                }
                let mut items = Vec::with_capacity(announced.min(1024));
                while let Some(item) = seq.next_element()? {
                    if items.len() == MAX_ELEMENTS {
                        return Err(de::Error::invalid_length(MAX_ELEMENTS + 1, &self));
                    }
                    items.push(item);
                }
                Ok(Bounded(items))
            }
        }
        deserializer.deserialize_seq(BoundedVisitor(std::marker::PhantomData))
    }
}

// One body per message, holding the fields of its `TrackerMessage` variant; keep them in step
// (the round-trip test below decodes every variant).

#[derive(Deserialize)]
struct EventsBody {
    events: Bounded<TrackerEvent>,
}

#[derive(Deserialize)]
struct EndBody {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct ConsentBody {
    request_id: String,
    granted: bool,
    #[serde(default)]
    reason: Option<DeclineReason>,
}

#[derive(Deserialize)]
struct RevokeBody {
    kind: GrantKind,
    agent_id: String,
}

#[derive(Deserialize)]
struct RefusedBody {
    agent_id: String,
    action: String,
    reason: String,
}

#[derive(Deserialize)]
struct CallJoinBody {
    audio: bool,
    video: bool,
    #[serde(default)]
    canvases: Bounded<u32>,
}

#[derive(Deserialize)]
struct CallAnswerBody {
    sdp: String,
}

#[derive(Deserialize)]
struct CallCandidateBody {
    candidate: IceCandidate,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{PageInfo, TrackerEventKind};
    use serde_bytes::ByteBuf;

    fn encode(message: &TrackerMessage) -> Vec<u8> {
        rmp_serde::to_vec_named(message).unwrap()
    }

    fn hello() -> Hello {
        Hello {
            protocol: 1,
            project_key: "demo".into(),
            session_token: None,
            tab: "t1".into(),
            page: PageInfo {
                url: "https://shop.example/".into(),
                ..PageInfo::default()
            },
            user_id: None,
            metadata: BTreeMap::new(),
            view: Default::default(),
        }
    }

    fn every_message() -> Vec<TrackerMessage> {
        vec![
            TrackerMessage::Hello(Box::new(hello())),
            TrackerMessage::Events {
                events: vec![TrackerEvent {
                    seq: 1,
                    ts: 2,
                    kind: TrackerEventKind::Identify,
                    data: ByteBuf::from(b"{}".to_vec()),
                }],
            },
            TrackerMessage::End {
                reason: Some("bye".into()),
            },
            TrackerMessage::Consent {
                request_id: "r".into(),
                granted: false,
                reason: Some(DeclineReason::Declined),
            },
            TrackerMessage::Revoke {
                kind: GrantKind::Control,
                agent_id: "a".into(),
            },
            TrackerMessage::Refused {
                agent_id: "a".into(),
                action: "click".into(),
                reason: "gone".into(),
            },
            TrackerMessage::CallJoin {
                audio: true,
                video: false,
                canvases: vec![3],
            },
            TrackerMessage::CallAnswer { sdp: "v=0".into() },
            TrackerMessage::CallCandidate {
                candidate: IceCandidate {
                    candidate: "candidate:1".into(),
                    sdp_mid: Some("0".into()),
                    sdp_mline_index: Some(0),
                },
            },
            TrackerMessage::Hangup,
            TrackerMessage::HelpRequest,
        ]
    }

    #[test]
    fn every_documented_message_decodes_as_it_was_encoded() {
        let messages = every_message();
        assert_eq!(messages.len(), TrackerMessage::TYPES.len());
        for message in messages {
            let bytes = encode(&message);
            let kind = message_type(&bytes).unwrap();
            let decoded = decode(kind, &bytes).unwrap();
            assert_eq!(format!("{decoded:?}"), format!("{message:?}"));
        }
    }

    #[test]
    fn an_integer_type_tag_is_refused_not_taken_as_a_variant_index() {
        // {type: 2, reason: nil}: serde's tagged enum would read variant 2, `end`.
        let bytes = rmp_serde::to_vec_named(&BTreeMap::from([("type", 2u8)])).unwrap();
        let error = message_type(&bytes).unwrap_err();
        assert_eq!(error, FrameError::TagNotAString);
        assert!(error.is_protocol());
    }

    #[test]
    fn an_unknown_type_is_a_protocol_error_and_garbage_is_not() {
        let bytes = rmp_serde::to_vec_named(&BTreeMap::from([("type", "fly")])).unwrap();
        assert_eq!(
            message_type(&bytes),
            Err(FrameError::UnknownType("fly".into()))
        );
        let garbage = message_type(&[0xc1]).unwrap_err();
        assert!(!garbage.is_protocol());
        let no_type = rmp_serde::to_vec_named(&BTreeMap::from([("seq", 1u8)])).unwrap();
        assert!(matches!(
            message_type(&no_type),
            Err(FrameError::NotAMessage(_))
        ));
    }

    /// MessagePack by hand: a fixstr, and an array header of any length.
    fn str(out: &mut Vec<u8>, s: &str) {
        out.push(0xa0 | s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }

    fn array(out: &mut Vec<u8>, len: usize) {
        out.push(0xdd);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }

    /// A map `{type: "events", events: [], pad: [nil × n]}` built by hand.
    fn padded_events(n: usize) -> Vec<u8> {
        let mut out = vec![0x83];
        str(&mut out, "type");
        str(&mut out, "events");
        str(&mut out, "events");
        array(&mut out, 0);
        str(&mut out, "pad");
        array(&mut out, n);
        out.resize(out.len() + n, 0xc0);
        out
    }

    #[test]
    fn unknown_fields_full_of_nils_are_skipped_not_kept() {
        let bytes = padded_events(1_000_000);
        let kind = message_type(&bytes).unwrap();
        assert_eq!(kind, "events");
        let TrackerMessage::Events { events } = decode(kind, &bytes).unwrap() else {
            panic!("not events");
        };
        assert!(events.is_empty());
    }

    #[test]
    fn arrays_longer_than_the_bound_and_deep_nesting_are_refused() {
        let canvases = |n: usize| {
            let mut out = vec![0x84];
            str(&mut out, "type");
            str(&mut out, "call_join");
            str(&mut out, "audio");
            out.push(0xc3);
            str(&mut out, "video");
            out.push(0xc3);
            str(&mut out, "canvases");
            array(&mut out, n);
            out.resize(out.len() + n, 0x01);
            out
        };
        assert!(decode("call_join", &canvases(MAX_ELEMENTS)).is_ok());
        let error = decode("call_join", &canvases(MAX_ELEMENTS + 1)).unwrap_err();
        assert!(matches!(error, FrameError::Malformed { .. }), "{error}");

        let mut deep = vec![0x82];
        str(&mut deep, "type");
        str(&mut deep, "hangup");
        str(&mut deep, "x");
        deep.extend(std::iter::repeat_n(0x91, 100_000));
        deep.push(0xc0);
        assert!(message_type(&deep).is_err());
        assert!(decode("hangup", &deep).is_err());
    }

    #[test]
    fn hello_fields_over_their_caps_are_refused() {
        assert_eq!(check_hello(&hello()), Ok(()));
        let mut long_url = hello();
        long_url.page.url = "x".repeat(MAX_URL_BYTES + 1);
        assert!(check_hello(&long_url).unwrap_err().contains("page.url"));
        let mut many = hello();
        for i in 0..=MAX_METADATA_ENTRIES {
            many.metadata.insert(i.to_string(), String::new());
        }
        assert!(check_hello(&many).unwrap_err().contains("entries"));
        let mut big_value = hello();
        big_value
            .metadata
            .insert("k".into(), "v".repeat(MAX_METADATA_VALUE_BYTES + 1));
        assert!(check_hello(&big_value).is_err());
        let mut agent = hello();
        agent.page.user_agent = "u".repeat(MAX_USER_AGENT_BYTES + 1);
        assert!(check_hello(&agent).is_err());
    }
}
