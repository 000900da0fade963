// The agent side of the wire protocol (docs/protocol.md §3, §9.2, §10): decoding the MessagePack
// frames of `GET /api/v1/sessions/{id}/live`, the JSON inside them, encoding what the agent sends
// back on the same socket, and what to do when the socket closes. Pure code: no sockets, no DOM,
// so every case is a unit test.

import { decode, encode } from "@msgpack/msgpack";

// The types are generated from the server's Rust types (`generated/protocol/`,
// `scripts/gen-protocol-ts`); this module names the ones the console uses, widens the two that
// must let a newer server's messages through, and holds what cannot be generated.

import {
  AGENT_SIGNAL_TYPES,
  CLOSE,
  MEDIA_KINDS,
  type AgentMessage as WireAgentMessage,
  type DeliveredEvent as WireDeliveredEvent,
  type GrantKind,
  type IceCandidate,
  type IceServer,
  type Participant,
  type Signal,
  type Slot,
} from "../../generated/protocol";

export { USER_PARTICIPANT } from "../../generated/protocol";
export type {
  AgentRef,
  CallMessage,
  ControlInput,
  GrantKind,
  IceCandidate,
  IceServer,
  NavigateTo,
  Participant,
  RecordKind,
  Stroke,
  StrokeTool,
} from "../../generated/protocol";

/** One event as the server delivers it: reassembled, deduplicated, in stream order. */
export type DeliveredEvent = Omit<WireDeliveredEvent, "kind"> & {
  /** A `RecordKind`; kept as a string so a newer server's kinds pass through. */
  kind: string;
};

export type AgentMessage =
  | Exclude<WireAgentMessage, { type: "events" }>
  | { type: "events"; events: DeliveredEvent[] }
  /** A message type this console does not know; ignored, so the server can add new ones. */
  | { type: "other"; name: string };

/** One media section of a `call_offer`, in SDP order. */
export type CallSlot = Slot;

/** The grants that act on the page itself: remote control and drawing. */
export type PageGrantKind = Extract<GrantKind, "control" | "annotate">;

/** A message the agent sends on the live WebSocket (protocol.md §9.2). */
export type AgentRequest = Extract<Signal, { type: (typeof AGENT_SIGNAL_TYPES)[number] }>;

/** A frame that is not a message of protocol version 1. */
export class FrameError extends Error {
  override name = "FrameError";
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function uint(obj: Record<string, unknown>, key: string, where: string): number {
  const v = obj[key];
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === "bigint" && v >= 0n) return Number(v);
  throw new FrameError(`${where}: "${key}" must be an unsigned integer, got ${describe(v)}`);
}

