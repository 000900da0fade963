//! Agents following a session: the live WebSocket and Server-Sent Events ([`live`]), each agent
//! reading through its own [`subscription`] that catches up from any point and then follows the
//! session's feed.

pub mod live;
pub mod subscription;
