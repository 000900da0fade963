//! The agents' HTTP surface besides their live sockets: the REST API ([`rest`]), the session list
//! it answers from S2 ([`listing`]), and the one error type every agent-facing handler answers
//! with ([`error`]); and who an agent request is from, with the tickets that let a browser open a
//! live socket without its token in the URL ([`agent_auth`]).

pub mod agent_auth;
pub mod error;
pub mod listing;
pub mod rest;
