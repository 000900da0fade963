import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import {
  backoffMs,
  decodeAgentMessage,
  encodeAgentRequest,
  eventJson,
  FrameError,
  fromSeqInReason,
  liveQuery,
  planAfterClose,
  tryEventJson,
} from "../src/protocol";

const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (s: string) => new Uint8Array(s.trim().split(/\s+/).map((b) => parseInt(b, 16)));

function event(overrides: Record<string, unknown> = {}) {
  return {
    seq_num: 2,
    ts: 1734641880541,
    kind: "rrweb",
    tab: "t-4f9a2c",
    client_seq: 1,
    client_ts: 1734641880500,
    data: utf8('{"type":4,"data":{"href":"https://shop.example/cart","width":1280,"height":720},"timestamp":1734641880500}'),
    ...overrides,
  };
}

describe("decodeAgentMessage", () => {
  it("decodes caught_up as the server's rmp_serde writes it, byte for byte", () => {
    // {"type": "caught_up", "seq_num": 2}: a fixmap of 2, fixstr keys, a positive fixint.
    const frame = hex("82 a4 74 79 70 65 a9 63 61 75 67 68 74 5f 75 70 a7 73 65 71 5f 6e 75 6d 02");
    expect(decodeAgentMessage(frame)).toEqual({ type: "caught_up", seq_num: 2 });
  });

  it("decodes an events frame, with data as bin holding UTF-8 JSON", () => {
    const frame = encode({ type: "events", events: [event(), event({ seq_num: 9, kind: "start", tab: "", client_seq: 0 })] });
    const msg = decodeAgentMessage(frame);
    expect(msg.type).toBe("events");
    if (msg.type !== "events") return;
    expect(msg.events).toHaveLength(2);
    const [first, second] = msg.events;
    expect(first!.seq_num).toBe(2);
    expect(first!.ts).toBe(1734641880541);
    expect(first!.tab).toBe("t-4f9a2c");
    expect(first!.data).toBeInstanceOf(Uint8Array);
    expect(eventJson(first!)).toEqual({
      type: 4,
      data: { href: "https://shop.example/cart", width: 1280, height: 720 },
      timestamp: 1734641880500,
    });
    expect(second!.kind).toBe("start");
    expect(second!.tab).toBe("");
  });

  it("accepts an ArrayBuffer as the browser's WebSocket hands it", () => {
    const bytes = encode({ type: "caught_up", seq_num: 70000 });
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    expect(decodeAgentMessage(buffer)).toEqual({ type: "caught_up", seq_num: 70000 });
  });

  it("does not rely on key order", () => {
    const frame = encode({ seq_num: 5, type: "caught_up" });
    expect(decodeAgentMessage(frame)).toEqual({ type: "caught_up", seq_num: 5 });
  });

  it("accepts data sent as a str", () => {
    const frame = encode({ type: "events", events: [event({ data: '{"a":1}' })] });
    const msg = decodeAgentMessage(frame);
    if (msg.type !== "events") throw new Error("expected events");
    expect(eventJson(msg.events[0]!)).toEqual({ a: 1 });
  });

  it("passes unknown message types through as other", () => {
    expect(decodeAgentMessage(encode({ type: "agent_joined", name: "ana" }))).toEqual({ type: "other", name: "agent_joined" });
  });

  it("refuses frames that are not messages", () => {
    expect(() => decodeAgentMessage(encode([1, 2]))).toThrow(FrameError);
    expect(() => decodeAgentMessage(encode({ events: [] }))).toThrow(/type/);
    expect(() => decodeAgentMessage(encode({ type: "events", events: {} }))).toThrow(/array/);
    expect(() => decodeAgentMessage(encode({ type: "events", events: [event({ data: 5 })] }))).toThrow(/data/);
    expect(() => decodeAgentMessage(encode({ type: "events", events: [event({ seq_num: -1 })] }))).toThrow(/seq_num/);
    expect(() => decodeAgentMessage(encode({ type: "caught_up" }))).toThrow(/seq_num/);
    expect(() => decodeAgentMessage(hex("c1"))).toThrow(FrameError);
  });
});

describe("eventJson", () => {
  it("decodes UTF-8", () => {
    expect(eventJson({ data: utf8('{"text":"héllo ✓"}') })).toEqual({ text: "héllo ✓" });
  });
  it("throws on bytes that are not JSON, tryEventJson returns undefined", () => {
    expect(() => eventJson({ data: utf8("{nope") })).toThrow();
    expect(tryEventJson({ data: utf8("{nope") })).toBeUndefined();
    expect(tryEventJson({ data: new Uint8Array([0xff, 0xfe]) })).toBeUndefined();
  });
});

