// The agent side of the wire protocol (docs/protocol.md §3, §9.2, §10): decoding the MessagePack
// frames of `GET /api/v1/sessions/{id}/live`, the JSON inside them, encoding what the agent sends
// back on the same socket, and what to do when the socket closes. Pure code: no sockets, no DOM,
// so every case is a unit test.

import { decode, encode } from "@msgpack/msgpack";

/** Record kinds of a session stream (protocol.md §6.4, §9.5). */
export type RecordKind = "start" | "page" | "rrweb" | "identify" | "metadata" | "heartbeat" | "end" | "agent";

/** An agent as the server names it: `id` per connection, `name` from the agent token. */
export interface AgentRef {
  id: string;
  name: string;
}

/** One event as the server delivers it: reassembled, deduplicated, in stream order. */
export interface DeliveredEvent {
  /** S2 sequence number of the event's last record; resume with `from_seq = seq_num + 1`. */
  seq_num: number;
  /** When S2 stored it, ms since the Unix epoch (the server's clock). */
  ts: number;
  /** A `RecordKind`; kept as a string so a newer server's kinds pass through. */
  kind: string;
  /** The tracker's tab id; `""` for server records. */
  tab: string;
  client_seq: number;
  /** When the tracker recorded it (the tracker's clock), ms. */
  client_ts: number;
  /** UTF-8 JSON. */
  data: Uint8Array;
}

export type AgentMessage =
  | { type: "events"; events: DeliveredEvent[] }
  | { type: "caught_up"; seq_num: number }
  /** First message of every connection: the id `agent` records name this connection by. */
  | { type: "joined"; agent: AgentRef }
  /** A frame this agent sent was dropped (`malformed`, `too_big`, `rate_limited`). */
  | { type: "error"; error: string; message: string }
  | CallMessage
  /** A message type this console does not know; ignored, so the server can add new ones. */
  | { type: "other"; name: string };

/** Someone in a call (protocol.md §10.1): an agent, or the page's user (id `"user"`). */
export interface Participant {
  id: string;
  name: string;
}

/** The participant id of the page's user. */
export const USER_PARTICIPANT = "user";

/** What flows on one media section of a call. */
export type SlotMedia = "audio" | "video" | "canvas";

/** One media section of a `call_offer`, in SDP order. */
export interface CallSlot {
  mid: string;
  /** True: this agent sends its own track on it; false: it receives. */
  send: boolean;
  media: SlotMedia;
  /** Whose media it carries (receiving slots); null for a slot whose sender left. */
  from: Participant | null;
  /** For `canvas`: the rrweb node id of the page's `<canvas>`. */
  canvas: number | null;
}

/** An ICE server as `RTCPeerConnection`'s `iceServers` takes it. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** An ICE candidate as `RTCIceCandidateInit` (protocol.md §10.1). */
export interface IceCandidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

/** What the server sends an agent about its call (protocol.md §10.1). */
export type CallMessage =
  | { type: "call_offer"; sdp: string; ice_servers: IceServer[]; slots: CallSlot[] }
  | { type: "call_candidate"; candidate: IceCandidate }
  /** The server closed this agent's peer connection. */
  | { type: "call_closed"; reason: string };

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

const SLOT_MEDIA: readonly string[] = ["audio", "video", "canvas"];

function callSlot(v: unknown, index: number): CallSlot {
  const where = `call_offer.slots[${index}]`;
  if (!isRecord(v)) throw new FrameError(`${where} must be a map, got ${describe(v)}`);
  const media = str(v, "media", where);
  if (!SLOT_MEDIA.includes(media)) throw new FrameError(`${where}: unknown media "${media}"`);
  const send = v["send"];
  if (typeof send !== "boolean") throw new FrameError(`${where}: "send" must be a bool, got ${describe(send)}`);
  return {
    mid: str(v, "mid", where),
    send,
    media: media as SlotMedia,
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
    default:
      return { type: "other", name: type };
  }
}

/** What an agent may ask the user for (protocol.md §9.2, §10). */
export type GrantKind = "control" | "annotate" | "call" | "record";

/** The grants that act on the page itself: remote control and drawing. */
export type PageGrantKind = "control" | "annotate";

/** Where `navigate` goes. */
export type NavigateTo = "back" | "forward" | "reload" | "url";

/**
 * One input on the user's page. Coordinates are CSS pixels of the user's viewport (integers);
 * `id` is the target's rrweb node id as the agent's replay knows it.
 */
export type ControlInput =
  | { action: "move"; x: number; y: number }
  | { action: "click" | "dblclick"; id: number; x: number; y: number }
  /** Scrolls the element, or the window when `id` is null, to `scrollLeft = x`, `scrollTop = y`. */
  | { action: "scroll"; id: number | null; x: number; y: number }
  /** A `KeyboardEvent.key`; without `id` it goes to the page's focused element. */
  | { action: "key"; key: string; id?: number }
  | { action: "input"; id: number; value: string }
  | { action: "select"; id: number; value: string }
  | { action: "focus"; id: number }
  | { action: "navigate"; to: NavigateTo; url?: string };

export type StrokeTool = "pen" | "arrow" | "rect" | "laser";

/** One annotation stroke; `points` are `[x, y]` in page coordinates of the user's document. */
export interface Stroke {
  id: string;
  tool: StrokeTool;
  /** `#rrggbb`. */
  color: string;
  points: Array<[number, number]>;
}

/** A message the agent sends on the live WebSocket (protocol.md §9.2). */
export type AgentRequest =
  | { type: "request"; kind: PageGrantKind | "record" }
  /** A voice call, or a video call with `video` (protocol.md §10.2). */
  | { type: "request"; kind: "call"; video: boolean }
  | { type: "release"; kind: GrantKind }
  | { type: "control"; tab: string; input: ControlInput }
  | { type: "stroke"; tab: string; stroke: Stroke }
  | { type: "resync" }
  /** Ready for the call: set up my peer connection, I send `audio`/`video` (both false: receive only). */
  | { type: "call_join"; audio: boolean; video: boolean }
  /** The answer to the last `call_offer`. */
  | { type: "call_answer"; sdp: string }
  | { type: "call_candidate"; candidate: IceCandidate }
  /** Start / stop receiving the page's `<canvas>` elements as video. */
  | { type: "canvas"; on: boolean };

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
export type StartPoint = { from: "live" } | { from: "beginning" } | { from_seq: number };

/** The query string (without `?`) for a start point, token included. */
export function liveQuery(start: StartPoint, token: string): string {
  const q = new URLSearchParams({ token });
  if ("from_seq" in start) q.set("from_seq", String(start.from_seq));
  else q.set("from", start.from);
  return q.toString();
}

/** The `from_seq=N` a 4008/1011 close reason carries, if any. */
export function fromSeqInReason(reason: string): number | null {
  const m = /from_seq=(\d+)/.exec(reason);
  return m?.[1] === undefined ? null : Number(m[1]);
}

export type ClosePlan =
  | { action: "stop"; outcome: "ended" | "not_found" | "unauthorized"; message: string }
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
    case 4004:
      return { action: "stop", outcome: "not_found", message: reason || "no such session" };
    case 4001:
      return { action: "stop", outcome: "unauthorized", message: reason || "agent token refused" };
    case 4008:
      return { action: "reconnect", start: resume, message: "fell behind the live stream; catching up" };
    case 1001:
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
