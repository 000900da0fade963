// Generated from src/protocol/codes.rs by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.

import type { SessionId } from "./session";

/**
 * `POST /api/v1/codes`: the code the user read out.
 */
export type CodeRequest = { code: string, };

/**
 * The session and tab a code was issued for: open its live view.
 */
export type CodeResolved = { session_id: SessionId, tab: string, };