describe("reconnecting", () => {
  it("finds from_seq in a close reason", () => {
    expect(fromSeqInReason("agent fell behind the live stream; reconnect with from_seq=1234")).toBe(1234);
    expect(fromSeqInReason("session ended")).toBeNull();
  });

  it("stops when the session ended or does not exist", () => {
    expect(planAfterClose(1000, "session ended", 10, { from: "live" })).toMatchObject({ action: "stop", outcome: "ended" });
    expect(planAfterClose(4004, "", null, { from: "live" })).toMatchObject({ action: "stop", outcome: "not_found" });
  });

  it("resumes just after the last event received, whatever the reason says", () => {
    const plan = planAfterClose(4008, "agent did not read for 10s; reconnect with from_seq=50", 41, { from: "live" });
    expect(plan).toMatchObject({ action: "reconnect", start: { from_seq: 42 } });
  });

  it("uses the reason's from_seq when nothing was received", () => {
    const plan = planAfterClose(4008, "reconnect with from_seq=50", null, { from: "live" });
    expect(plan).toMatchObject({ action: "reconnect", start: { from_seq: 50 } });
  });

  it("starts over from the initial point when nothing was received and the reason names none", () => {
    expect(planAfterClose(1006, "", null, { from: "live" })).toMatchObject({ action: "reconnect", start: { from: "live" } });
    expect(planAfterClose(1001, "server is shutting down; reconnect", 7, { from: "live" })).toMatchObject({
      action: "reconnect",
      start: { from_seq: 8 },
    });
  });

  it("backs off exponentially, capped", () => {
    expect(backoffMs(0)).toBe(250);
    expect(backoffMs(1)).toBe(500);
    expect(backoffMs(3)).toBe(2000);
    expect(backoffMs(20)).toBe(8000);
  });

  it("builds the live query", () => {
    expect(liveQuery({ from: "live" }, "t1.x=")).toBe("ticket=t1.x%3D&from=live");
    expect(liveQuery({ from_seq: 42 }, "t")).toBe("ticket=t&from_seq=42");
  });
});

describe("signals on the agent WebSocket (protocol.md §9.2)", () => {
  it("decodes joined: the connection's agent id and name", () => {
    const frame = encode({ type: "joined", agent: { id: "5f0c-a", name: "alice" } });
    expect(decodeAgentMessage(frame)).toEqual({ type: "joined", agent: { id: "5f0c-a", name: "alice" } });
  });

  it("rejects a joined without an agent map", () => {
    expect(() => decodeAgentMessage(encode({ type: "joined", agent: "alice" }))).toThrow(FrameError);
    expect(() => decodeAgentMessage(encode({ type: "joined", agent: { id: "x" } }))).toThrow(/name/);
  });

  it("decodes error: the code and message of a dropped frame", () => {
    const frame = encode({ type: "error", error: "rate_limited", message: "more than 50 frames a second" });
    expect(decodeAgentMessage(frame)).toEqual({ type: "error", error: "rate_limited", message: "more than 50 frames a second" });
  });

  it("encodes request as the exact MessagePack map the server reads", () => {
    // {"type": "request", "kind": "control"}: fixmap of 2, fixstr keys and values.
    const expected = hex(
      "82 a4 74 79 70 65 a7 72 65 71 75 65 73 74 a4 6b 69 6e 64 a7 63 6f 6e 74 72 6f 6c",
    );
    expect(encodeAgentRequest({ type: "request", kind: "control" })).toEqual(expected);
  });

  it("encodes release, resync, control and stroke with exactly their fields", () => {
    const roundTrip = (r: Parameters<typeof encodeAgentRequest>[0]) => decode(encodeAgentRequest(r));
    expect(roundTrip({ type: "release", kind: "annotate" })).toStrictEqual({ type: "release", kind: "annotate" });
    expect(roundTrip({ type: "resync" })).toStrictEqual({ type: "resync" });
    expect(roundTrip({ type: "control", tab: "t-1", input: { action: "click", id: 42, x: 10, y: 20 } })).toStrictEqual({
      type: "control",
      tab: "t-1",
      input: { action: "click", id: 42, x: 10, y: 20 },
    });
    expect(
      roundTrip({ type: "stroke", tab: "t-1", stroke: { id: "s1", tool: "arrow", color: "#ff0000", points: [[1, 2], [30, 40]] } }),
    ).toStrictEqual({ type: "stroke", tab: "t-1", stroke: { id: "s1", tool: "arrow", color: "#ff0000", points: [[1, 2], [30, 40]] } });
  });

  it("sends a window scroll's id as nil but leaves out an absent optional field", () => {
    const scroll = decode(encodeAgentRequest({ type: "control", tab: "t", input: { action: "scroll", id: null, x: 0, y: 300 } })) as {
      input: Record<string, unknown>;
    };
    expect(scroll.input).toStrictEqual({ action: "scroll", id: null, x: 0, y: 300 });
    const key = decode(encodeAgentRequest({ type: "control", tab: "t", input: { action: "key", key: "a", id: undefined } })) as {
      input: Record<string, unknown>;
    };
    expect(key.input).toStrictEqual({ action: "key", key: "a" });
    const nav = decode(encodeAgentRequest({ type: "control", tab: "t", input: { action: "navigate", to: "back" } })) as {
      input: Record<string, unknown>;
    };
    expect(Object.keys(nav.input)).toEqual(["action", "to"]);
  });
});

describe("view consent (view: ask)", () => {
  it("decodes where the user's answer stands, and refuses a state it does not know", () => {
    expect(decodeAgentMessage(encode({ type: "view_consent", state: "asking" }))).toEqual({ type: "view_consent", state: "asking" });
    expect(() => decodeAgentMessage(encode({ type: "view_consent", state: "maybe" }))).toThrow(/state/);
  });

  it("stops, without reconnecting, when the user did not let the agent watch", () => {
    const plan = planAfterClose(4403, "the user did not let you watch this session", null, { from: "beginning" });
    expect(plan).toMatchObject({ action: "stop", outcome: "refused" });
    expect(plan.action === "stop" && plan.message).toMatch(/did not let you watch/);
  });
});
