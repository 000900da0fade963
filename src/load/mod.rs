//! `cobrowse load`: drives simulated trackers and agents over the real protocol against a running
//! server (or the [`relay`] baseline) and reports throughput, latency, loss and cost. Part of the
//! binary, not of the library: it is a client of the server, and [`command`] is its command line.
//!
//! Each simulated session is one tracker that sends a realistic mix of rrweb events ([`mix`]) at a
//! steady rate; a share of them (`--watched`) have `M` agents following them live. A tracker
//! stamps every event's `ts` with the microsecond it was sent; an agent receiving it records the
//! difference, so latency is measured end to end on one clock. Every event is accounted for: what
//! the server acknowledged must reach every agent exactly once. Agents joining during the run
//! (`--joins`) time how long the first full snapshot takes. [`step`] raises the session count run
//! by run until a target breaks.
//!
//! With `--call-agents`, it measures calls instead ([`call`]): the user and agents of each
//! session in a video call through the server's SFU, each a
//! [`Participant`](cobrowse::client::call::Participant) of the library's call client, and the
//! server's CPU per media stream it forwards.
//!
//! With `--seed-sessions`, it fills the session directory instead ([`seed`]): thousands of
//! sessions with distinct users and metadata, most of them ended, some held live; with
//! `--directory-bench` it times the session list and search over them, and how fast a session
//! started on one node shows on another ([`directory`]).

mod agent;
mod call;
mod command;
mod directory;
mod mix;
pub mod open_files;
mod process;
pub mod relay;
mod report;
mod seed;
mod sim;
mod step;

pub use command::run_command;
pub use sim::Sending;
pub use step::StepPlan;
