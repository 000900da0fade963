//! Signed signal records: [`crate::seal`] with the signal stream's label, for `SignalRecord`s.
//!
//! A signal is a command to a page (control input, a stroke), so a record anyone could append to
//! `cluster/signals` would let them act in an agent's name; the node holding the session acts only
//! on records a node of this deployment signed (docs/security.md).

use bytes::Bytes;

use crate::protocol::SignalRecord;
use crate::seal::{Seal, Unsealed};

/// Keeps a signal's tag from being valid in any other stream or as any other HMAC of the secret.
const LABEL: &[u8] = b"cobrowse/signal\0";

/// Signs and checks signal records with the deployment's secret.
#[derive(Clone)]
pub struct SignalSeal(Seal);

impl SignalSeal {
    pub fn new(secret: &[u8]) -> Self {
        Self(Seal::new(secret, LABEL))
    }

    /// The body to append for `record`, signed at `now_ms`.
    pub fn seal(&self, record: &SignalRecord, now_ms: u64) -> Bytes {
        self.0.seal_record(record, now_ms)
    }

    /// The record in `body`, if a node of this deployment signed it shortly before `stored_ms`.
    pub fn open(&self, body: &[u8], stored_ms: u64) -> Result<SignalRecord, Unsealed> {
        self.0.open_record(body, stored_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AgentRef, SessionId, Signal};

    #[test]
    fn a_signal_round_trips_and_no_other_secret_opens_it() {
        let record = SignalRecord {
            session: SessionId::new(),
            agent: AgentRef {
                id: "a1".into(),
                name: "alice".into(),
            },
            node: "node-b".into(),
            signal: Signal::Resync,
        };
        let body = SignalSeal::new(b"shared").seal(&record, 1_000);
        assert_eq!(SignalSeal::new(b"shared").open(&body, 1_500), Ok(record));
        assert_eq!(
            SignalSeal::new(b"other").open(&body, 1_500),
            Err(Unsealed::BadSignature)
        );
    }
}
