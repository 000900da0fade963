// Generated from src/protocol/agent.rs by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.

import type { CallOffer, IceCandidate } from "./call";
import type { AgentRef } from "./grants";
import type { RecordKind } from "./records";

/**
 * Messages the server sends an agent on `GET /api/v1/sessions/{id}/live`.
 */
export type AgentMessage =
  | { "type": "events", events: Array<DeliveredEvent>, }
  | { "type": "caught_up", seq_num: number, }
  | { "type": "joined", agent: AgentRef, }
  | { "type": "error", error: string, message: string, }
  | { "type": "call_offer" } & CallOffer
  | { "type": "call_candidate", candidate: IceCandidate, }
  | { "type": "call_closed", reason: string, }
  | { "type": "view_consent", state: ViewConsentState, };

/**
 * One event as an agent receives it: reassembled, deduplicated, in stream order.
 */
export type DeliveredEvent = {
/**
 * S2 sequence number of the event's last record; resume after it with `from_seq = seq_num + 1`.
 */
seq_num: number,
/**
 * When S2 stored it, ms since the Unix epoch.
 */
ts: number, kind: RecordKind, tab: string,
/**
 * The tracker's sequence number (0 for server records).
 */
client_seq: number,
/**
 * When the tracker recorded it (or the server wrote it), ms since the Unix epoch.
 */
client_ts: number,
/**
 * UTF-8 JSON.
 */
data: Uint8Array, };

/**
 * Where an agent stands with a user who is asked before anyone watches.
 */
export type ViewConsentState =
  | "asking"
  | "granted"
  | "declined"
  | "revoked";
