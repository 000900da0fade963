/**
 * The wire protocol between the tracker and the server (`GET /api/v1/track`). The types are
 * generated from the server's Rust types (`generated/protocol/`, `scripts/gen-protocol-ts`);
 * this module names the ones the tracker uses and holds what cannot be generated: encoding,
 * and a decoder that checks every server message before the tracker acts on it.
 *
 * Every WebSocket message is one binary frame holding a MessagePack map whose `type` key names
 * the message. An event's `data` is the UTF-8 JSON of the event carried as MessagePack `bin`, so
 * the server stores and forwards it byte for byte.
 */

import { decode, encode } from "@msgpack/msgpack";
import {
  CLOSE,
  GRANT_KINDS,
  MAX_INPUT_CHARS,
  MAX_STROKE_ID_BYTES,
  MAX_STROKE_POINTS,
  MEDIA_KINDS,
  NAVIGATE_TARGETS,
  STROKE_TOOLS,
  type AgentRef,
  type ControlInput,
  type Grant,
  type GrantKind,
  type IceCandidate,
  type IceServer,
  type Limits,
  type Participant,
  type ServerMessage,
  type Slot,
  type Stroke,
  type TrackerEventKind,
  type TrackerMessage,
} from "../../generated/protocol";

export { PROTOCOL_VERSION } from "../../generated/protocol";
export type {
  ControlInput,
  Grant,
  GrantKind,
  IceCandidate,
  IceServer,
  Limits,
  PageInfo,
  ServerMessage,
  Stroke,
  TrackerEvent,
  TrackerMessage,
} from "../../generated/protocol";

/** What a tracker event holds: an rrweb event, or an identify/metadata update. */
export type EventKind = TrackerEventKind;

/** A tracker message of type `T`. */
type Sent<T extends TrackerMessage["type"]> = Extract<TrackerMessage, { type: T }>;
/** A server message of type `T`. */
type Received<T extends ServerMessage["type"]> = Extract<ServerMessage, { type: T }>;

/** The answer to the last `call_offer`. */
export type CallAnswer = Sent<"call_answer">;
/** A local ICE candidate of the page's peer connection. */
export type CallCandidateOut = Sent<"call_candidate">;
/** What the page sends about a call (§10.4). */
export type CallSignal = Sent<"call_join" | "call_answer" | "call_candidate" | "hangup">;
/**
 * Tracker → server signals (§9.4, §10.4). They are not events: no `seq`, no `ack`, and they are
 * only meaningful live, so they are sent on the open connection or not at all.
 */
export type TrackerSignal = Sent<"consent" | "revoke" | "refused" | "help_request"> | CallSignal;

/** An agent asks the user for a grant: show a prompt (declined after 30 s). */
export type ConsentRequest = Received<"consent_request">;
/** An agent's input for tab `tab`; performed only under a `control` grant for `agent_id`. */
export type ControlMessage = Received<"control">;
/** An agent's stroke for tab `tab`; drawn only under an `annotate` grant for `agent_id`. */
export type StrokeMessage = Received<"stroke">;
/** One media section of a `call_offer`, in SDP order (§10.1). */
export type CallSlot = Slot;
/** The server's offer for the page's peer connection (it always offers; the page answers). */
export type CallOffer = Received<"call_offer">;
/** A remote ICE candidate for the page's peer connection. */
export type CallCandidateIn = Received<"call_candidate">;
/** The server closed the page's peer connection (grant ended, call over, another tab joined). */
export type CallClosed = Received<"call_closed">;
/** Server → tracker signals of §9.3 and §10.3 besides `resync`: what agents ask of the page, and who watches. */
export type PageSignal = Exclude<ServerMessage, Received<"welcome" | "ack" | "rejected" | "resync">>;

/** The server's defaults, assumed until a `welcome` says otherwise. */
export const DEFAULT_LIMITS: Limits = {
  max_frame_bytes: 16 * 1024 * 1024,
  max_event_bytes: 10 * 1024 * 1024,
  events_per_sec: 500,
  bytes_per_sec: 4 * 1024 * 1024,
};

