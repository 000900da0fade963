// Generated from src/protocol/rest.rs by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.

import type { Media, Participant } from "./call";
import type { AgentRecord, EndReason } from "./records";
import type { SessionId } from "./session";
import type { Viewport } from "./tracker";

/**
 * A session as the REST API and the CLI list it.
 */
export type SessionSummary = { id: SessionId, started_ms: number, last_activity_ms: number, url: string, user_id: string | null, metadata: { [key in string]: string }, user_agent: string, viewport: Viewport,
/**
 * Tabs known to be open (from the node holding the session), or the first tab.
 */
tabs: Array<string>, live: boolean, ended_ms: number | null, end_reason: EndReason | null,
/**
 * Records in the stream.
 */
records: number,
/**
 * A call runs (known to the node that holds the session).
 */
call: boolean, };

/**
 * A page of sessions; pass `next_cursor` as `cursor` for the next one.
 */
export type SessionPage = { sessions: Array<SessionSummary>, next_cursor: string | null, };

/**
 * A session's summary and what agents did in it.
 */
export type SessionDetail = { activity: Array<Activity>, recordings: Array<Recording>, id: SessionId, started_ms: number, last_activity_ms: number, url: string, user_id: string | null, metadata: { [key in string]: string }, user_agent: string, viewport: Viewport,
/**
 * Tabs known to be open (from the node holding the session), or the first tab.
 */
tabs: Array<string>, live: boolean, ended_ms: number | null, end_reason: EndReason | null,
/**
 * Records in the stream.
 */
records: number,
/**
 * A call runs (known to the node that holds the session).
 */
call: boolean, };

/**
 * One `agent` record as `GET /api/v1/sessions/{id}` lists it.
 */
export type Activity = {
/**
 * When S2 stored it, ms since the Unix epoch.
 */
ts: number, record: AgentRecord, };

export type Recording = { id: string, started_ms: number, files: Array<RecordingFile>, };

/**
 * One file of a recording, as `GET /api/v1/sessions/{id}` lists it.
 */
export type RecordingFile = { name: string, participant: Participant, media: Media, bytes: number,
/**
 * The recording of this file ended cleanly (its final record is stored).
 */
complete: boolean, };

/**
 * JSON body of every HTTP error.
 */
export type ErrorBody = { error: string, message: string, };

/**
 * The answer to `POST /api/v1/tickets`.
 */
export type TicketResponse = {
/**
 * Goes in `?ticket=` of the live WebSocket or SSE: opens one connection.
 */
ticket: string,
/**
 * When it stops opening one, ms since the Unix epoch (30 s after it was issued).
 */
expires_ms: number, };
