//! cobrowse: a live co-browsing server on one durable S2 stream per browser session.
//!
//! The layers, from the edge inwards; each uses only those below it (`scripts/module-graph`
//! draws the graph and checks it has no cycle; docs/architecture.md walks through it):
//!
//! - [`app`]: starts the server and shuts it down in order, and routes requests to the handlers.
//! - [`tracker`]: a user's page connects over a WebSocket, says hello, and sends rrweb events in
//!   batches, each acknowledged once S2 has it.
//! - [`agent`]: agents follow a session live over a WebSocket or Server-Sent Events, each through
//!   its own subscription that catches up from any point and then follows the session's feed.
//! - [`http`]: the agents' REST API (list, one session, export, recordings) and its errors.
//! - [`state`]: what every handler of the node shares (rooms, the signal bus, the store, tokens,
//!   limits), built by [`app`].
//! - [`session`]: the live state of the sessions this node serves: the registry of rooms, one
//!   room per session (writer slot, sequence numbers, rate limit, page info), and the pure
//!   consent state machine whose effects a room applies.
//! - [`directory`]: the session directory: compact summaries of every session in S2 day streams,
//!   folded by every node into an in-memory index that answers the session list and its search
//!   and tells watching consoles what changed.
//! - [`codes`]: help codes: a user's page gets a 6-digit code that any node resolves to the
//!   session, kept in the `cluster/codes` stream with the wrong guesses that lock guessers out.
//! - [`call`]: calls through the server's own SFU, whose pure plan decides who sends, receives
//!   and records, and recordings archived in S2.
//! - [`signal`]: agents' signals to trackers through the shared `cluster/signals` stream, whatever
//!   node each side is connected to; delivers into channels.
//! - [`store`]: everything that touches S2: one interface, two implementations (s2-lite's engine
//!   in-process, s2-sdk for S2 cloud or a separate store), stream naming, record framing, the
//!   session's only writer and the feed it publishes to.
//! - [`protocol`]: every type that crosses the wire, the source of the TypeScript types.
//! - Leaves everyone may use: [`auth`] (agent tokens, project keys, the session tokens trackers
//!   write with), [`metrics`], [`clock`].
//!
//! [`client`] holds clients of the protocol (a call participant) for the load tool and the tests.
//! The command line, the load tool and the `sessions` client belong to the binary (src/main.rs),
//! not to this library.

pub mod agent;
pub mod app;
pub mod auth;
pub mod call;
pub mod client;
pub mod clock;
pub mod codes;
pub mod directory;
pub mod http;
pub mod metrics;
pub mod protocol;
pub mod seal;
pub mod session;
pub mod signal;
pub mod state;
pub mod store;
pub mod tracker;
