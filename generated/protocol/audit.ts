// Generated from src/protocol/audit.rs by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.

import type { Role } from "./grants";
import type { SessionId } from "./session";

/**
 * Body of one record of the audit stream (single-line JSON, no envelope): an agent read a
 * session's recording, or erased a session, through the node `node`.
 */
export type AuditRecord = {
/**
 * The session read; absent for what concerns no session (a wrong help code).
 */
session?: SessionId,
/**
 * The authenticated agent's name.
 */
agent: string,
/**
 * The `--node-id` of the node that served the read.
 */
node: string, } & ({ "action": "export", tab: string | null, } | { "action": "detail" } | { "action": "recording", recording: string, file: string, } | { "action": "erase" } | { "action": "follow", via: FollowVia, agent_id: string, from_seq: number, } | { "action": "code", tab: string, } | { "action": "code_refused", reason: CodeRefusal, } | { "action": "refused", what: string, role: Role, needs: Role | null, });

/**
 * What was read.
 */
export type AuditAction =
  | { "action": "export", tab: string | null, }
  | { "action": "detail" }
  | { "action": "recording", recording: string, file: string, }
  | { "action": "erase" }
  | { "action": "follow", via: FollowVia, agent_id: string, from_seq: number, }
  | { "action": "code", tab: string, }
  | { "action": "code_refused", reason: CodeRefusal, }
  | { "action": "refused", what: string, role: Role, needs: Role | null, };

/**
 * Why a help code led nowhere.
 */
export type CodeRefusal =
  | "not_found"
  | "expired"
  | "used"
  | "locked";

/**
 * How an agent followed a session.
 */
export type FollowVia =
  | "websocket"
  | "sse";

/**
 * One record of the audit stream as `GET /api/v1/audit` lists it.
 */
export type AuditEntry = {
/**
 * Its position in the audit stream.
 */
seq_num: number,
/**
 * When S2 stored it, ms since the Unix epoch.
 */
ts: number, record: AuditRecord, };

/**
 * A page of the audit, oldest first; pass `next_seq` as `from_seq` for the next one.
 */
export type AuditPage = { entries: Array<AuditEntry>,
/**
 * Where to continue, or null when the page reached the stream's tail.
 */
next_seq: number | null, };
