//! Why a tracker connection is closed: a close code and a reason the tracker can act on.

use crate::protocol::{SessionId, close};
use crate::store::stream::StoreError;
use crate::store::writer::WriterState;

/// Why a connection is closed: a close code and a reason the tracker can act on.
pub(super) struct Reject {
    pub(super) code: u16,
    pub(super) reason: String,
}

impl Reject {
    pub(super) fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }

    /// A text frame: the protocol is binary MessagePack.
    pub(super) fn not_binary() -> Self {
        Self::new(
            close::INVALID_FRAME,
            "send binary MessagePack frames, not text",
        )
    }

    /// The connection itself is gone: nothing can be sent on it any more.
    pub(super) fn lost(reason: impl Into<String>) -> Self {
        Self::new(NO_CLOSE_FRAME, reason)
    }
}

/// Marks a [`Reject`] for a connection that can no longer carry a close frame.
pub(super) const NO_CLOSE_FRAME: u16 = 0;

impl From<StoreError> for Reject {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::NotFound(_) => close::NOT_FOUND,
            StoreError::Ended { .. } => close::ENDED,
            StoreError::TakenOver(_) => close::TAKEN_OVER,
            StoreError::Contended(_) | StoreError::Unavailable(_) | StoreError::Config(_) => {
                close::INTERNAL
            }
        };
        Reject::new(code, e.to_string())
    }
}

pub(super) fn writer_gone(id: SessionId, state: WriterState) -> Reject {
    match state {
        WriterState::TakenOver => Reject::new(
            close::TAKEN_OVER,
            format!("session {id} was taken over by another server"),
        ),
        WriterState::Ended => Reject::new(close::ENDED, format!("session {id} has ended")),
        _ => Reject::new(close::INTERNAL, "the store failed; reconnect and resend"),
    }
}
