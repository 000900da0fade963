//! cobrowse: a live co-browsing server on one durable S2 stream per browser session.
//!
//! A tracker in the user's page connects to [`ingest`] over a WebSocket and sends rrweb events.
//! The node that holds the connection claims the session's stream ([`stream`]), and its
//! [`writer`] appends the events, framed by [`frame`], acknowledging each batch only once S2 has
//! it. Agents follow the session through [`live`] (WebSocket or SSE): each reads through a
//! [`tail::Subscription`] that catches up from any point and then follows the session's live
//! [`feed`]: the writer's acknowledgements on the node that writes it, one shared S2 read
//! elsewhere. Everything reaches S2 through [`store`]: s2-lite's engine in-process, or s2-sdk for
//! S2 cloud and a separate store. The REST [`api`] lists sessions from S2 alone ([`listing`]) and
//! exports them for replay. [`server`] wires it together around the handlers' shared [`state`];
//! [`embedded`] runs s2-lite in-process so one command starts everything. [`protocol`] holds
//! every wire type; [`client`] holds clients of it (a call participant) for the load tool and the
//! tests. The command line, the load tool and the `sessions` client belong to the binary
//! (src/main.rs), not to this library.
//!
//! Agents act on the page through [`signal`]: their requests, input and strokes travel through a
//! shared S2 stream to whichever node holds the tracker, whose room checks them against
//! [`consent`] (what the user granted) before anything reaches the page.

pub mod api;
pub mod auth;
pub mod call;
pub mod client;
pub mod consent;
pub mod embedded;
pub mod feed;
pub mod frame;
pub mod ingest;
pub mod limits;
pub mod listing;
pub mod live;
pub mod metrics;
pub mod protocol;
pub mod room;
pub mod server;
pub mod session;
pub mod signal;
pub mod state;
pub mod store;
pub mod stream;
pub mod tail;
pub mod writer;
