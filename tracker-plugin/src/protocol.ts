/**
 * The wire protocol between the tracker and the server (`GET /api/v1/track`), mirroring
 * `src/protocol.rs` and `docs/protocol.md` of the server.
 *
 * Every WebSocket message is one binary frame holding a MessagePack map whose `type` key names
 * the message. An event's `data` is the UTF-8 JSON of the event carried as MessagePack `bin`, so
 * the server stores and forwards it byte for byte.
 */

import { decode, encode } from "@msgpack/msgpack";

/** The protocol version announced in `hello`. */
export const PROTOCOL_VERSION = 1;

/** What a tracker event holds: an rrweb event, or an identify/metadata update. */
export type EventKind = "rrweb" | "identify" | "metadata";

/** One event of a tab. `seq` strictly increases over the tab's whole life. */
export interface TrackerEvent {
  seq: number;
  /** When the tracker recorded it, ms since the Unix epoch. */
  ts: number;
  kind: EventKind;
  /** UTF-8 JSON of the event. */
  data: Uint8Array;
}

export interface Viewport {
  width: number;
  height: number;
}

export interface PageInfo {
  url: string;
  referrer?: string;
  title?: string;
  user_agent: string;
  viewport: Viewport;
}

export interface Hello {
  type: "hello";
  protocol: number;
  project_key: string;
  session_token?: string;
  tab: string;
  page: PageInfo;
  user_id?: string;
  metadata: Record<string, string>;
}

export interface EventsMessage {
  type: "events";
  events: TrackerEvent[];
}

export interface EndMessage {
  type: "end";
  reason?: string;
}

/** Messages a tracker sends. */
export type TrackerMessage = Hello | EventsMessage | EndMessage;

/** Limits the server applies to a connection, announced in `welcome`. */
export interface Limits {
  max_frame_bytes: number;
  max_event_bytes: number;
  events_per_sec: number;
}

/** The server's defaults, assumed until a `welcome` says otherwise. */
export const DEFAULT_LIMITS: Limits = {
  max_frame_bytes: 16 * 1024 * 1024,
  max_event_bytes: 10 * 1024 * 1024,
  events_per_sec: 500,
};

export interface Welcome {
  type: "welcome";
  /** The session id as a hyphenated UUID string (it travels as 16 bytes of `bin`). */
  session_id: string;
  session_token: string;
  tab: string;
  resumed: boolean;
  limits: Limits;
}

export interface Ack {
  type: "ack";
  seq: number;
}

export interface Rejected {
  type: "rejected";
  seq: number;
  reason: string;
}

/** An agent joined: take a fresh full snapshot so its live view starts from current state. */
export interface Resync {
  type: "resync";
}

/** Messages the server sends a tracker that this tracker understands. */
export type ServerMessage = Welcome | Ack | Rejected | Resync;

/** WebSocket close codes the server uses (`protocol::close`). */
export const Close = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  ABNORMAL: 1006,
  INVALID_FRAME: 1007,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  UNAUTHORIZED: 4001,
  PROTOCOL: 4002,
  FORBIDDEN_ORIGIN: 4003,
  NOT_FOUND: 4004,
  TAKEN_OVER: 4009,
  ENDED: 4010,
  RATE_LIMITED: 4029,
} as const;

/** A server message that does not have the shape this protocol version gives it. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

const utf8 = new TextEncoder();

/** The UTF-8 JSON bytes of `value`: what an event's `data` carries. */
export function jsonBytes(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

/** Encodes a tracker message as one MessagePack map (absent optional fields are omitted). */
export function encodeTrackerMessage(message: TrackerMessage): Uint8Array<ArrayBuffer> {
  return encode(message, { ignoreUndefined: true });
}

/**
 * Decodes one server frame. Returns `null` for a well-formed message of a type this tracker does
 * not know (a newer server may send more), and throws {@link ProtocolError} for anything else.
 */
export function decodeServerMessage(frame: ArrayBuffer | Uint8Array): ServerMessage | null {
  let value: unknown;
  try {
    value = decode(frame instanceof Uint8Array ? frame : new Uint8Array(frame));
  } catch (err) {
    throw new ProtocolError(`server frame is not MessagePack: ${String(err)}`);
  }
  if (!isRecord(value) || typeof value["type"] !== "string") {
    throw new ProtocolError("server message is not a map with a string 'type'");
  }
  const m = value;
  switch (m["type"]) {
    case "welcome": {
      const limits = m["limits"];
      return {
        type: "welcome",
        session_id: uuidString(m["session_id"]),
        session_token: str(m, "session_token"),
        tab: str(m, "tab"),
        resumed: m["resumed"] === true,
        limits: isRecord(limits)
          ? {
              max_frame_bytes: uint(limits, "max_frame_bytes"),
              max_event_bytes: uint(limits, "max_event_bytes"),
              events_per_sec: uint(limits, "events_per_sec"),
            }
          : { ...DEFAULT_LIMITS },
      };
    }
    case "ack":
      return { type: "ack", seq: uint(m, "seq") };
    case "rejected":
      return { type: "rejected", seq: uint(m, "seq"), reason: String(m["reason"] ?? "") };
    case "resync":
      return { type: "resync" };
    default:
      return null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function str(m: Record<string, unknown>, key: string): string {
  const v = m[key];
  if (typeof v !== "string") throw new ProtocolError(`'${key}' of '${String(m["type"])}' is not a string`);
  return v;
}

function uint(m: Record<string, unknown>, key: string): number {
  const v = m[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new ProtocolError(`'${key}' of '${String(m["type"] ?? "limits")}' is not an unsigned integer`);
  }
  return v;
}

/** A session id: 16 bytes of `bin` on the wire, a hyphenated lower-case UUID here. */
function uuidString(v: unknown): string {
  if (typeof v === "string") return v;
  if (!(v instanceof Uint8Array) || v.length !== 16) {
    throw new ProtocolError("'session_id' of 'welcome' is not 16 bytes of bin");
  }
  const hex = Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
