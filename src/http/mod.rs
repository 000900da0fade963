//! The agents' HTTP surface besides their live sockets: the REST API ([`rest`]), the session list
//! and its live updates, answered from the session directory ([`session_list`]), erasing a session
//! ([`erase`]), resolving the help code a user reads out ([`codes`]), one session read from its stream ([`stream_summary`]), and the one error type
//! every agent-facing handler answers with ([`error`]); and who an agent request is from, with
//! the tickets that let a browser open a live socket without its token in the URL
//! ([`agent_auth`]); what each agent may do, checked before every route acts ([`access`]).

pub mod access;
pub mod agent_auth;
pub mod codes;
pub mod erase;
pub mod error;
pub mod oidc;
pub mod rest;
pub mod session_list;
pub mod stream_summary;
