import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";

import {
  type TrackerEvent,
  decodeServerMessage,
  encodeTrackerMessage,
  jsonBytes,
  ProtocolError,
} from "../src/protocol";

const hex = (s: string): Uint8Array => new Uint8Array(s.split(" ").map((b) => parseInt(b, 16)));

/** Index of `needle` in `haystack`, or -1. */
function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe("tracker message framing", () => {
  const rrwebEvent = { type: 4, data: { href: "https://shop.example/cart ✓", width: 1280, height: 720 }, timestamp: 1734641880500 };

  it("encodes events as a map with type, and data as msgpack bin holding the exact JSON bytes", () => {
    const data = jsonBytes(rrwebEvent);
    const event: TrackerEvent = { seq: 1, ts: 1734641880500, kind: "rrweb", data };
    const frame = encodeTrackerMessage({ type: "events", events: [event] });

    const decoded = decode(frame) as { type: string; events: Record<string, unknown>[] };
    expect(decoded.type).toBe("events");
    expect(decoded.events).toHaveLength(1);
    const got = decoded.events[0]!;
    expect(got["seq"]).toBe(1);
    expect(got["ts"]).toBe(1734641880500);
    expect(got["kind"]).toBe("rrweb");
    expect(got["data"]).toBeInstanceOf(Uint8Array);
    expect(Array.from(got["data"] as Uint8Array)).toEqual(Array.from(data));
    expect(JSON.parse(new TextDecoder().decode(got["data"] as Uint8Array))).toEqual(rrwebEvent);

    // On the wire: a bin 8 or bin 16 header (0xc4 / 0xc5) right before the JSON bytes, not str.
    const at = indexOf(frame, data);
    expect(at).toBeGreaterThan(2);
    const lenBytes = data.length < 256 ? 1 : 2;
    expect(frame[at - 1 - lenBytes]).toBe(data.length < 256 ? 0xc4 : 0xc5);
  });

  it("encodes hello with absent optional fields omitted", () => {
    const frame = encodeTrackerMessage({
      type: "hello",
      protocol: 1,
      project_key: "demo",
      session_token: undefined,
      tab: "t-1",
      page: { url: "https://a.example/", user_agent: "ua", viewport: { width: 10, height: 20 } },
      metadata: { plan: "gold" },
    });
    const decoded = decode(frame) as Record<string, unknown>;
    expect(decoded).toEqual({
      type: "hello",
      protocol: 1,
      project_key: "demo",
      tab: "t-1",
      page: { url: "https://a.example/", user_agent: "ua", viewport: { width: 10, height: 20 } },
      metadata: { plan: "gold" },
    });
    expect("session_token" in decoded).toBe(false);
  });
});

describe("server message decoding", () => {
  it("decodes the documented ack bytes", () => {
    expect(decodeServerMessage(hex("82 a4 74 79 70 65 a3 61 63 6b a3 73 65 71 05"))).toEqual({ type: "ack", seq: 5 });
  });

  it("decodes welcome with a 16-byte session id as a UUID string", () => {
    const id = hex("01 93 e0 b6 8c 1e 7a 4e 9b 5e 1f 2d 3c 4b 5a 69");
    const frame = encode({
      type: "welcome",
      session_id: id,
      session_token: "tok",
      tab: "t-1",
      resumed: false,
      limits: { max_frame_bytes: 16777216, max_event_bytes: 10485760, events_per_sec: 500, bytes_per_sec: 4194304 },
    });
    expect(decodeServerMessage(frame)).toEqual({
      type: "welcome",
      session_id: "0193e0b6-8c1e-7a4e-9b5e-1f2d3c4b5a69",
      session_token: "tok",
      tab: "t-1",
      resumed: false,
      limits: { max_frame_bytes: 16777216, max_event_bytes: 10485760, events_per_sec: 500, bytes_per_sec: 4194304 },
    });
  });

  it("decodes rejected and resync, whatever the key order", () => {
    expect(decodeServerMessage(encode({ reason: "too big", seq: 2, type: "rejected" }))).toEqual({
      type: "rejected",
      seq: 2,
      reason: "too big",
    });
    expect(decodeServerMessage(encode({ type: "resync" }))).toEqual({ type: "resync" });
  });

  it("returns null for a message type it does not know", () => {
    expect(decodeServerMessage(encode({ type: "screen_share", sdp: "x" }))).toBeNull();
  });

  it("throws ProtocolError for malformed messages", () => {
    expect(() => decodeServerMessage(encode([1, 2]))).toThrow(ProtocolError);
    expect(() => decodeServerMessage(encode({ type: "ack", seq: -1 }))).toThrow(ProtocolError);
    expect(() => decodeServerMessage(encode({ type: "ack", seq: "5" }))).toThrow(ProtocolError);
    expect(() => decodeServerMessage(hex("c1"))).toThrow(ProtocolError);
  });
});

