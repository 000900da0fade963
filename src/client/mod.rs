//! Clients of the wire protocol, written from docs/protocol.md rather than from the server's
//! code, so that what they show about the server holds for any client that follows the contract.
//! The load tool (`cobrowse load`) drives servers with them and the integration tests use the same
//! ones. They depend on [`crate::protocol`] and the leaf [`crate::clock`] alone: nothing here reaches
//! into the server.

pub mod call;
