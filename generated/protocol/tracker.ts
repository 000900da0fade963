// Generated from src/protocol/tracker.rs by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.

import type { IceCandidate, IceServer, Slot } from "./call";
import type { AgentRef, DeclineReason, Grant, GrantKind } from "./grants";
import type { ControlInput, Stroke } from "./input";
import type { SessionId } from "./session";

/**
 * Messages a tracker sends on `GET /api/v1/track`.
 */
export type TrackerMessage =
  | { "type": "hello" } & Hello
  | { "type": "events", events: Array<TrackerEvent>, }
  | { "type": "end", reason?: string | null, }
  | { "type": "consent", request_id: string, granted: boolean, reason?: DeclineReason | null, }
  | { "type": "revoke", kind: GrantKind, agent_id: string, }
  | { "type": "refused", agent_id: string, action: string, reason: string, }
  | { "type": "call_join", audio: boolean, video: boolean, canvases: Array<number>, }
  | { "type": "call_answer", sdp: string, }
  | { "type": "call_candidate", candidate: IceCandidate, }
  | { "type": "hangup" }
  | { "type": "help_request" };

export type Hello = { protocol: number, project_key: string,
/**
 * Present when resuming: the token from an earlier `welcome`.
 */
session_token?: string | null,
/**
 * The tab's id, chosen by the tracker (1–64 of `[A-Za-z0-9_-]`).
 */
tab: string, page: PageInfo, user_id?: string | null, metadata: { [key in string]: string },
/**
 * What the user sees of agents watching. Only a new session's `hello` sets it (it is kept
 * in the `start` record); a resuming tab's is ignored, so every node agrees on it.
 */
view?: ViewMode, };

/**
 * The page a tracker runs on, sent in `hello` and stored in `start` and `page` records.
 */
export type PageInfo = { url: string, referrer?: string, title?: string, user_agent: string, viewport: Viewport, };

export type Viewport = { width: number, height: number, };

/**
 * One event of a batch. `seq` is the tab's client sequence: strictly increasing over the tab's
 * lifetime, across reconnects and reloads.
 */
export type TrackerEvent = { seq: number,
/**
 * When the tracker recorded it, ms since the Unix epoch.
 */
ts: number, kind: TrackerEventKind,
/**
 * UTF-8 JSON.
 */
data: Uint8Array, };

/**
 * Kinds a tracker may send in an `events` batch.
 */
export type TrackerEventKind =
  | "rrweb"
  | "identify"
  | "metadata";

/**
 * Messages the server sends a tracker.
 */
export type ServerMessage =
  | { "type": "welcome", session_id: SessionId, session_token: string, tab: string,
/**
 * True when the handshake continued an existing session.
 */
resumed: boolean, limits: Limits,
/**
 * The server answers `help_request` (absent from an older server, which would close
 * the connection on it: a tracker sends it only when this is true).
 */
help_codes?: boolean,
/**
 * The session's `view` mode, which the first `hello` set: what the page shows and asks
 * follows it, not the `view` this tab's page was started with (a later page of the same
 * session may say another). Absent from an older server: the tracker goes by its own.
 */
view?: ViewMode, }
  | { "type": "ack", seq: number, }
  | { "type": "resync" }
  | { "type": "rejected", seq: number, reason: string, }
  | { "type": "consent_request", request_id: string, kind: GrantKind, agent: AgentRef,
/**
 * For a call: whether the agent asks for video.
 */
video?: boolean, }
  | { "type": "consent_cancel", request_id: string, }
  | { "type": "grants", grants: Array<Grant>, }
  | { "type": "watching", agents: number,
/**
 * The agents that see the page: every watcher, or in `view: ask` those the user let
 * in. Absent from an older server.
 */
watchers: Array<Watcher>, }
  | { "type": "control", agent_id: string, tab: string, input: ControlInput, }
  | { "type": "stroke", agent_id: string, tab: string, stroke: Stroke, }
  | { "type": "call_offer", tab: string, sdp: string, ice_servers: Array<IceServer>, slots: Array<Slot>, }
  | { "type": "call_candidate", tab: string, candidate: IceCandidate, }
  | { "type": "call_closed", tab: string, reason: string, }
  | { "type": "canvas", on: boolean, }
  | { "type": "help_code", code: string, expires_at: number, }
  | { "type": "help_unavailable", reason: string, };

/**
 * Limits the server applies to this connection, announced in `welcome`.
 */
export type Limits = { max_frame_bytes: number, max_event_bytes: number, events_per_sec: number,
/**
 * Bytes of events per second one session may write (`--bytes-per-sec`); a tracker paces
 * what it can defer (canvas frames) within it. 0 from an older server: unknown.
 */
bytes_per_sec: number, };

/**
 * Whether the user knows, or decides, when an agent watches (the tracker's `view` option).
 */
export type ViewMode =
  | "silent"
  | "notify"
  | "ask";

/**
 * An agent as the page is told it watches: its name only.
 */
export type Watcher = { name: string, };
