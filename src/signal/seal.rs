//! Signed signal records.
//!
//! The store has no authentication of its own (s2-lite takes any token), so anything that can
//! reach it could append to `cluster/signals` a `control` signal in the name of an agent holding
//! a grant, and the node holding the session would hand it to the page. Every record a node
//! appends is therefore signed with HMAC-SHA256 under the deployment's `--secret`, which only the
//! nodes hold, and a follower drops what is unsigned, badly signed, or signed long before the
//! store took it (a replay of a record read from the stream earlier).
//!
//! A record body is `[version][signed_ms: u64 BE][tag: 32 bytes][MessagePack SignalRecord]`; the
//! tag covers a label that keeps it from being valid as any other HMAC of this secret, the
//! version, the time and the record. Pure code: time comes in as arguments.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::protocol::SignalRecord;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
/// Keeps a signal's tag from being valid as a session token's or a ticket's under the same secret.
const LABEL: &[u8] = b"cobrowse/signal\0";
const TAG_BYTES: usize = 32;
const HEADER_BYTES: usize = 1 + 8 + TAG_BYTES;
/// How long after it was signed the store may take a record. Signals are appended within a
/// moment of being signed; the margin covers clock skew between a node and the store and an
/// append retried after a slow store. A record read back later and appended again is refused.
pub const MAX_AGE_MS: u64 = 60_000;

/// Why a record read from the signal stream was dropped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unsealed {
    #[error("the signal record is not signed")]
    Unsigned,
    #[error("the signal record's signature does not match (another secret, or altered)")]
    BadSignature,
    #[error("the signal record was signed {age_ms} ms before the store took it (a replay?)")]
    Stale { age_ms: u64 },
    #[error("the signal record does not decode: {0}")]
    Malformed(String),
}

impl Unsealed {
    /// The `reason` label of `cobrowse_rejected_total` that counts it.
    pub fn metric_reason(&self) -> &'static str {
        match self {
            Unsealed::Unsigned => "signal_unsigned",
            Unsealed::BadSignature => "signal_bad_signature",
            Unsealed::Stale { .. } => "signal_stale",
            Unsealed::Malformed(_) => "signal_malformed",
        }
    }
}

/// Signs and checks signal records with the deployment's secret.
#[derive(Clone)]
pub struct SignalSeal {
    mac: HmacSha256,
}

impl SignalSeal {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            mac: HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length"),
        }
    }

    fn tag(&self, signed_ms: u64, payload: &[u8]) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(LABEL);
        mac.update(&[VERSION]);
        mac.update(&signed_ms.to_be_bytes());
        mac.update(payload);
        mac
    }

    /// The body to append for `record`, signed at `now_ms`.
    pub fn seal(&self, record: &SignalRecord, now_ms: u64) -> Bytes {
        let payload = rmp_serde::to_vec_named(record).expect("signal records serialize");
        let tag = self.tag(now_ms, &payload).finalize().into_bytes();
        let mut body = Vec::with_capacity(HEADER_BYTES + payload.len());
        body.push(VERSION);
        body.extend_from_slice(&now_ms.to_be_bytes());
        body.extend_from_slice(&tag);
        body.extend_from_slice(&payload);
        Bytes::from(body)
    }

    /// The record in `body`, if a node of this deployment signed it shortly before `stored_ms`
    /// (when the store took it). The tag is checked before the record is decoded.
    pub fn open(&self, body: &[u8], stored_ms: u64) -> Result<SignalRecord, Unsealed> {
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
        crate::protocol::from_msgpack(payload).map_err(|e| Unsealed::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AgentRef, SessionId, Signal};

    fn record() -> SignalRecord {
        SignalRecord {
            session: SessionId::new(),
            agent: AgentRef {
                id: "a1".into(),
                name: "alice".into(),
            },
            node: "node-b".into(),
            signal: Signal::Resync,
        }
    }

    #[test]
    fn a_record_signed_with_the_secret_opens_and_round_trips() {
        let seal = SignalSeal::new(b"shared");
        let r = record();
        let body = seal.seal(&r, 1_000);
        assert_eq!(seal.open(&body, 1_500), Ok(r));
    }

    #[test]
    fn unsigned_forged_altered_and_replayed_records_are_refused() {
        let seal = SignalSeal::new(b"shared");
        let r = record();
        let plain = rmp_serde::to_vec_named(&r).unwrap();
        assert_eq!(seal.open(&plain, 0), Err(Unsealed::Unsigned));
        assert_eq!(seal.open(b"", 0), Err(Unsealed::Unsigned));

        let forged = SignalSeal::new(b"guessed").seal(&r, 1_000);
        assert_eq!(seal.open(&forged, 1_000), Err(Unsealed::BadSignature));

        let mut altered = seal.seal(&r, 1_000).to_vec();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(seal.open(&altered, 1_000), Err(Unsealed::BadSignature));

        let mut redated = seal.seal(&r, 1_000).to_vec();
        redated[1..9].copy_from_slice(&100_000u64.to_be_bytes());
        assert_eq!(
            seal.open(&redated, 100_000),
            Err(Unsealed::BadSignature),
            "the time is signed too"
        );

        let old = seal.seal(&r, 1_000);
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
