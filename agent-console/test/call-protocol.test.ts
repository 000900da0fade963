import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { decodeAgentMessage, encodeAgentRequest, FrameError, type AgentRequest } from "../src/protocol";

const offer = {
  type: "call_offer",
  sdp: "v=0\r\n...",
  ice_servers: [{ urls: ["stun:stun.example:3478"] }, { urls: ["turn:turn.example:3478?transport=udp"], username: "u", credential: "p" }],
  slots: [
    { mid: "0", send: true, media: "audio", from: null, canvas: null },
    { mid: "1", send: false, media: "video", from: { id: "user", name: "Dana" }, canvas: null },
    { mid: "2", send: false, media: "canvas", from: { id: "user", name: "Dana" }, canvas: 42 },
  ],
};

describe("call messages from the server (protocol.md §10.1)", () => {
  it("decodes call_offer with its ICE servers and slots", () => {
    expect(decodeAgentMessage(encode(offer))).toEqual(offer);
  });

  it("takes absent optional fields as null, and a single url as a list", () => {
    const msg = decodeAgentMessage(
      encode({
        type: "call_offer",
        sdp: "x",
        ice_servers: [{ urls: "stun:a", username: null, credential: null }],
        slots: [{ mid: "0", send: false, media: "audio", from: { id: "b1", name: "bob" } }],
      }),
    );
    expect(msg).toEqual({
      type: "call_offer",
      sdp: "x",
      ice_servers: [{ urls: ["stun:a"] }],
      slots: [{ mid: "0", send: false, media: "audio", from: { id: "b1", name: "bob" }, canvas: null }],
    });
  });

  it("refuses an offer with an unknown media or a slot without mid", () => {
    expect(() => decodeAgentMessage(encode({ ...offer, slots: [{ mid: "0", send: true, media: "screen" }] }))).toThrow(FrameError);
    expect(() => decodeAgentMessage(encode({ ...offer, slots: [{ send: true, media: "audio" }] }))).toThrow(FrameError);
    expect(() => decodeAgentMessage(encode({ type: "call_offer", ice_servers: [], slots: [] }))).toThrow(FrameError);
  });

  it("decodes call_candidate and call_closed", () => {
    const candidate = { candidate: "candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 };
    expect(decodeAgentMessage(encode({ type: "call_candidate", candidate }))).toEqual({ type: "call_candidate", candidate });
    expect(decodeAgentMessage(encode({ type: "call_candidate", candidate: { candidate: "c", sdpMid: null, sdpMLineIndex: null } }))).toEqual({
      type: "call_candidate",
      candidate: { candidate: "c", sdpMid: null, sdpMLineIndex: null },
    });
    expect(decodeAgentMessage(encode({ type: "call_closed", reason: "call over" }))).toEqual({ type: "call_closed", reason: "call over" });
  });
});

describe("call messages to the server (protocol.md §10.2)", () => {
  const roundTrip = (r: AgentRequest) => decode(encodeAgentRequest(r));
  it("encodes each with exactly its fields", () => {
    const cases: AgentRequest[] = [
      { type: "request", kind: "call", video: true },
      { type: "request", kind: "record" },
      { type: "release", kind: "call" },
      { type: "release", kind: "record" },
      { type: "call_join", audio: true, video: false },
      { type: "call_answer", sdp: "v=0\r\n" },
      { type: "call_candidate", candidate: { candidate: "c", sdpMid: "0", sdpMLineIndex: 0 } },
      { type: "canvas", on: true },
    ];
    for (const c of cases) expect(roundTrip(c)).toStrictEqual(c);
  });
});
