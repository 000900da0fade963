import { describe, expect, it } from "vitest";
import { AgentCall, callTiles, canvasFeeds, NOT_CONNECTED, rtcIceServers } from "../src/call";
import type { CallMessage, CallSlot } from "../src/protocol";
import { CALL_BUTTONS, type CallButton } from "../src/views/call-panel";
import { fakeEnv, FakeStream, FakeTrack, offerSdp, settle, type FakePeerConnection } from "./fake-webrtc";

const alice = { id: "a1", name: "alice" };
const user = { id: "user", name: "Dana" };
const bob = { id: "b1", name: "bob" };

type Offer = Extract<CallMessage, { type: "call_offer" }>;

/** The server's offer to an agent that sends audio (mid 0) and video (mid 1) and receives the user's (2, 3). */
function offer(overrides: Partial<Offer> = {}): Offer {
  return {
    type: "call_offer",
    sdp: offerSdp([
      ["0", "audio", "recvonly"],
      ["1", "video", "recvonly"],
      ["2", "audio", "sendonly"],
      ["3", "video", "sendonly"],
    ]),
    ice_servers: [{ urls: ["stun:stun.example:3478"] }, { urls: ["turn:turn.example"], username: "u", credential: "p" }],
    slots: [
      { mid: "0", send: true, media: "audio", from: null, canvas: null },
      { mid: "1", send: true, media: "video", from: null, canvas: null },
      { mid: "2", send: false, media: "audio", from: user, canvas: null },
      { mid: "3", send: false, media: "video", from: user, canvas: null },
    ],
    ...overrides,
  };
}

/** A call whose agent holds the grant (`video` call or not) and has joined. */
async function joined(video = true) {
  const f = fakeEnv();
  const call = new AgentCall(f.env);
  call.setGrant(true, video, alice);
  await settle();
  return { f, call };
}

describe("AgentCall: asking and joining", () => {
  it("sends the request the call buttons stand for", () => {
    const cases: Array<[CallButton, unknown]> = [
      ["call-voice", { type: "request", kind: "call", video: false }],
      ["call-video", { type: "request", kind: "call", video: true }],
      ["join-call", { type: "request", kind: "call", video: false }],
      ["join-call-video", { type: "request", kind: "call", video: true }],
      ["record", { type: "request", kind: "record" }],
      ["stop-recording", { type: "release", kind: "record" }],
      ["hangup", { type: "release", kind: "call" }],
    ];
    for (const [button, message] of cases) {
      const f = fakeEnv();
      CALL_BUTTONS[button].run(new AgentCall(f.env));
      expect(f.sent, button).toEqual([message]);
    }
  });

  it("says so when a click could not be sent, and nothing else when closing", async () => {
    const f = fakeEnv();
    f.setOpen(false);
    const call = new AgentCall(f.env);
    CALL_BUTTONS["call-voice"].run(call);
    expect(call.problem).toBe(NOT_CONNECTED);
    CALL_BUTTONS.canvases.run(call);
    expect(call.canvasesOn).toBe(false);
    f.setOpen(true);
    CALL_BUTTONS["call-voice"].run(call);
    expect(call.problem).toBe("");
    // The session ended with the socket: the grant ends, nothing to tell the agent.
    call.setGrant(true, false, alice);
    await settle();
    call.setCanvases(true);
    f.setOpen(false);
    call.setGrant(false, false, alice);
    expect(call.problem).toBe("");
    expect(call.canvasesOn).toBe(false);
  });

  it("does not touch the microphone before this agent's own call grant", async () => {
    const f = fakeEnv();
    const call = new AgentCall(f.env);
    call.request(true);
    call.setGrant(false, true, alice);
    await settle();
    expect(f.mediaAsks).toEqual([]);
    expect(f.ofType("call_join")).toEqual([]);
    // Someone else's grant is not this agent's: the view passes this agent's own state only.
    call.setGrant(true, true, alice);
    await settle();
    expect(f.mediaAsks).toEqual([{ audio: true, video: true }]);
  });

  it("sends call_join once it has the media, with what it got", async () => {
    let release: () => void = () => {};
    const f = fakeEnv({ media: () => new Promise((resolve) => (release = () => resolve(new FakeStream([new FakeTrack("audio")]))) ) });
    const call = new AgentCall(f.env);
    call.setGrant(true, false, alice);
    await settle();
    expect(call.phase).toBe("media");
    expect(f.mediaAsks).toEqual([{ audio: true, video: false }]);
    expect(f.ofType("call_join")).toEqual([]);
    release();
    await settle();
    expect(f.ofType("call_join")).toEqual([{ type: "call_join", audio: true, video: false }]);
    expect(call.phase).toBe("joining");
    // Further renders with the same grant start nothing again.
    call.setGrant(true, false, alice);
    await settle();
    expect(f.mediaAsks).toHaveLength(1);
    expect(f.ofType("call_join")).toHaveLength(1);
  });

  it("falls back to the microphone when the camera is refused, and to listening when both are", async () => {
    const noCamera = fakeEnv({
      media: async (c) => {
        if (c.video) throw new Error("NotAllowedError");
        return new FakeStream([new FakeTrack("audio")]);
      },
    });
    const a = new AgentCall(noCamera.env);
    a.setGrant(true, true, alice);
    await settle();
    expect(noCamera.ofType("call_join")).toEqual([{ type: "call_join", audio: true, video: false }]);
    expect(a.problem).toMatch(/Camera unavailable/);

    const nothing = fakeEnv({ media: async () => Promise.reject(new Error("NotFoundError")) });
    const b = new AgentCall(nothing.env);
    b.setGrant(true, false, alice);
    await settle();
    expect(nothing.ofType("call_join")).toEqual([{ type: "call_join", audio: false, video: false }]);
    expect(b.problem).toMatch(/listen only/);
  });

  it("drops media that arrives after the grant ended", async () => {
    let resolve: (s: FakeStream) => void = () => {};
    const track = new FakeTrack("audio");
    const f = fakeEnv({ media: () => new Promise((r) => (resolve = r)) });
    const call = new AgentCall(f.env);
    call.setGrant(true, false, alice);
    call.setGrant(false, false, alice);
    resolve(new FakeStream([track]));
    await settle();
    expect(track.stopped).toBe(true);
    expect(f.ofType("call_join")).toEqual([]);
    expect(call.phase).toBe("idle");
  });
});