function str(obj: Record<string, unknown>, key: string, where: string): string {
  const v = obj[key];
  if (typeof v === "string") return v;
  throw new FrameError(`${where}: "${key}" must be a string, got ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v === null) return "nil";
  if (v instanceof Uint8Array) return "bin";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function strOrNull(obj: Record<string, unknown>, key: string, where: string): string | null {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return v;
  throw new FrameError(`${where}: "${key}" must be a string or nil, got ${describe(v)}`);
}

function uintOrNull(obj: Record<string, unknown>, key: string, where: string): number | null {
  const v = obj[key];
  return v === undefined || v === null ? null : uint(obj, key, where);
}

function participant(v: unknown, where: string): Participant | null {
  if (v === undefined || v === null) return null;
  if (!isRecord(v)) throw new FrameError(`${where} must be a map or nil, got ${describe(v)}`);
  return { id: str(v, "id", where), name: str(v, "name", where) };
}


function callSlot(v: unknown, index: number): CallSlot {
  const where = `call_offer.slots[${index}]`;
  if (!isRecord(v)) throw new FrameError(`${where} must be a map, got ${describe(v)}`);
  const media = str(v, "media", where);
  if (!(MEDIA_KINDS as readonly string[]).includes(media)) throw new FrameError(`${where}: unknown media "${media}"`);
  const send = v["send"];
  if (typeof send !== "boolean") throw new FrameError(`${where}: "send" must be a bool, got ${describe(send)}`);
  return {
    mid: str(v, "mid", where),
    send,
    media: media as Slot["media"],
    from: participant(v["from"], `${where}.from`),
    canvas: uintOrNull(v, "canvas", where),
  };
}

function iceServer(v: unknown, index: number): IceServer {
  const where = `call_offer.ice_servers[${index}]`;
  if (!isRecord(v)) throw new FrameError(`${where} must be a map, got ${describe(v)}`);
  const raw = v["urls"];
  // `RTCIceServer.urls` may be one string; the server sends an array.
  const urls = typeof raw === "string" ? [raw] : Array.isArray(raw) && raw.every((u) => typeof u === "string") ? (raw as string[]) : null;
  if (urls === null) throw new FrameError(`${where}: "urls" must be an array of strings`);
  const server: IceServer = { urls };
  const username = strOrNull(v, "username", where);
  const credential = strOrNull(v, "credential", where);
  if (username !== null) server.username = username;
  if (credential !== null) server.credential = credential;
  return server;
}

function iceCandidate(v: unknown, where: string): IceCandidate {
  if (!isRecord(v)) throw new FrameError(`${where} must be a map, got ${describe(v)}`);
  return {
    candidate: str(v, "candidate", where),
    sdpMid: strOrNull(v, "sdpMid", where),
    sdpMLineIndex: uintOrNull(v, "sdpMLineIndex", where),
  };
}

const encoder = new TextEncoder();

function deliveredEvent(v: unknown, index: number): DeliveredEvent {
  const where = `events[${index}]`;
  if (!isRecord(v)) throw new FrameError(`${where} must be a map, got ${describe(v)}`);
  const data = v["data"];
  let bytes: Uint8Array;
  if (data instanceof Uint8Array) bytes = data;
  // The server writes `bin`; a `str` holding the same JSON is accepted too (protocol.md §1).
  else if (typeof data === "string") bytes = encoder.encode(data);
  else throw new FrameError(`${where}: "data" must be bin (UTF-8 JSON), got ${describe(data)}`);
  return {
    seq_num: uint(v, "seq_num", where),
    ts: uint(v, "ts", where),
    kind: str(v, "kind", where),
    tab: str(v, "tab", where),
    client_seq: uint(v, "client_seq", where),
    client_ts: uint(v, "client_ts", where),
    data: bytes,
  };
}

/** Where the user's answer stands, in a session whose page asks before anyone watches. */
export type ViewConsentState = "asking" | "granted" | "declined" | "revoked";
const VIEW_CONSENT_STATES: readonly ViewConsentState[] = ["asking", "granted", "declined", "revoked"];
/** What the live view says when the user did not let this agent watch (close 4403). */
export const VIEW_REFUSED = "The user did not let you watch this session (they declined, did not answer, or stopped it).";

/** Decodes one binary WebSocket frame from the server. Throws `FrameError` on a malformed one. */
export function decodeAgentMessage(frame: ArrayBuffer | Uint8Array): AgentMessage {
  let value: unknown;
  try {
    value = decode(frame instanceof Uint8Array ? frame : new Uint8Array(frame));
  } catch (e) {
    throw new FrameError(`frame is not MessagePack: ${(e as Error).message}`);
  }
  if (!isRecord(value)) throw new FrameError(`a message must be a map, got ${describe(value)}`);
  const type = value["type"];
  if (typeof type !== "string") throw new FrameError(`a message needs a string "type"`);
  switch (type) {
    case "events": {
      const events = value["events"];
      if (!Array.isArray(events)) throw new FrameError(`"events" must be an array`);
      return { type, events: events.map(deliveredEvent) };
    }
    case "caught_up":
      return { type, seq_num: uint(value, "seq_num", "caught_up") };
    case "joined": {
      const agent = value["agent"];
      if (!isRecord(agent)) throw new FrameError(`joined: "agent" must be a map, got ${describe(agent)}`);
      return { type, agent: { id: str(agent, "id", "joined.agent"), name: str(agent, "name", "joined.agent") } };
    }
    case "error":
      return { type, error: str(value, "error", "error"), message: str(value, "message", "error") };
    case "call_offer": {
      const servers = value["ice_servers"] ?? [];
      const slots = value["slots"];
      if (!Array.isArray(servers)) throw new FrameError(`call_offer: "ice_servers" must be an array`);
      if (!Array.isArray(slots)) throw new FrameError(`call_offer: "slots" must be an array`);
      return { type, sdp: str(value, "sdp", "call_offer"), ice_servers: servers.map(iceServer), slots: slots.map(callSlot) };
    }
    case "call_candidate":
      return { type, candidate: iceCandidate(value["candidate"], "call_candidate.candidate") };
    case "call_closed":
      return { type, reason: strOrNull(value, "reason", "call_closed") ?? "" };
    case "view_consent": {
      const state = value["state"];
      if (typeof state !== "string" || !(VIEW_CONSENT_STATES as readonly string[]).includes(state)) {
        throw new FrameError(`view_consent: "state" must be one of ${VIEW_CONSENT_STATES.join(", ")}`);
      }
      return { type, state: state as ViewConsentState };
    }
    default:
      return { type: "other", name: type };
  }
}


/**
 * A binary frame for `request`: a MessagePack map with exactly the fields of protocol.md §9.2.
 * Optional fields left undefined are omitted rather than sent as nil (`id: null` of a window
 * scroll stays nil, as the spec allows).
 */
export function encodeAgentRequest(request: AgentRequest): Uint8Array<ArrayBuffer> {
  // `encode` writes into an ArrayBuffer of its own; its type only says "ArrayBufferLike".
  return encode(request, { ignoreUndefined: true }) as Uint8Array<ArrayBuffer>;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The event's `data` as parsed JSON. Throws on bytes that are not UTF-8 JSON. */
export function eventJson(event: Pick<DeliveredEvent, "data">): unknown {
  return JSON.parse(decoder.decode(event.data));
}

/** Like `eventJson`, but `undefined` instead of throwing. */
export function tryEventJson(event: Pick<DeliveredEvent, "data">): unknown {
  try {
    return eventJson(event);
  } catch {
    return undefined;
  }
}

/** Where a live subscription starts (protocol.md §3.2). */
export type StartPoint =
  | { from: "live" }
  | { from: "beginning" }
  | { from_seq: number }
  /** The first record S2 stored at or after this time (server clock, ms). */
  | { from_ts: number };

/** The query string (without `?`) for a start point, the connection's ticket included. */
export function liveQuery(start: StartPoint, ticket: string): string {
  const q = new URLSearchParams({ ticket });
  if ("from_seq" in start) q.set("from_seq", String(start.from_seq));
  else if ("from_ts" in start) q.set("from_ts", String(Math.max(0, Math.floor(start.from_ts))));
  else q.set("from", start.from);
  return q.toString();
}

/** The `from_seq=N` a 4008/1011 close reason carries, if any. */
export function fromSeqInReason(reason: string): number | null {
  const m = /from_seq=(\d+)/.exec(reason);
  return m?.[1] === undefined ? null : Number(m[1]);
}

export type ClosePlan =
  | { action: "stop"; outcome: "ended" | "not_found" | "unauthorized" | "refused"; message: string }
  | { action: "reconnect"; start: StartPoint; message: string };

/**
 * What to do when the live socket closed with `code`/`reason`, having received events up to
 * `lastSeqNum` (null: none yet). `initial` is where the first connection started.
 */
export function planAfterClose(
  code: number,
  reason: string,
  lastSeqNum: number | null,
  initial: StartPoint,
): ClosePlan {
  // Resuming just after the last event received loses and repeats nothing (protocol.md §8 says to
  // prefer this over the from_seq of a 4008 reason).
  const resume: StartPoint =
    lastSeqNum !== null
      ? { from_seq: lastSeqNum + 1 }
      : (() => {
          const n = fromSeqInReason(reason);
          return n !== null ? { from_seq: n } : initial;
        })();
  switch (code) {
    case 1000:
      return { action: "stop", outcome: "ended", message: reason || "session ended" };
    case CLOSE.NOT_FOUND:
      return { action: "stop", outcome: "not_found", message: reason || "no such session" };
    case CLOSE.UNAUTHORIZED:
      return { action: "stop", outcome: "unauthorized", message: reason || "agent token refused" };
    case CLOSE.NOT_ALLOWED:
      return { action: "stop", outcome: "refused", message: VIEW_REFUSED };
    case CLOSE.TOO_SLOW:
      return { action: "reconnect", start: resume, message: "fell behind the live stream; catching up" };
    case CLOSE.GOING_AWAY:
      return { action: "reconnect", start: resume, message: "server restarting; reconnecting" };
    default:
      return {
        action: "reconnect",
        start: resume,
        message: reason ? `connection lost (${code}: ${reason})` : `connection lost (${code})`,
      };
  }
}

/** Delay before reconnect attempt `attempt` (0-based): 250 ms doubling up to 8 s. */
export function backoffMs(attempt: number): number {
  return Math.min(8000, 250 * 2 ** Math.max(0, attempt));
}
