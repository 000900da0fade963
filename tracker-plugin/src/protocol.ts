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

/** The user's answer to a `consent_request`; the first answer from any tab counts. */
export interface ConsentAnswer {
  type: "consent";
  request_id: string;
  granted: boolean;
  /** Why it was not granted; absent when granted. */
  reason?: "declined" | "timeout";
}

/** The user stopped a grant (the indicator's Stop button). */
export interface Revoke {
  type: "revoke";
  kind: GrantKind;
  agent_id: string;
}

/** The page could not perform an agent's input; `action` is the input's `action`. */
export interface Refused {
  type: "refused";
  agent_id: string;
  action: string;
  reason: string;
}

/**
 * This tab is ready to send (§10.4): `audio`/`video` say whether it sends the microphone and
 * the camera (only ever true under a `call` grant), `canvases` the rrweb ids of the `<canvas>`
 * elements it streams. Sent again whenever one of them changes.
 */
export interface CallJoin {
  type: "call_join";
  audio: boolean;
  video: boolean;
  canvases: number[];
}

/** The answer to the last `call_offer`. */
export interface CallAnswer {
  type: "call_answer";
  sdp: string;
}

/** One local ICE candidate, as `RTCIceCandidateInit`. */
export interface IceCandidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

/** A local ICE candidate of the page's peer connection. */
export interface CallCandidateOut {
  type: "call_candidate";
  candidate: IceCandidate;
}

/** The user ends the call for everyone: every `call` and `record` grant ends at once. */
export interface Hangup {
  type: "hangup";
}

/** What the page sends about a call (§10.4). */
export type CallSignal = CallJoin | CallAnswer | CallCandidateOut | Hangup;

/**
 * Tracker → server signals (§9.4, §10.4). They are not events: no `seq`, no `ack`, and they are
 * only meaningful live, so they are sent on the open connection or not at all.
 */
export type TrackerSignal = ConsentAnswer | Revoke | Refused | CallSignal;

/** Messages a tracker sends. */
export type TrackerMessage = Hello | EventsMessage | EndMessage | TrackerSignal;

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

/** How many agents watch the session (after `welcome`, and on every change). */
export interface Watching {
  type: "watching";
  agents: number;
}

/**
 * What an agent may be granted: input on the page, drawing on it, a call with the user, or
 * recording that call.
 */
export type GrantKind = "control" | "annotate" | "call" | "record";

/** An agent as the server names it: `id` is its connection's id, `name` who signed in. */
export interface AgentRef {
  id: string;
  name: string;
}

/** One grant the user gave, as the server holds it. */
export interface Grant {
  kind: GrantKind;
  agent: AgentRef;
  /** For `call`: a video call (the page also sends its camera). Absent for other kinds. */
  video?: boolean;
}

/** An agent asks the user for a grant: show a prompt (declined after 30 s). */
export interface ConsentRequest {
  type: "consent_request";
  request_id: string;
  kind: GrantKind;
  agent: AgentRef;
  /** For `call`: whether the agent asks for a video call. Absent for other kinds. */
  video?: boolean;
}

/** The prompt for `request_id` is moot: answered in another tab, withdrawn, or the agent left. */
export interface ConsentCancel {
  type: "consent_cancel";
  request_id: string;
}

/** The session's grants now; sent after `welcome` and on every change. The server's list is the truth. */
export interface Grants {
  type: "grants";
  grants: Grant[];
}

/**
 * One input of a controlling agent (§9.2). Coordinates are CSS pixels of the user's viewport;
 * `id` is the target's rrweb node id.
 */
export type ControlInput =
  | { action: "move"; x: number; y: number }
  | { action: "click"; id: number; x: number; y: number }
  | { action: "dblclick"; id: number; x: number; y: number }
  /** Without `id`, the window scrolls. */
  | { action: "scroll"; id?: number; x: number; y: number }
  /** Without `id`, the key goes to the focused element. */
  | { action: "key"; key: string; id?: number }
  | { action: "input"; id: number; value: string }
  | { action: "select"; id: number; value: string }
  | { action: "focus"; id: number }
  /** `url` is present exactly when `to` is `"url"`. */
  | { action: "navigate"; to: "back" | "forward" | "reload" | "url"; url?: string };

export type ControlAction = ControlInput["action"];

/** An agent's input for tab `tab`; performed only under a `control` grant for `agent_id`. */
export interface ControlMessage {
  type: "control";
  agent_id: string;
  tab: string;
  input: ControlInput;
}

export type StrokeTool = "pen" | "arrow" | "rect" | "laser";

/**
 * One annotation stroke. `points` are in page coordinates (CSS pixels from the document's
 * top-left), so a stroke stays on what it marks when the page scrolls.
 */
