//! WebSocket close codes the server uses, with the reason text carried beside them.

/// Server shutting down; reconnect (to another node) and resend what was not acknowledged.
pub const GOING_AWAY: u16 = 1001;
/// A frame could not be decoded as a message of this protocol.
pub const INVALID_FRAME: u16 = 1007;
/// A frame was larger than `max_frame_bytes`.
pub const TOO_BIG: u16 = 1009;
/// The store failed; reconnect and resend.
pub const INTERNAL: u16 = 1011;
/// Wrong, missing or expired project key, session token or agent token.
pub const UNAUTHORIZED: u16 = 4001;
/// A message out of order (no `hello` first), an unknown `type`, or an unsupported version.
pub const PROTOCOL: u16 = 4002;
/// The page's origin is not allowed for this project.
pub const FORBIDDEN_ORIGIN: u16 = 4003;
/// No such session.
pub const NOT_FOUND: u16 = 4004;
/// An agent that could not keep up; reconnect with `from_seq` given in the reason.
pub const TOO_SLOW: u16 = 4008;
/// Another node took the session over; this connection is no longer its writer.
pub const TAKEN_OVER: u16 = 4009;
/// The session has ended; a tracker must start a new one.
pub const ENDED: u16 = 4010;
/// The user declined to be watched, or stopped it (`view: ask`); asking again opens a new prompt.
pub const NOT_ALLOWED: u16 = 4403;
/// Too many events per second in this session.
pub const RATE_LIMITED: u16 = 4029;

/// A close reason within WebSocket's 123-byte limit, cut at a character boundary.
pub fn reason(text: &str) -> String {
    super::bounds::clip(text, 120)
}

#[cfg(test)]
mod tests {
    use super::reason;

    #[test]
    fn close_reasons_fit_the_websocket_limit_even_in_multibyte_text() {
        let long = "é".repeat(200);
        let cut = reason(&long);
        assert!(cut.len() <= 123);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(reason("short"), "short");
    }
}
