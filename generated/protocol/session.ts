// Generated from src/protocol/session_id.rs by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.


/**
 * The identity of one browser session (all tabs of one user on one site).
 */
export type SessionId = string;