export interface Stroke {
  /** The agent's name for the stroke: a stroke sent again with the same id replaces it. */
  id: string;
  tool: StrokeTool;
  /** `#rrggbb`. */
  color: string;
  points: [number, number][];
}

/** An agent's stroke for tab `tab`; drawn only under an `annotate` grant for `agent_id`. */
export interface StrokeMessage {
  type: "stroke";
  agent_id: string;
  tab: string;
  stroke: Stroke;
}

/** An ICE server for the page's peer connection, as `RTCPeerConnection`'s `iceServers` take it. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** Whose media a slot carries: an agent (`id` as in `AgentRef`), or `"user"` for the page's user. */
export interface Participant {
  id: string;
  name: string;
}

export type SlotMedia = "audio" | "video" | "canvas";

/** One media section of a `call_offer`, in SDP order (§10.1). */
export interface CallSlot {
  mid: string;
  /** True: the page sends its own track here; false: it receives `from`'s. */
  send: boolean;
  media: SlotMedia;
  /** Whose media it carries, for `send: false`; null when its sender left (the slot is inactive). */
  from: Participant | null;
  /** For `media: "canvas"`: the rrweb node id of the `<canvas>`. */
  canvas: number | null;
}

/** The server's offer for the page's peer connection (it always offers; the page answers). */
export interface CallOffer {
  type: "call_offer";
  tab: string;
  sdp: string;
  ice_servers: IceServer[];
  slots: CallSlot[];
}

/** A remote ICE candidate for the page's peer connection. */
export interface CallCandidateIn {
  type: "call_candidate";
  tab: string;
  candidate: IceCandidate;
}

/** The server closed the page's peer connection (grant ended, call over, another tab joined). */
export interface CallClosed {
  type: "call_closed";
  tab: string;
  reason: string;
}

/** Whether any agent wants the page's canvases as video; after `welcome` and on every change. */
export interface CanvasMessage {
  type: "canvas";
  on: boolean;
}

/** Server → tracker messages of a call (§10.3). */
export type CallMessage = CallOffer | CallCandidateIn | CallClosed | CanvasMessage;

/** Server → tracker signals of §9.3 and §10.3 besides `resync`: what agents ask of the page. */
export type PageSignal = ConsentRequest | ConsentCancel | Grants | ControlMessage | StrokeMessage | CallMessage;

/** Messages the server sends a tracker that this tracker understands. */
export type ServerMessage = Welcome | Ack | Rejected | Resync | Watching | PageSignal;

/** The longest `value` an `input` control may carry, in characters (code points). */
export const MAX_INPUT_VALUE_CHARS = 4096;
/** The most points a stroke may have. */
export const MAX_STROKE_POINTS = 1000;
/** The longest stroke id, in UTF-8 bytes. */
export const MAX_STROKE_ID_BYTES = 64;

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
    case "watching":
      return { type: "watching", agents: uint(m, "agents") };
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

const GRANT_KINDS = ["control", "annotate", "call", "record"] as const;
const SLOT_MEDIA = ["audio", "video", "canvas"] as const;
const STROKE_TOOLS = ["pen", "arrow", "rect", "laser"] as const;
const NAVIGATE_TO = ["back", "forward", "reload", "url"] as const;
const COLOR = /^#[0-9a-fA-F]{6}$/;

function grantKind(m: Record<string, unknown>, where = String(m["type"])): GrantKind {
  return oneOf(m, "kind", GRANT_KINDS, where);
}

function agentRef(v: unknown, where: string): AgentRef {
  const m = map(v, `agent of ${where}`);
  return { id: str(m, "id", "agent"), name: str(m, "name", "agent") };
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
    media: oneOf(m, "media", SLOT_MEDIA, "slot"),
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
      if ([...value].length > MAX_INPUT_VALUE_CHARS) {
        throw new ProtocolError(`'value' of ${where} is over ${MAX_INPUT_VALUE_CHARS} characters`);
      }
      return { action, id: uint(m, "id", where), value };
    }
    case "select":
      return { action, id: uint(m, "id", where), value: str(m, "value", where) };
    case "focus":
      return { action, id: uint(m, "id", where) };
    case "navigate": {
      const to = oneOf(m, "to", NAVIGATE_TO, where);
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

/** A session id: 16 bytes of `bin` on the wire, a hyphenated lower-case UUID here. */
function uuidString(v: unknown): string {
  if (typeof v === "string") return v;
  if (!(v instanceof Uint8Array) || v.length !== 16) {
    throw new ProtocolError("'session_id' of 'welcome' is not 16 bytes of bin");
  }
  const hex = Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
