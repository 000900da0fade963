//! Tracker connections (`GET /api/v1/track`): the handshake, then batches of events in, and an
//! acknowledgement out for each batch once S2 has it.

pub mod connection;

pub use connection::handle;
