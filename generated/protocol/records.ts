// Generated from src/protocol/records.rs by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.

import type { AgentRef, DeclineReason, GrantKind, Role } from "./grants";
import type { Stroke } from "./input";
import type { SessionId } from "./session";
import type { PageInfo, ViewMode } from "./tracker";

/**
 * What a record in a session stream holds.
 */
export type RecordKind =
  | "start"
  | "page"
  | "rrweb"
  | "identify"
  | "metadata"
  | "heartbeat"
  | "agent"
  | "end";

/**
 * Body of the `start` record.
 */
export type SessionStart = { session_id: SessionId, project_key: string, created_ms: number, tab: string, page: PageInfo, user_id?: string | null, metadata: { [key in string]: string },
/**
 * The session's `view` mode, from its first `hello`, for its whole life; absent: `notify`.
 */
view?: ViewMode, };

/**
 * Body of a `page` record.
 */
export type PageRecord = { tab: string, page: PageInfo,
/**
 * The node that holds the tracker connection.
 */
node: string, user_id?: string | null, metadata: { [key in string]: string }, };

/**
 * Body of the `end` record.
 */
export type SessionEnd = { reason: EndReason, ended_ms: number, };

/**
 * Why a session ended.
 */
export type EndReason =
  | "ended"
  | "idle";

/**
 * Body of an `agent` record: who, and what happened.
 */
export type AgentRecord = { agent: AgentRef, } & ({ "action": "joined", watchers: Array<AgentRef>, } | { "action": "left", reason: LeftReason, watchers: Array<AgentRef>, } | { "action": "requested", kind: GrantKind, request_id: string, video?: boolean, } | { "action": "busy", kind: GrantKind, holder: AgentRef, } | { "action": "granted", kind: GrantKind, request_id: string,
/**
 * For a call: with video.
 */
video?: boolean,
/**
 * For `view`: whom the grant lets in for the rest of the session, a digest of the
 * signed-in agent's sign-in method and stable name (`session::consent::view::account`).
 */
account?: string, } | { "action": "declined", kind: GrantKind, request_id: string, reason: DeclineReason, } | { "action": "withdrawn", kind: GrantKind, request_id: string, } | { "action": "revoked", kind: GrantKind, } | { "action": "released", kind: GrantKind, } | { "action": "ended", kind: GrantKind, reason: string, } | { "action": "control", tab: string,
/**
 * The input as `ControlInput::audit` keeps it.
 */
input: unknown, } | { "action": "stroke", tab: string, stroke: Stroke, } | { "action": "dropped", what: string, reason: string, count: number, } | { "action": "refused", tab: string, input: string, reason: string, } | { "action": "code", tab: string, } | { "action": "canvas", on: boolean, } | { "action": "forbidden", what: string, role: Role, needs: Role, } | { "action": "recording", recording: string, state: RecordingState, });

export type AgentAction =
  | { "action": "joined", watchers: Array<AgentRef>, }
  | { "action": "left", reason: LeftReason, watchers: Array<AgentRef>, }
  | { "action": "requested", kind: GrantKind, request_id: string, video?: boolean, }
  | { "action": "busy", kind: GrantKind, holder: AgentRef, }
  | { "action": "granted", kind: GrantKind, request_id: string,
/**
 * For a call: with video.
 */
video?: boolean,
/**
 * For `view`: whom the grant lets in for the rest of the session, a digest of the
 * signed-in agent's sign-in method and stable name (`session::consent::view::account`).
 */
account?: string, }
  | { "action": "declined", kind: GrantKind, request_id: string, reason: DeclineReason, }
  | { "action": "withdrawn", kind: GrantKind, request_id: string, }
  | { "action": "revoked", kind: GrantKind, }
  | { "action": "released", kind: GrantKind, }
  | { "action": "ended", kind: GrantKind, reason: string, }
  | { "action": "control", tab: string,
/**
 * The input as `ControlInput::audit` keeps it.
 */
input: unknown, }
  | { "action": "stroke", tab: string, stroke: Stroke, }
  | { "action": "dropped", what: string, reason: string, count: number, }
  | { "action": "refused", tab: string, input: string, reason: string, }
  | { "action": "code", tab: string, }
  | { "action": "canvas", on: boolean, }
  | { "action": "forbidden", what: string, role: Role, needs: Role, }
  | { "action": "recording", recording: string, state: RecordingState, };

/**
 * Why an agent left a session.
 */
export type LeftReason =
  | "closed"
  | "lost";

export type RecordingState =
  | "started"
  | "stopped";
