//! The running server: configuration, start and shutdown ([`server`]), the accept loop with its
//! per-address and header-time limits ([`listener`]), and which handler answers which route
//! ([`routes`]).

pub mod listener;
pub mod routes;
pub mod server;
