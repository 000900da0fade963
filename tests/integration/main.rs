//! Integration tests: real servers on loopback with the embedded s2-lite (or separate `cobrowse`
//! processes sharing one), real WebSockets, no mocks. One test binary, so the crate is linked once.

mod audit;
mod calls;
mod cluster;
mod common;
mod compat;
mod compat_fixture;
mod compat_record;
mod compression;
mod credentials;
mod deploy_manifests;
mod directory;
mod faults;
mod help_codes;
mod hostile_trackers;
mod live_path;
mod load_tool;
mod object_store;
mod observability;
mod oidc;
mod one_binary;
mod roles;
mod room_server;
mod sign_in;
mod signalling;
mod view_consent;
