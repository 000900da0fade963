//! Signed records for the shared streams every node appends to.
//!
//! The store has no authentication of its own (s2-lite takes any token), so anything that can
//! reach it could append to a shared stream: a `control` signal in the name of an agent holding a
//! grant, or a directory entry pointing agents at a session that does not exist. Every record a
//! node appends to such a stream is therefore signed with HMAC-SHA256 under the deployment's
//! `--secret`, which only the nodes hold, and a reader drops what is unsigned, badly signed, or
//! signed long before the store took it (a replay of a record read from the stream earlier).
//!
//! A record body is `[version][signed_ms: u64 BE][tag: 32 bytes][payload]`; the tag covers a label
//! naming the stream's kind (so a record is valid in no other kind of stream, and no tag is valid
//! as a session token's or a ticket's under the same secret), the version, the time and the
//! payload. Pure code: time comes in as arguments.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const TAG_BYTES: usize = 32;
const HEADER_BYTES: usize = 1 + 8 + TAG_BYTES;
/// How long after it was signed the store may take a record. Records are appended within a
/// moment of being signed; the margin covers clock skew between a node and the store and an
/// append retried after a slow store. A record read back later and appended again is refused.
pub const MAX_AGE_MS: u64 = 60_000;

/// Why a record read from a signed stream was dropped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unsealed {
    #[error("the record is not signed")]
    Unsigned,
    #[error("the record's signature does not match (another secret, or altered)")]
    BadSignature,
    #[error("the record was signed {age_ms} ms before the store took it (a replay?)")]
    Stale { age_ms: u64 },
    #[error("the record does not decode: {0}")]
    Malformed(String),
}

impl Unsealed {
    /// The `reason` label of `cobrowse_rejected_total` that counts it, under `kind` (`signal`,
    /// `directory`).
    pub fn metric_reason(&self, kind: &str) -> String {
        let why = match self {
            Unsealed::Unsigned => "unsigned",
            Unsealed::BadSignature => "bad_signature",
            Unsealed::Stale { .. } => "stale",
            Unsealed::Malformed(_) => "malformed",
        };
        format!("{kind}_{why}")
    }
}

/// Signs and checks records of one kind of stream with the deployment's secret.
#[derive(Clone)]
pub struct Seal {
    mac: HmacSha256,
    label: &'static [u8],
}

impl Seal {
    /// `label` names the kind of stream, e.g. `b"cobrowse/signal\0"`.
    pub fn new(secret: &[u8], label: &'static [u8]) -> Self {
        Self {
            mac: HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length"),
            label,
        }
    }

    fn tag(&self, signed_ms: u64, payload: &[u8]) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(self.label);
        mac.update(&[VERSION]);
        mac.update(&signed_ms.to_be_bytes());
        mac.update(payload);
        mac
    }

    /// The body to append for `payload`, signed at `now_ms`.
    pub fn seal(&self, payload: &[u8], now_ms: u64) -> Bytes {
        let tag = self.tag(now_ms, payload).finalize().into_bytes();
        let mut body = Vec::with_capacity(HEADER_BYTES + payload.len());
        body.push(VERSION);
        body.extend_from_slice(&now_ms.to_be_bytes());
        body.extend_from_slice(&tag);
        body.extend_from_slice(payload);
        Bytes::from(body)
    }

    /// The payload of `body`, if a node of this deployment signed it for this kind of stream
    /// shortly before `stored_ms` (when the store took it). Check the tag before decoding.
    pub fn open<'a>(&self, body: &'a [u8], stored_ms: u64) -> Result<&'a [u8], Unsealed> {
        if body.len() < HEADER_BYTES || body[0] != VERSION {
            return Err(Unsealed::Unsigned);
        }
        let (header, payload) = body.split_at(HEADER_BYTES);
        let mut signed = [0u8; 8];
        signed.copy_from_slice(&header[1..9]);
        let signed_ms = u64::from_be_bytes(signed);
        self.tag(signed_ms, payload)
            .verify_slice(&header[9..])
            .map_err(|_| Unsealed::BadSignature)?;
        let age_ms = stored_ms.saturating_sub(signed_ms);
        if age_ms > MAX_AGE_MS {
            return Err(Unsealed::Stale { age_ms });
        }
        Ok(payload)
    }

    /// The body to append for `record`, as MessagePack with field names, signed at `now_ms`.
    pub fn seal_record<T: Serialize>(&self, record: &T, now_ms: u64) -> Bytes {
        let payload = rmp_serde::to_vec_named(record).expect("records serialize");
        self.seal(&payload, now_ms)
    }

    /// The record in `body` ([`Seal::open`]), decoded within the protocol's bounds.
    pub fn open_record<T: DeserializeOwned>(
        &self,
        body: &[u8],
        stored_ms: u64,
    ) -> Result<T, Unsealed> {
        let payload = self.open(body, stored_ms)?;
        crate::protocol::from_msgpack(payload).map_err(|e| Unsealed::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABEL: &[u8] = b"test/record\0";

    #[test]
    fn a_payload_signed_with_the_secret_opens() {
        let seal = Seal::new(b"shared", LABEL);
        let body = seal.seal(b"payload", 1_000);
        assert_eq!(seal.open(&body, 1_500), Ok(&b"payload"[..]));
    }

    #[test]
    fn unsigned_forged_altered_relabelled_and_replayed_records_are_refused() {
        let seal = Seal::new(b"shared", LABEL);
        assert_eq!(seal.open(b"payload", 0), Err(Unsealed::Unsigned));
        assert_eq!(seal.open(b"", 0), Err(Unsealed::Unsigned));

        let forged = Seal::new(b"guessed", LABEL).seal(b"payload", 1_000);
        assert_eq!(seal.open(&forged, 1_000), Err(Unsealed::BadSignature));

        let other_kind = Seal::new(b"shared", b"other/kind\0").seal(b"payload", 1_000);
        assert_eq!(
            seal.open(&other_kind, 1_000),
            Err(Unsealed::BadSignature),
            "a record of another kind of stream is not valid here"
        );

        let mut altered = seal.seal(b"payload", 1_000).to_vec();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(seal.open(&altered, 1_000), Err(Unsealed::BadSignature));

        let mut redated = seal.seal(b"payload", 1_000).to_vec();
        redated[1..9].copy_from_slice(&100_000u64.to_be_bytes());
        assert_eq!(
            seal.open(&redated, 100_000),
            Err(Unsealed::BadSignature),
            "the time is signed too"
        );

        let old = seal.seal(b"payload", 1_000);
        assert_eq!(
            seal.open(&old, 1_000 + MAX_AGE_MS + 1),
            Err(Unsealed::Stale {
                age_ms: MAX_AGE_MS + 1
            })
        );
        assert!(
            seal.open(&old, 0).is_ok(),
            "a store clock behind the node's is no replay"
        );
    }
}
