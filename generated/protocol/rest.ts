// Generated from src/protocol/rest.rs by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.

import type { Media, Participant } from "./call";
import type { Role } from "./grants";
import type { AgentRecord, EndReason } from "./records";
import type { SessionId } from "./session";
import type { Viewport } from "./tracker";

/**
 * A session as the REST API and the CLI list it, from the node's session directory.
 */
export type SessionSummary = { id: SessionId,
/**
 * The project key the tracker presented.
 */
project: string, started_ms: number,
/**
 * For a live session, the last time its node was known alive; else when it ended or was
 * last known written.
 */
last_activity_ms: number,
/**
 * The page the user is on (the tab that moved last), or was on when the session ended.
 */
url: string, user_id: string | null, metadata: { [key in string]: string }, user_agent: string,
/**
 * The browser's family from the user agent: `chrome`, `edge`, `firefox`, `safari`, `opera`,
 * `other`.
 */
browser: string, viewport: Viewport,
/**
 * Live: the tabs connected now. Otherwise: every tab the session had, in the order they
 * first connected (each can be replayed).
 */
tabs: Array<string>, live: boolean, ended_ms: number | null, end_reason: EndReason | null,
/**
 * Records in the stream (fences included): in `GET /api/v1/sessions/{id}`, which reads its
 * tail; 0 in the list, which reads no stream.
 */
records: number,
/**
 * A call runs (known to the node that holds the session).
 */
call: boolean,
/**
 * The page logged at least one console error.
 */
console_errors: boolean, };

/**
 * A page of sessions; pass `next_cursor` as `cursor` for the next one.
 */
export type SessionPage = { sessions: Array<SessionSummary>, next_cursor: string | null, };

/**
 * The `gone` event of `GET /api/v1/sessions/watch`: a session that matched the watched query
 * no longer does (it ended under `live=true`, or was erased).
 */
export type SessionGone = { id: SessionId, };

/**
 * A session's summary and what agents did in it.
 */
export type SessionDetail = { activity: Array<Activity>, recordings: Array<Recording>, id: SessionId,
/**
 * The project key the tracker presented.
 */
project: string, started_ms: number,
/**
 * For a live session, the last time its node was known alive; else when it ended or was
 * last known written.
 */
last_activity_ms: number,
/**
 * The page the user is on (the tab that moved last), or was on when the session ended.
 */
url: string, user_id: string | null, metadata: { [key in string]: string }, user_agent: string,
/**
 * The browser's family from the user agent: `chrome`, `edge`, `firefox`, `safari`, `opera`,
 * `other`.
 */
browser: string, viewport: Viewport,
/**
 * Live: the tabs connected now. Otherwise: every tab the session had, in the order they
 * first connected (each can be replayed).
 */
tabs: Array<string>, live: boolean, ended_ms: number | null, end_reason: EndReason | null,
/**
 * Records in the stream (fences included): in `GET /api/v1/sessions/{id}`, which reads its
 * tail; 0 in the list, which reads no stream.
 */
records: number,
/**
 * A call runs (known to the node that holds the session).
 */
call: boolean,
/**
 * The page logged at least one console error.
 */
console_errors: boolean, };

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

/**
 * `GET /api/v1/me`: who the server takes the caller for, so the console shows only what the
 * role allows (the server checks it anyway).
 */
export type SignedInAgent = {
/**
 * The name audit records carry.
 */
name: string,
/**
 * What the user's consent prompt shows (the identity provider's `name`, or the name).
 */
display_name: string, role: Role,
/**
 * The project keys the agent sees sessions of; null: every project.
 */
projects: Array<string> | null,
/**
 * How the agent signed in: `token`, `proxy` or `oidc`.
 */
via: string, };
