//! Agents following a session: the live WebSocket ([`live`]) and Server-Sent Events ([`sse`]),
//! each agent reading through its own [`subscription`] that catches up from any point and then
//! follows the session's feed, past its [`view_gate`] (closed until the user lets the agent in,
//! in a session that asks).

pub mod live;
pub mod sse;
pub mod subscription;
pub mod view_gate;
