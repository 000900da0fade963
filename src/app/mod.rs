//! The running server: configuration, start and shutdown ([`server`]), the accept loop with its
//! per-address and header-time limits ([`listener`]), which handler answers which route
//! ([`routes`]), the access log around them ([`access_log`]), and the web parts it serves, built
//! into the binary ([`web`]).

pub mod access_log;
pub mod listener;
pub mod routes;
pub mod secret;
pub mod server;
pub mod web;
