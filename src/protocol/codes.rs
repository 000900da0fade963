//! Help codes: a user asks for help, the page shows a 6-digit code, an agent types it and lands in
//! the user's session. The records nodes append to `cluster/codes` (issued, used, failed: the
//! store's order decides every race), and the REST bodies of `POST /api/v1/codes`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{AgentRef, SessionId};

/// Digits of a code: a million codes, so the lock-out (docs/security.md) is what stops guessing.
pub const CODE_DIGITS: usize = 6;
/// Codes there are: `000000`..=`999999`.
pub const CODE_SPACE: u32 = 1_000_000;

/// Formats a code as the page shows it and the agent types it: six digits, zeros kept.
pub fn format_code(code: u32) -> String {
    format!("{code:06}")
}

/// Reads what an agent typed: six digits, spaces and dashes between them allowed (people read
/// codes out in groups); anything else is not a code.
pub fn parse_code(typed: &str) -> Option<u32> {
    if typed.len() > 32 {
        return None;
    }
    let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() != CODE_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A record of `cluster/codes` (MessagePack, sealed like the directory's). Every node folds all
/// of them, in the stream's order, into the same book (`codes::book`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CodeRecord {
    /// The node holding `session`'s tracker gave its tab `tab` the code `code`, valid until
    /// `expires_ms`. A code already live when this lands makes this record void: the first in
    /// the stream wins, and the loser picks another.
    Issued {
        code: u32,
        session: SessionId,
        tab: String,
        project: String,
        at_ms: u64,
        expires_ms: u64,
    },
    /// `agent` resolved `code` through the node `node`. Only the first `used` of an issue counts:
    /// a second agent racing for the same code is told it is not found.
    Used {
        code: u32,
        session: SessionId,
        tab: String,
        agent: AgentRef,
        node: String,
        at_ms: u64,
    },
    /// The agent named `agent` (its stable name), whose projects are `scope` (`["*"]`: all of
    /// them), typed a code that resolves to nothing it may see.
    Failed {
        agent: String,
        scope: Vec<String>,
        at_ms: u64,
    },
}

/// `POST /api/v1/codes`: the code the user read out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CodeRequest {
    pub code: String,
}

/// The session and tab a code was issued for: open its live view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CodeResolved {
    pub session_id: SessionId,
    pub tab: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_typed_keep_their_zeros() {
        assert_eq!(parse_code("004217"), Some(4217));
        assert_eq!(parse_code("004 217"), Some(4217));
        assert_eq!(parse_code("004-217"), Some(4217));
        assert_eq!(format_code(4217), "004217");
        assert_eq!(format_code(999_999), "999999");
    }

    #[test]
    fn what_is_not_six_digits_is_no_code() {
        let long = "1".repeat(40);
        for typed in [
            "",
            "12345",
            "1234567",
            "12a456",
            "+12345",
            "١٢٣٤٥٦",
            long.as_str(),
        ] {
            assert_eq!(parse_code(typed), None, "{typed:?}");
        }
    }
}
