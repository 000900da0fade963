//! The running server: configuration, start and shutdown ([`server`]), the accept loop with its
//! per-address and header-time limits ([`listener`]), which handler answers which route
//! ([`routes`]), and the web parts it serves, built into the binary ([`web`]).

pub mod listener;
pub mod routes;
pub mod server;
pub mod web;
