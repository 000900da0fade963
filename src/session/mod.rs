//! The live state of the sessions this node serves. [`rooms`] is the registry: who is connected
//! to which session, and when an abandoned session ends. A [`room`] holds one session's writer
//! slot, per-tab sequence numbers, rate limit and page info, and applies what its pure
//! [`consent`] state machine decides; [`limits`] is the token bucket it charges; [`room_info`] is
//! what trackers told it. [`orphans`] ends the sessions of nodes that went away. [`view_access`]
//! reads from a session's stream whether it withholds its page from an agent (`view: ask`).

pub mod consent;
pub mod labels;
pub mod limits;
pub mod orphans;
pub mod room;
pub mod room_info;
pub mod rooms;
pub mod view_access;
