//! Signals from agents to trackers, across nodes: an agent may be connected to one node and the
//! session's tracker to another, so every signal goes through S2 (docs/protocol.md §9.1).
//!
//! The [`bus`] appends this node's signals to the shared `cluster/signals` stream and follows
//! that stream, handing each signal for a session to whoever listens on this node (the session
//! core decides whether it holds the session), and each call message for one of this node's
//! agents to that agent's [`inbox`]. Nothing here knows rooms or calls: it delivers into channels.
//! Records are signed under the deployment's secret ([`seal`]), since the store is not.

pub mod bus;
pub mod inbox;
pub mod seal;

pub use bus::{Incoming, SignalBus};
pub use inbox::Inboxes;
