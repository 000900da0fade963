//! The running server: configuration, start and shutdown ([`server`]), and which handler answers
//! which route ([`routes`]).

pub mod routes;
pub mod server;