describe("AgentCall: offer and answer", () => {
  it("creates one peer connection with the offer's ICE servers", async () => {
    const { f, call } = await joined();
    call.handle(offer());
    await settle();
    call.handle(offer());
    await settle();
    expect(f.pcs).toHaveLength(1);
    expect(f.pcs[0]!.config.iceServers).toEqual([
      { urls: ["stun:stun.example:3478"] },
      { urls: ["turn:turn.example"], username: "u", credential: "p" },
    ]);
    expect(call.pc).toBe(f.pcs[0]);
  });

  it("attaches its own tracks to the slots it sends on, by mid, and answers", async () => {
    const { f, call } = await joined();
    // Slots listed in another order than the SDP: the mid decides, not the position.
    const o = offer();
    call.handle({ ...o, slots: [...o.slots].reverse() });
    await settle();
    const pc = f.pcs[0]!;
    const [audio] = f.streams[0]!.getAudioTracks();
    const [video] = f.streams[0]!.getVideoTracks();
    const byMid = (mid: string) => pc.transceivers.find((t) => t.mid === mid)!;
    expect(byMid("0").sender.track).toBe(audio);
    expect(byMid("0").direction).toBe("sendonly");
    expect(byMid("1").sender.track).toBe(video);
    expect(byMid("1").direction).toBe("sendonly");
    expect(byMid("2").sender.track).toBeNull();
    expect(byMid("2").direction).toBe("recvonly");
    const answers = f.ofType("call_answer");
    expect(answers).toHaveLength(1);
    expect(answers[0]!.sdp).toBe(pc.localDescription!.sdp);
    expect(answers[0]!.sdp).toContain(`a=mid:0\r\na=sendonly\r\na=msid:- ${audio!.id}`);
    expect(answers[0]!.sdp).toContain(`a=mid:1\r\na=sendonly\r\na=msid:- ${video!.id}`);
    expect(answers[0]!.sdp).toContain("a=mid:3\r\na=recvonly");
    expect(call.phase).toBe("connecting");
    pc.setState("connected");
    expect(call.phase).toBe("connected");
  });

  it("leaves a send slot it has nothing for inactive", async () => {
    const { f, call } = await joined(false);
    call.handle(offer());
    await settle();
    const pc = f.pcs[0]!;
    expect(pc.transceivers.find((t) => t.mid === "1")!.direction).toBe("inactive");
    expect(pc.transceivers.find((t) => t.mid === "0")!.direction).toBe("sendonly");
  });

  it("shows the participants of the receiving slots as tiles", async () => {
    const { f, call } = await joined();
    call.handle(offer());
    await settle();
    const pc = f.pcs[0]!;
    const tiles = call.tiles();
    expect(tiles.map((t) => [t.participant.id, t.self])).toEqual([
      ["a1", true],
      ["user", false],
    ]);
    expect(tiles[1]!.audio).toBe(pc.transceivers.find((t) => t.mid === "2")!.receiver.track);
    expect(tiles[1]!.video).toBe(pc.transceivers.find((t) => t.mid === "3")!.receiver.track);
  });

  it("trickles its own candidates, and holds the server's until the offer is set", async () => {
    const { f, call } = await joined();
    const early = { candidate: "candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 };
    call.handle({ type: "call_candidate", candidate: early });
    call.handle(offer());
    await settle();
    const pc = f.pcs[0]!;
    expect(pc.candidates).toEqual([early]);
    const late = { ...early, candidate: "candidate:2 1 udp 1 10.0.0.2 50001 typ host" };
    call.handle({ type: "call_candidate", candidate: late });
    await settle();
    expect(pc.candidates).toEqual([early, late]);
    pc.gather("candidate:9 1 udp 3 192.168.1.2 40000 typ host", "1", 1);
    pc.gather("");
    expect(f.ofType("call_candidate")).toEqual([
      { type: "call_candidate", candidate: { candidate: "candidate:9 1 udp 3 192.168.1.2 40000 typ host", sdpMid: "1", sdpMLineIndex: 1 } },
    ]);
  });

  it("holds the server's candidates while its offer is still being set", async () => {
    let open: () => void = () => {};
    const f = fakeEnv({ remoteGate: new Promise((r) => (open = r)) });
    const call = new AgentCall(f.env);
    call.setGrant(true, false, alice);
    await settle();
    call.handle(offer());
    await settle();
    const pc = f.pcs[0]!;
    expect(pc.remoteDescription).toBeNull();
    const c = { candidate: "candidate:3 1 udp 5 10.0.0.3 50002 typ host", sdpMid: "2", sdpMLineIndex: 2 };
    call.handle({ type: "call_candidate", candidate: c });
    await settle();
    expect(pc.candidates).toEqual([]);
    open();
    await settle();
    expect(pc.candidates).toEqual([c]);
    expect(f.ofType("call_answer")).toHaveLength(1);
  });

  it("applies offers one after the other and answers each", async () => {
    const { f, call } = await joined();
    call.handle(offer());
    const second = offer({
      sdp: offerSdp([
        ["0", "audio", "recvonly"],
        ["1", "video", "recvonly"],
        ["2", "audio", "sendonly"],
        ["3", "video", "sendonly"],
        ["4", "audio", "sendonly"],
      ]),
      slots: [...offer().slots, { mid: "4", send: false, media: "audio", from: bob, canvas: null }],
    });
    call.handle(second);
    await settle();
    expect(f.ofType("call_answer")).toHaveLength(2);
    expect(call.tiles().map((t) => t.participant.id)).toEqual(["a1", "user", "b1"]);
  });
});

describe("AgentCall: ending", () => {
  async function connected() {
    const j = await joined();
    j.call.handle(offer());
    await settle();
    return { ...j, pc: j.f.pcs[0]! as FakePeerConnection };
  }

  it("hangs up: sends release, stops its tracks, closes the connection", async () => {
    const { f, call, pc } = await connected();
    CALL_BUTTONS.hangup.run(call);
    expect(f.ofType("release")).toEqual([{ type: "release", kind: "call" }]);
    expect(f.streams[0]!.getTracks().every((t) => t.stopped)).toBe(true);
    expect(pc.closed).toBe(true);
    expect(call.pc).toBeNull();
    expect(call.phase).toBe("idle");
    // The grant is still on record until the `released` record arrives: no new call meanwhile.
    call.setGrant(true, true, alice);
    await settle();
    expect(f.mediaAsks).toHaveLength(1);
    expect(f.ofType("call_join")).toHaveLength(1);
  });

  it("closes everything when its grant is revoked", async () => {
    const { f, call, pc } = await connected();
    call.setGrant(false, true, alice);
    expect(f.streams[0]!.getTracks().every((t) => t.stopped)).toBe(true);
    expect(pc.closed).toBe(true);
    expect(call.tiles()).toEqual([]);
    // Nothing is sent: the grant is already over.
    expect(f.ofType("release")).toEqual([]);
  });

  it("closes everything on call_closed, and can join again", async () => {
    const { f, call, pc } = await connected();
    call.handle({ type: "call_closed", reason: "participant replaced" });
    expect(pc.closed).toBe(true);
    expect(f.streams[0]!.getTracks().every((t) => t.stopped)).toBe(true);
    expect(call.phase).toBe("closed");
    expect(call.closedReason).toBe("participant replaced");
    call.rejoin();
    await settle();
    expect(f.mediaAsks).toHaveLength(2);
    expect(f.ofType("call_join")).toHaveLength(2);
  });

  it("does not apply an offer for a connection closed meanwhile", async () => {
    const { f, call } = await joined();
    call.handle(offer());
    call.handle({ type: "call_closed", reason: "call over" });
    await settle();
    expect(f.pcs).toEqual([]);
    expect(f.ofType("call_answer")).toEqual([]);
    expect(call.phase).toBe("closed");
  });

  it("takes a call_closed after hanging up as no news", async () => {
    const { call } = await connected();
    call.hangUp();
    call.handle({ type: "call_closed", reason: "released" });
    expect(call.phase).toBe("idle");
    expect(call.closedReason).toBeNull();
  });

  it("mutes and turns the camera off on its own tracks", async () => {
    const { f, call } = await connected();
    CALL_BUTTONS.mute.run(call);
    CALL_BUTTONS.camera.run(call);
    const stream = f.streams[0]!;
    expect(stream.getAudioTracks()[0]!.enabled).toBe(false);
    expect(stream.getVideoTracks()[0]!.enabled).toBe(false);
    CALL_BUTTONS.mute.run(call);
    expect(stream.getAudioTracks()[0]!.enabled).toBe(true);
    expect(call.muted).toBe(false);
  });
});

describe("AgentCall: canvases", () => {
  it("asks for canvases with a receive-only join when nothing was joined", () => {
    const f = fakeEnv();
    const call = new AgentCall(f.env);
    CALL_BUTTONS.canvases.run(call);
    expect(f.sent).toEqual([
      { type: "canvas", on: true },
      { type: "call_join", audio: false, video: false },
    ]);
    CALL_BUTTONS.canvases.run(call);
    expect(f.sent.at(-1)).toEqual({ type: "canvas", on: false });
    expect(f.ofType("call_join")).toHaveLength(1);
  });

  it("does not join again for canvases while in the call", async () => {
    const { f, call } = await joined();
    call.setCanvases(true);
    expect(f.ofType("call_join")).toEqual([{ type: "call_join", audio: true, video: true }]);
  });

  it("lists the canvases the offer carries, with their rrweb ids", async () => {
    const f = fakeEnv();
    const call = new AgentCall(f.env);
    call.setCanvases(true);
    call.handle({
      type: "call_offer",
      sdp: offerSdp([["0", "video", "sendonly"], ["1", "video", "inactive"]]),
      ice_servers: [],
      slots: [
        { mid: "0", send: false, media: "canvas", from: user, canvas: 42 },
        { mid: "1", send: false, media: "canvas", from: null, canvas: null },
      ],
    });
    await settle();
    const feeds = call.canvases();
    expect(feeds.map((c) => [c.canvas, c.mid])).toEqual([[42, "0"]]);
    expect(feeds[0]!.track).toBe(f.pcs[0]!.transceivers[0]!.receiver.track);
    // Canvases are not participants.
    expect(call.tiles()).toEqual([]);
    expect(f.ofType("call_answer")).toHaveLength(1);
  });
});

describe("pure helpers", () => {
  const track = (id: string) => ({ id }) as unknown as MediaStreamTrack;
  it("groups receiving slots into one tile per participant, skipping left senders", () => {
    const slots: CallSlot[] = [
      { mid: "0", send: true, media: "audio", from: null, canvas: null },
      { mid: "1", send: false, media: "audio", from: user, canvas: null },
      { mid: "2", send: false, media: "audio", from: bob, canvas: null },
      { mid: "3", send: false, media: "video", from: user, canvas: null },
      { mid: "4", send: false, media: "video", from: null, canvas: null },
      { mid: "5", send: false, media: "canvas", from: user, canvas: 7 },
    ];
    const tiles = callTiles(slots, (mid) => track(mid), null);
    expect(tiles.map((t) => [t.participant.id, (t.audio as unknown as { id: string } | null)?.id ?? null, (t.video as unknown as { id: string } | null)?.id ?? null])).toEqual([
      ["user", "1", "3"],
      ["b1", "2", null],
    ]);
    expect(canvasFeeds(slots, (mid) => track(mid)).map((c) => c.canvas)).toEqual([7]);
    expect(callTiles(slots, () => null, null)).toEqual([]);
  });

  it("copies ICE servers as RTCPeerConnection takes them", () => {
    expect(rtcIceServers([{ urls: ["stun:a"] }, { urls: ["turn:b"], username: "u", credential: "c" }])).toEqual([
      { urls: ["stun:a"] },
      { urls: ["turn:b"], username: "u", credential: "c" },
    ]);
  });
});
