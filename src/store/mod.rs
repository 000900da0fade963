//! Everything that touches S2: the one interface through which the crate reaches it, its two
//! implementations, and what the crate builds on it.
//!
//! Everything above this module (sessions, signals, recordings) speaks in plain streams of
//! records: append with a condition, read a range, check the tail, follow as records arrive, and
//! create or list streams. [`Backend`] is that interface:
//!
//! - [`sdk::SdkBackend`] goes through `s2-sdk` over HTTP/2, for S2 cloud and for a separate
//!   `cobrowse store` (s2-lite on its own).
//! - [`lite::LiteBackend`] calls s2-lite's engine directly when it runs inside this process (the
//!   embedded default), so an append or a read costs no HTTP/2 framing, no loopback socket and no
//!   protobuf round trip.
//!
//! Both give the same answers; the integration suite runs on the embedded one and the multi-node
//! tests run through the SDK against a separate store.
//!
//! On top of that interface: [`stream`] names the crate's streams and gives typed access to a
//! session's stream and the signal stream; [`frame`] turns events into record bodies and back;
//! the [`writer`] is a session's only appender on a node, acknowledging once S2 has the records,
//! and publishes what landed to the session's [`feed`]; [`audit`] is the stream of reads that
//! outlives sessions; [`embedded`] runs s2-lite in-process, keeping its data where [`location`] says.

pub mod audit;
pub mod backend;
pub mod counted;
pub mod embedded;
pub mod feed;
pub mod frame;
#[cfg(test)]
pub mod held;
pub mod lite;
pub mod location;
pub mod sdk;
pub mod stream;
pub mod writer;

pub use backend::*;