/** WebSocket close codes: the server's (`protocol::close`), and the two the browser reports. */
export const Close = {
  NORMAL: 1000,
  ABNORMAL: 1006,
  ...CLOSE,
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
              // An older server does not say; 0 means the same.
              bytes_per_sec:
                typeof limits["bytes_per_sec"] === "number" && limits["bytes_per_sec"] > 0
                  ? uint(limits, "bytes_per_sec")
                  : DEFAULT_LIMITS.bytes_per_sec,
            }
          : { ...DEFAULT_LIMITS },
        ...(m["help_codes"] === true ? { help_codes: true } : {}),
        // The session's mode; an older server does not say (the page goes by its own option).
        ...(m["view"] === "silent" || m["view"] === "notify" || m["view"] === "ask" ? { view: m["view"] } : {}),
      };
    }
    case "ack":
      return { type: "ack", seq: uint(m, "seq") };
    case "rejected":
      return { type: "rejected", seq: uint(m, "seq"), reason: String(m["reason"] ?? "") };
    case "resync":
      return { type: "resync" };
    case "watching":
      return {
        type: "watching",
        agents: uint(m, "agents"),
        // Absent from an older server: nobody is named.
        watchers: m["watchers"] === undefined ? [] : list(m, "watchers").map(watcher),
      };
    case "consent_request": {
      const kind = grantKind(m);
      return {
        type: "consent_request",
        request_id: str(m, "request_id"),
        kind,
        agent: agentRef(m["agent"], "consent_request"),
        ...videoFlag(m, kind, "consent_request"),
      };
    }
    case "consent_cancel":
      return { type: "consent_cancel", request_id: str(m, "request_id") };
    case "grants":
      return { type: "grants", grants: list(m, "grants").map(grant) };
    case "control":
      return { type: "control", agent_id: str(m, "agent_id"), tab: str(m, "tab"), input: controlInput(m["input"]) };
    case "stroke":
      return { type: "stroke", agent_id: str(m, "agent_id"), tab: str(m, "tab"), stroke: stroke(m["stroke"]) };
    case "call_offer":
      return {
        type: "call_offer",
        tab: str(m, "tab"),
        sdp: str(m, "sdp"),
        ice_servers: list(m, "ice_servers").map(iceServer),
        slots: list(m, "slots").map(callSlot),
      };
    case "call_candidate":
      return { type: "call_candidate", tab: str(m, "tab"), candidate: iceCandidate(m["candidate"]) };
    case "call_closed":
      return { type: "call_closed", tab: str(m, "tab"), reason: str(m, "reason") };
    case "canvas":
      return { type: "canvas", on: bool(m, "on") };
    case "help_code": {
      const code = str(m, "code");
      if (!/^[0-9]{6}$/.test(code)) throw new ProtocolError("'code' of 'help_code' is not 6 digits");
      return { type: "help_code", code, expires_at: uint(m, "expires_at") };
    }
    case "help_unavailable":
      return { type: "help_unavailable", reason: str(m, "reason") };
    default:
      return null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** `where` names the map in error messages: the message type unless it is a nested map. */
function str(m: Record<string, unknown>, key: string, where = String(m["type"])): string {
  const v = m[key];
  if (typeof v !== "string") throw new ProtocolError(`'${key}' of '${where}' is not a string`);
  return v;
}

function uint(m: Record<string, unknown>, key: string, where = String(m["type"] ?? "limits")): number {
  const v = m[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new ProtocolError(`'${key}' of '${where}' is not an unsigned integer`);
  }
  return v;
}

function bool(m: Record<string, unknown>, key: string, where = String(m["type"])): boolean {
  const v = m[key];
  if (typeof v !== "boolean") throw new ProtocolError(`'${key}' of '${where}' is not a bool`);
  return v;
}

/** An absent or `nil` optional string is `undefined`. */
function optionalStr(m: Record<string, unknown>, key: string, where: string): string | undefined {
  return m[key] === undefined || m[key] === null ? undefined : str(m, key, where);
}

/** An absent or `nil` optional node id is `undefined`. */
function optionalUint(m: Record<string, unknown>, key: string, where: string): number | undefined {
  return m[key] === undefined || m[key] === null ? undefined : uint(m, key, where);
}

/** A coordinate: any finite number (agents may send fractional CSS pixels). */
function num(m: Record<string, unknown>, key: string, where: string): number {
  const v = m[key];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new ProtocolError(`'${key}' of '${where}' is not a number`);
  return v;
}

function map(v: unknown, where: string): Record<string, unknown> {
  if (!isRecord(v)) throw new ProtocolError(`'${where}' is not a map`);
  return v;
}

function list(m: Record<string, unknown>, key: string): unknown[] {
  const v = m[key];
  if (!Array.isArray(v)) throw new ProtocolError(`'${key}' of '${String(m["type"])}' is not an array`);
  return v;
}

function oneOf<T extends string>(m: Record<string, unknown>, key: string, values: readonly T[], where: string): T {
  const v = m[key];
  if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
    throw new ProtocolError(`'${key}' of '${where}' is not one of ${values.join(", ")}`);
  }
  return v as T;
}

const COLOR = /^#[0-9a-fA-F]{6}$/;

function grantKind(m: Record<string, unknown>, where = String(m["type"])): GrantKind {
  return oneOf(m, "kind", GRANT_KINDS, where);
}

function agentRef(v: unknown, where: string): AgentRef {
  const m = map(v, `agent of ${where}`);
  return { id: str(m, "id", "agent"), name: str(m, "name", "agent") };
}

function watcher(v: unknown): { name: string } {
  return { name: str(map(v, "watcher"), "name", "watcher") };
}

function grant(v: unknown): Grant {
  const m = map(v, "grant");
  const kind = grantKind(m, "grant");
  return { kind, agent: agentRef(m["agent"], "grant"), ...videoFlag(m, kind, "grant") };
}