describe("agent signals (§9.3, §9.4)", () => {
  const alice = { id: "a-1", name: "Alice" };

  it("decodes consent_request, consent_cancel and grants", () => {
    expect(decodeServerMessage(encode({ type: "consent_request", request_id: "r-1", kind: "control", agent: alice }))).toEqual({
      type: "consent_request",
      request_id: "r-1",
      kind: "control",
      agent: alice,
    });
    expect(decodeServerMessage(encode({ type: "consent_cancel", request_id: "r-1" }))).toEqual({
      type: "consent_cancel",
      request_id: "r-1",
    });
    expect(decodeServerMessage(encode({ type: "grants", grants: [{ kind: "annotate", agent: alice }] }))).toEqual({
      type: "grants",
      grants: [{ kind: "annotate", agent: alice }],
    });
    expect(decodeServerMessage(encode({ type: "grants", grants: [] }))).toEqual({ type: "grants", grants: [] });
  });

  it("decodes every control input action", () => {
    const inputs = [
      { action: "move", x: 10.5, y: 20 },
      { action: "click", id: 7, x: 1, y: 2 },
      { action: "dblclick", id: 7, x: 1, y: 2 },
      { action: "scroll", id: 9, x: 0, y: 300 },
      { action: "key", key: "a", id: 3 },
      { action: "key", key: "Enter" },
      { action: "input", id: 4, value: "hello" },
      { action: "select", id: 5, value: "fr" },
      { action: "focus", id: 6 },
      { action: "navigate", to: "back" },
      { action: "navigate", to: "url", url: "/cart" },
    ];
    for (const input of inputs) {
      expect(decodeServerMessage(encode({ type: "control", agent_id: "a-1", tab: "t-1", input }))).toEqual({
        type: "control",
        agent_id: "a-1",
        tab: "t-1",
        input,
      });
    }
    // A nil id of scroll means the window.
    const scroll = decodeServerMessage(encode({ type: "control", agent_id: "a", tab: "t", input: { action: "scroll", id: null, x: 0, y: 5 } }));
    expect(scroll).toMatchObject({ input: { action: "scroll", x: 0, y: 5 } });
    expect((scroll as { input: { id?: number } }).input.id).toBeUndefined();
  });

  it("decodes a stroke", () => {
    const stroke = { id: "s1", tool: "arrow", color: "#ff0000", points: [[1, 2], [30.5, 40]] };
    expect(decodeServerMessage(encode({ type: "stroke", agent_id: "a-1", tab: "t-1", stroke }))).toEqual({
      type: "stroke",
      agent_id: "a-1",
      tab: "t-1",
      stroke,
    });
  });

  it("throws ProtocolError for malformed signals", () => {
    const bad = [
      { type: "consent_request", request_id: "r", kind: "admin", agent: alice },
      { type: "consent_request", request_id: "r", kind: "control", agent: { id: "a" } },
      { type: "consent_cancel" },
      { type: "grants", grants: "all" },
      { type: "grants", grants: [{ kind: "control" }] },
      { type: "control", agent_id: "a", tab: "t", input: { action: "explode" } },
      { type: "control", agent_id: "a", tab: "t", input: { action: "click", id: -1, x: 0, y: 0 } },
      { type: "control", agent_id: "a", tab: "t", input: { action: "move", x: "1", y: 0 } },
      { type: "control", agent_id: "a", tab: "t", input: { action: "navigate", to: "url" } },
      { type: "control", agent_id: "a", tab: "t", input: { action: "input", id: 1, value: "x".repeat(4097) } },
      { type: "control", tab: "t", input: { action: "focus", id: 1 } },
      { type: "stroke", agent_id: "a", tab: "t", stroke: { id: "s", tool: "pen", color: "red", points: [[0, 0]] } },
      { type: "stroke", agent_id: "a", tab: "t", stroke: { id: "s", tool: "pen", color: "#000000", points: [] } },
      { type: "stroke", agent_id: "a", tab: "t", stroke: { id: "s", tool: "pen", color: "#000000", points: [[0]] } },
      { type: "stroke", agent_id: "a", tab: "t", stroke: { id: "s", tool: "brush", color: "#000000", points: [[0, 0]] } },
    ];
    for (const message of bad) expect(() => decodeServerMessage(encode(message)), JSON.stringify(message)).toThrow(ProtocolError);
  });

  it("encodes consent, revoke and refused as maps with their fields", () => {
    expect(decode(encodeTrackerMessage({ type: "consent", request_id: "r-1", granted: true }))).toEqual({
      type: "consent",
      request_id: "r-1",
      granted: true,
    });
    expect(decode(encodeTrackerMessage({ type: "consent", request_id: "r-1", granted: false, reason: "timeout" }))).toEqual({
      type: "consent",
      request_id: "r-1",
      granted: false,
      reason: "timeout",
    });
    expect(decode(encodeTrackerMessage({ type: "revoke", kind: "control", agent_id: "a-1" }))).toEqual({
      type: "revoke",
      kind: "control",
      agent_id: "a-1",
    });
    expect(decode(encodeTrackerMessage({ type: "refused", agent_id: "a-1", action: "key", reason: "no" }))).toEqual({
      type: "refused",
      agent_id: "a-1",
      action: "key",
      reason: "no",
    });
  });
});

