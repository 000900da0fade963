//! The agents' HTTP surface besides their live sockets: the REST API ([`rest`]), the session list
//! it answers from S2 ([`listing`]), and the one error type every agent-facing handler answers
//! with ([`error`]).

pub mod error;
pub mod listing;
pub mod rest;