/**
 * `{video}` for a `call` (absent or `nil` is a voice call), nothing for other kinds: the flag
 * means nothing there, so it is not kept.
 */
function videoFlag(m: Record<string, unknown>, kind: GrantKind, where: string): { video?: boolean } {
  if (m["video"] !== undefined && m["video"] !== null && typeof m["video"] !== "boolean") {
    throw new ProtocolError(`'video' of '${where}' is not a bool`);
  }
  return kind === "call" ? { video: m["video"] === true } : {};
}

function iceServer(v: unknown): IceServer {
  const m = map(v, "ice server");
  const urls = m["urls"];
  if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === "string")) {
    throw new ProtocolError("'urls' of an ice server is not a non-empty array of strings");
  }
  const server: IceServer = { urls: urls as string[] };
  const username = optionalStr(m, "username", "ice server");
  const credential = optionalStr(m, "credential", "ice server");
  if (username !== undefined) server.username = username;
  if (credential !== undefined) server.credential = credential;
  return server;
}

function callSlot(v: unknown): CallSlot {
  const m = map(v, "slot of call_offer");
  const from = m["from"];
  return {
    mid: str(m, "mid", "slot"),
    send: bool(m, "send", "slot"),
    media: oneOf(m, "media", MEDIA_KINDS, "slot"),
    from: from === undefined || from === null ? null : participant(from),
    canvas: optionalUint(m, "canvas", "slot") ?? null,
  };
}

function participant(v: unknown): Participant {
  const m = map(v, "from of slot");
  return { id: str(m, "id", "participant"), name: str(m, "name", "participant") };
}

function iceCandidate(v: unknown): IceCandidate {
  const m = map(v, "candidate of call_candidate");
  return {
    candidate: str(m, "candidate", "candidate"),
    sdpMid: optionalStr(m, "sdpMid", "candidate") ?? null,
    sdpMLineIndex: optionalUint(m, "sdpMLineIndex", "candidate") ?? null,
  };
}

function controlInput(v: unknown): ControlInput {
  const m = map(v, "input of control");
  const action = str(m, "action", "input");
  const where = `${action} input`;
  switch (action) {
    case "move":
      return { action, x: num(m, "x", where), y: num(m, "y", where) };
    case "click":
    case "dblclick":
      return { action, id: uint(m, "id", where), x: num(m, "x", where), y: num(m, "y", where) };
    case "scroll":
      return { action, id: optionalUint(m, "id", where), x: num(m, "x", where), y: num(m, "y", where) };
    case "key":
      return { action, key: str(m, "key", where), id: optionalUint(m, "id", where) };
    case "input": {
      const value = str(m, "value", where);
      if ([...value].length > MAX_INPUT_CHARS) {
        throw new ProtocolError(`'value' of ${where} is over ${MAX_INPUT_CHARS} characters`);
      }
      return { action, id: uint(m, "id", where), value };
    }
    case "select":
      return { action, id: uint(m, "id", where), value: str(m, "value", where) };
    case "focus":
      return { action, id: uint(m, "id", where) };
    case "navigate": {
      const to = oneOf(m, "to", NAVIGATE_TARGETS, where);
      return to === "url" ? { action, to, url: str(m, "url", where) } : { action, to };
    }
    default:
      throw new ProtocolError(`unknown control action '${action}'`);
  }
}

function stroke(v: unknown): Stroke {
  const m = map(v, "stroke of stroke");
  const id = str(m, "id", "stroke");
  if (utf8.encode(id).length > MAX_STROKE_ID_BYTES) {
    throw new ProtocolError(`'id' of stroke is over ${MAX_STROKE_ID_BYTES} bytes`);
  }
  const color = str(m, "color", "stroke");
  if (!COLOR.test(color)) throw new ProtocolError(`'color' of stroke is not #rrggbb`);
  const points = m["points"];
  if (!Array.isArray(points) || points.length === 0 || points.length > MAX_STROKE_POINTS) {
    throw new ProtocolError(`'points' of stroke is not an array of 1 to ${MAX_STROKE_POINTS} points`);
  }
  return {
    id,
    tool: oneOf(m, "tool", STROKE_TOOLS, "stroke"),
    color,
    points: points.map((p) => {
      if (!Array.isArray(p) || p.length !== 2 || !p.every((c) => typeof c === "number" && Number.isFinite(c))) {
        throw new ProtocolError("a point of stroke is not an [x, y] pair of numbers");
      }
      return [p[0] as number, p[1] as number];
    }),
  };
}

/**
 * `watching`, with the names of the agents watching when the server sends them (`watchers`, a
 * list of `{name}`); a list that is not one is left out, and the page counts agents instead.
 */
/** A session id: 16 bytes of `bin` on the wire, a hyphenated lower-case UUID here. */
function uuidString(v: unknown): string {
  if (typeof v === "string") return v;
  if (!(v instanceof Uint8Array) || v.length !== 16) {
    throw new ProtocolError("'session_id' of 'welcome' is not 16 bytes of bin");
  }
  const hex = Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