describe("calls (§10.3, §10.4)", () => {
  const alice = { id: "a-1", name: "Alice" };

  it("decodes call and record consent requests and grants, with video only for calls", () => {
    expect(decodeServerMessage(encode({ type: "consent_request", request_id: "r", kind: "call", agent: alice, video: true }))).toEqual({
      type: "consent_request",
      request_id: "r",
      kind: "call",
      agent: alice,
      video: true,
    });
    // Absent or nil: a voice call.
    expect(decodeServerMessage(encode({ type: "consent_request", request_id: "r", kind: "call", agent: alice }))).toMatchObject({ video: false });
    expect(decodeServerMessage(encode({ type: "consent_request", request_id: "r", kind: "call", agent: alice, video: null }))).toMatchObject({ video: false });
    const recordRequest = decodeServerMessage(encode({ type: "consent_request", request_id: "r", kind: "record", agent: alice, video: null }));
    expect(recordRequest).toEqual({ type: "consent_request", request_id: "r", kind: "record", agent: alice });
    expect("video" in recordRequest!).toBe(false);
    expect(
      decodeServerMessage(
        encode({ type: "grants", grants: [{ kind: "call", agent: alice, video: false }, { kind: "record", agent: alice }, { kind: "control", agent: alice, video: null }] }),
      ),
    ).toEqual({
      type: "grants",
      grants: [{ kind: "call", agent: alice, video: false }, { kind: "record", agent: alice }, { kind: "control", agent: alice }],
    });
  });

  it("decodes call_offer with its ICE servers and slots", () => {
    const message = {
      type: "call_offer",
      tab: "t-1",
      sdp: "v=0\r\n",
      ice_servers: [{ urls: ["stun:stun.example:3478"] }, { urls: ["turn:turn.example:3478?transport=udp"], username: "u", credential: "p" }],
      slots: [
        { mid: "0", send: true, media: "audio", from: null, canvas: null },
        { mid: "1", send: false, media: "video", from: alice },
        { mid: "2", send: true, media: "canvas", from: null, canvas: 17 },
      ],
    };
    expect(decodeServerMessage(encode(message))).toEqual({
      ...message,
      ice_servers: [{ urls: ["stun:stun.example:3478"] }, { urls: ["turn:turn.example:3478?transport=udp"], username: "u", credential: "p" }],
      slots: [
        { mid: "0", send: true, media: "audio", from: null, canvas: null },
        { mid: "1", send: false, media: "video", from: alice, canvas: null },
        { mid: "2", send: true, media: "canvas", from: null, canvas: 17 },
      ],
    });
  });

  it("decodes call_candidate, call_closed and canvas", () => {
    const candidate = { candidate: "candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 };
    expect(decodeServerMessage(encode({ type: "call_candidate", tab: "t-1", candidate }))).toEqual({ type: "call_candidate", tab: "t-1", candidate });
    expect(decodeServerMessage(encode({ type: "call_candidate", tab: "t-1", candidate: { candidate: "c", sdpMid: null } }))).toEqual({
      type: "call_candidate",
      tab: "t-1",
      candidate: { candidate: "c", sdpMid: null, sdpMLineIndex: null },
    });
    expect(decodeServerMessage(encode({ type: "call_closed", tab: "t-1", reason: "call over" }))).toEqual({ type: "call_closed", tab: "t-1", reason: "call over" });
    expect(decodeServerMessage(encode({ type: "canvas", on: true }))).toEqual({ type: "canvas", on: true });
  });

  it("throws ProtocolError for malformed call messages", () => {
    const slot = { mid: "0", send: true, media: "audio" };
    const offer = { type: "call_offer", tab: "t", sdp: "v=0", ice_servers: [], slots: [slot] };
    const bad = [
      { type: "consent_request", request_id: "r", kind: "call", agent: alice, video: "yes" },
      { type: "grants", grants: [{ kind: "call", agent: alice, video: 1 }] },
      { ...offer, tab: undefined },
      { ...offer, sdp: 5 },
      { ...offer, ice_servers: "stun:x" },
      { ...offer, ice_servers: [{ urls: "stun:x" }] },
      { ...offer, ice_servers: [{ urls: [] }] },
      { ...offer, ice_servers: [{ urls: ["stun:x"], username: 1 }] },
      { ...offer, slots: [{ ...slot, media: "screen" }] },
      { ...offer, slots: [{ ...slot, send: "true" }] },
      { ...offer, slots: [{ ...slot, mid: 0 }] },
      { ...offer, slots: [{ ...slot, from: { id: "a" } }] },
      { ...offer, slots: [{ ...slot, canvas: -1 }] },
      { type: "call_candidate", tab: "t", candidate: "candidate:1" },
      { type: "call_candidate", tab: "t", candidate: { sdpMid: "0" } },
      { type: "call_candidate", tab: "t", candidate: { candidate: "c", sdpMLineIndex: -1 } },
      { type: "call_closed", tab: "t" },
      { type: "canvas" },
      { type: "canvas", on: 1 },
    ];
    for (const message of bad) expect(() => decodeServerMessage(encode(message, { ignoreUndefined: true })), JSON.stringify(message)).toThrow(ProtocolError);
  });

  it("encodes call_join, call_answer, call_candidate and hangup", () => {
    expect(decode(encodeTrackerMessage({ type: "call_join", audio: true, video: false, canvases: [3, 9] }))).toEqual({
      type: "call_join",
      audio: true,
      video: false,
      canvases: [3, 9],
    });
    expect(decode(encodeTrackerMessage({ type: "call_answer", sdp: "v=0" }))).toEqual({ type: "call_answer", sdp: "v=0" });
    // A null sdpMid travels as nil, not left out.
    const frame = encodeTrackerMessage({ type: "call_candidate", candidate: { candidate: "c", sdpMid: null, sdpMLineIndex: 0 } });
    expect(decode(frame)).toEqual({ type: "call_candidate", candidate: { candidate: "c", sdpMid: null, sdpMLineIndex: 0 } });
    expect(decode(encodeTrackerMessage({ type: "hangup" }))).toEqual({ type: "hangup" });
  });
});
