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
      limits: { max_frame_bytes: 16777216, max_event_bytes: 10485760, events_per_sec: 500 },
    });
    expect(decodeServerMessage(frame)).toEqual({
      type: "welcome",
      session_id: "0193e0b6-8c1e-7a4e-9b5e-1f2d3c4b5a69",
      session_token: "tok",
      tab: "t-1",
      resumed: false,
      limits: { max_frame_bytes: 16777216, max_event_bytes: 10485760, events_per_sec: 500 },
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
    expect(decodeServerMessage(encode({ type: "call_offer", sdp: "x" }))).toBeNull();
  });

  it("throws ProtocolError for malformed messages", () => {
    expect(() => decodeServerMessage(encode([1, 2]))).toThrow(ProtocolError);
    expect(() => decodeServerMessage(encode({ type: "ack", seq: -1 }))).toThrow(ProtocolError);
    expect(() => decodeServerMessage(encode({ type: "ack", seq: "5" }))).toThrow(ProtocolError);
    expect(() => decodeServerMessage(hex("c1"))).toThrow(ProtocolError);
  });
});
