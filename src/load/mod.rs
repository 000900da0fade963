//! `cobrowse load`: drives simulated trackers and agents over the real protocol against a running
//! server (or the [`relay`] baseline) and reports throughput, latency, loss and cost.
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
//! [`Participant`](crate::client::call::Participant) of the library's call client, and the
//! server's CPU per media stream it forwards.

mod agent;
pub mod call;
pub mod mix;
pub mod open_files;
mod process;
pub mod relay;
mod report;
mod sim;
pub mod step;

pub use call::{CallLoadConfig, run_calls};
pub use report::{CallReport, Report};
pub use sim::{LoadConfig, LoadError, Sending, run};
pub use step::StepPlan;
