// The page's side of calls (§10): consent before any device opens, joining, answering the
// server's offers, the call window, hanging up, recording, and canvases as video.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { CALL_TAB_KEY, CANVAS_RESCAN_MS } from "../src/call";
import { CONSENT_TIMEOUT_MS } from "../src/consent";
import { ACCEPT_DELAY_MS } from "../src/consent-prompt";
import type { CallOffer, CallSlot, Grant } from "../src/protocol";
import { MemoryStorage } from "../src/storage";
import { type CallSetup, FakePeer, FakeTrack, flush, offerSdp, setupCall } from "./call-fakes";
import { alice, bob, find, findAll, TAB } from "./page";
import { userClick } from "./user";

const voice = (agent = alice): Grant => ({ kind: "call", agent, video: false });
const video = (agent = alice): Grant => ({ kind: "call", agent, video: true });
const record = (agent = alice): Grant => ({ kind: "record", agent });

let requestIds = 0;

// jsdom does not play media: a play() that starts at once, unless a test says otherwise.
const play = vi.spyOn(HTMLMediaElement.prototype, "play");
beforeEach(() => {
  play.mockReset();
  play.mockResolvedValue(undefined);
});

/** An agent asks for a call and the user accepts in this tab; the server then lists `grants`. */
function acceptCall(t: CallSetup, agent = alice, withVideo = false): string {
  const requestId = `r-${++requestIds}`;
  t.receive({ type: "consent_request", request_id: requestId, kind: "call", agent, video: withVideo });
  vi.advanceTimersByTime(ACCEPT_DELAY_MS);
  userClick(find("consent-prompt", `[data-request-id="${requestId}"]`)!.querySelector<HTMLElement>('[data-cobrowse="consent-accept"]')!);
  return requestId;
}

function slot(mid: string, media: CallSlot["media"], send: boolean, from: { id: string; name: string } | null = null, canvas: number | null = null): CallSlot {
  return { mid, media, send, from, canvas };
}

function offer(slots: CallSlot[], fingerprint?: string, tab = TAB): CallOffer {
  return {
    type: "call_offer",
    tab,
    sdp: offerSdp(
      slots.map((s) => [s.mid, s.media === "audio" ? "audio" : "video"]),
      fingerprint,
    ),
    ice_servers: [{ urls: ["turn:turn.example:3478"], username: "u", credential: "c" }],
    slots,
  };
}

const button = (action: string): HTMLButtonElement | null => find("call-button", `[data-action="${action}"]`) as HTMLButtonElement | null;

/** Accepts a voice call from Alice and lets the microphone open; returns the microphone. */
async function startVoiceCall(t: CallSetup): Promise<FakeTrack> {
  acceptCall(t);
  t.grant(voice());
  await flush();
  const mic = t.devices.opened.find((track) => track.kind === "audio");
  if (mic === undefined) throw new Error("the microphone did not open");
  return mic;
}

describe("calls: consent comes before any device", () => {
  let t: CallSetup;
  beforeEach(() => {
    vi.useFakeTimers();
    document.body.innerHTML = "";
    t = setupCall();
  });
  afterEach(() => {
    t.signals.stop();
    vi.useRealTimers();
  });

  it("asks for a voice call, a video call, or to record, holding Accept like every prompt", () => {
    t.receive({ type: "consent_request", request_id: "r-v", kind: "call", agent: alice, video: false });
    t.receive({ type: "consent_request", request_id: "r-w", kind: "call", agent: bob, video: true });
    t.receive({ type: "consent_request", request_id: "r-r", kind: "record", agent: alice });
    const [voicePrompt, videoPrompt, recordPrompt] = findAll("consent-prompt") as [HTMLElement, HTMLElement, HTMLElement];
    expect(voicePrompt.querySelector(".title")!.textContent).toBe("Alice asks for a voice call");
    expect(voicePrompt.dataset["video"]).toBe("false");
    expect(videoPrompt.querySelector(".title")!.textContent).toBe("Bob asks for a video call");
    expect(videoPrompt.dataset["video"]).toBe("true");
    expect(videoPrompt.textContent).toContain("microphone and camera");
    expect(recordPrompt.querySelector(".title")!.textContent).toBe("Alice asks to record this call");
    expect(recordPrompt.dataset["kind"]).toBe("record");

    const accept = voicePrompt.querySelector<HTMLButtonElement>('[data-cobrowse="consent-accept"]')!;
    userClick(accept);
    expect(t.sent).toEqual([]);
    vi.advanceTimersByTime(ACCEPT_DELAY_MS);
    userClick(accept);
    expect(t.sent).toEqual([{ type: "consent", request_id: "r-v", granted: true }]);
  });

  it("does not touch the microphone while a call is only asked for, declined or timed out", async () => {
    t.receive({ type: "consent_request", request_id: "r-1", kind: "call", agent: alice, video: true });
    await flush();
    expect(t.devices.getUserMedia).not.toHaveBeenCalled();

    find("consent-decline")!.click();
    expect(t.sent).toEqual([{ type: "consent", request_id: "r-1", granted: false, reason: "declined" }]);
    t.grant({ kind: "control", agent: alice });
    await flush();
    expect(t.devices.getUserMedia).not.toHaveBeenCalled();

    t.receive({ type: "consent_request", request_id: "r-2", kind: "call", agent: bob });
    vi.advanceTimersByTime(CONSENT_TIMEOUT_MS);
    t.grant();
    await flush();
    expect(t.sent[1]).toEqual({ type: "consent", request_id: "r-2", granted: false, reason: "timeout" });
    expect(t.devices.getUserMedia).not.toHaveBeenCalled();
    expect(find("call-window")).toBeNull();
  });

  it("opens the microphone only, once the voice call is granted, then joins", async () => {
    acceptCall(t);
    expect(t.devices.getUserMedia).not.toHaveBeenCalled(); // accepted, but no grant yet
    t.devices.hold = true;
    t.grant(voice());
    expect(t.devices.getUserMedia).toHaveBeenCalledTimes(1);
    expect(t.devices.getUserMedia).toHaveBeenCalledWith({ audio: true, video: false });
    await flush();
    expect(t.of("call_join")).toEqual([]); // not before the browser handed the microphone over
    expect(find("call-status")!.textContent).toBe("Waiting for your microphone…");

    t.devices.release();
    await flush();
    expect(t.of("call_join")).toEqual([{ type: "call_join", audio: true, video: false, canvases: [] }]);
    // The same grants again change nothing.
    t.grant(voice());
    await flush();
    expect(t.devices.getUserMedia).toHaveBeenCalledTimes(1);
    expect(t.of("call_join")).toHaveLength(1);
  });

  it("opens the camera too for a video call", async () => {
    acceptCall(t, alice, true);
    t.grant(video());
    await flush();
    expect(t.devices.getUserMedia).toHaveBeenCalledWith({ audio: true, video: true });
    expect(t.of("call_join")).toEqual([{ type: "call_join", audio: true, video: true, canvases: [] }]);
    expect(button("camera")!.hidden).toBe(false);
    expect(find("call-self")!.querySelector("video")).not.toBeNull();
  });

  it("goes on without the camera when there is none, and says so", async () => {
    acceptCall(t, alice, true);
    t.devices.fail = "NotFoundError";
    t.grant(video());
    await flush();
    expect(t.devices.getUserMedia.mock.calls.map((c) => c[0])).toEqual([
      { audio: true, video: true },
      { audio: true, video: false },
    ]);
    expect(t.of("call_join")).toEqual([{ type: "call_join", audio: true, video: false, canvases: [] }]);
    expect(find("call-error")!.textContent).toBe("No camera was found.");
    expect(button("camera")!.hidden).toBe(true);
  });

  it("tells the user and hangs up when the microphone cannot be used", async () => {
    acceptCall(t);
    t.devices.fail = "NotAllowedError";
    t.grant(voice());
    await flush();
    expect(t.of("hangup")).toEqual([{ type: "hangup" }]);
    expect(t.of("call_join")).toEqual([]);
    expect(find("call-error")!.textContent).toContain("microphone could not be used: access was not allowed");
    expect(find("call-window")!.dataset["mode"]).toBe("ended");
    // A list the server sent before it saw the hangup does not ask again.
    t.grant(voice());
    await flush();
    expect(t.devices.getUserMedia).toHaveBeenCalledTimes(1);
    button("close")!.click();
    expect(find("call-window")).toBeNull();
  });

  it("does not join from a tab where the call was not accepted, until the user asks to", async () => {
    t.grant(voice());
    await flush();
    expect(t.devices.getUserMedia).not.toHaveBeenCalled();
    const win = find("call-window")!;
    expect(win.dataset["mode"]).toBe("elsewhere");
    expect(button("mute")!.hidden).toBe(true);
    expect(win.textContent).toContain("Alice");

    button("join")!.click();
    await flush();
    expect(t.devices.getUserMedia).toHaveBeenCalledWith({ audio: true, video: false });
    expect(t.of("call_join")).toHaveLength(1);
    expect(find("call-window")!.dataset["mode"]).toBe("here");
  });
});

describe("calls: negotiation", () => {
  let t: CallSetup;
  let mic: FakeTrack;
  beforeEach(async () => {
    vi.useFakeTimers();
    document.body.innerHTML = "";
    t = setupCall();
    mic = await startVoiceCall(t);
  });
  afterEach(() => {
    t.signals.stop();
    vi.useRealTimers();
  });

  const firstOffer = (): CallOffer =>
    offer([slot("0", "audio", true), slot("1", "audio", false, alice), slot("2", "video", false, alice), slot("3", "audio", false, bob)]);

  it("answers the server's offer with the microphone on the send slot, found by mid", async () => {
    t.receive(firstOffer());
    await flush();
    expect(FakePeer.all).toHaveLength(1);
    const pc = FakePeer.last();
    expect(pc.config).toEqual({ iceServers: [{ urls: ["turn:turn.example:3478"], username: "u", credential: "c" }] });
    expect(pc.remoteDescription).toEqual({ type: "offer", sdp: firstOffer().sdp });
    const byMid = new Map(pc.transceivers.map((tr) => [tr.mid, tr]));
    expect(byMid.get("0")!.sender.replaceTrack).toHaveBeenCalledWith(mic);
    expect(byMid.get("0")!.direction).toBe("sendonly");
    for (const mid of ["1", "2", "3"]) {
      expect(byMid.get(mid)!.sender.replaceTrack).not.toHaveBeenCalled();
      expect(byMid.get(mid)!.direction).toBe("recvonly");
    }
    const answers = t.of("call_answer");
    expect(answers).toHaveLength(1);
    expect(answers[0]!.sdp).toBe(pc.localDescription!.sdp);
    expect(answers[0]!.sdp).toContain(`a=mid:0 a=sendonly track=${mic.id}`);
    // No script of the page reaches the connection through the window.
    expect(Object.keys(window).filter((key) => /cobrowse/i.test(key))).toEqual([]);
  });

  it("answers every new offer on the same connection, one after the other", async () => {
    t.receive(firstOffer());
    t.receive(offer([slot("0", "audio", true), slot("1", "audio", false, null), slot("2", "video", false, null), slot("3", "audio", false, bob)]));
    await flush();
    expect(FakePeer.all).toHaveLength(1);
    expect(FakePeer.last().remoteOffers).toHaveLength(2);
    expect(t.of("call_answer").map((a) => a.sdp.split("\n")[0])).toEqual(["answer 1", "answer 2"]);
  });

  it("takes the page's track off a slot the server no longer takes", async () => {
    t.receive(firstOffer());
    await flush();
    const sender = FakePeer.last().transceivers[0]!;
    expect(sender.sender.track).toBe(mic);
    t.receive(offer([slot("0", "audio", false), slot("1", "audio", false, alice), slot("2", "video", false, alice), slot("3", "audio", false, bob)]));
    await flush();
    expect(sender.sender.track).toBeNull();
    expect(sender.direction).toBe("recvonly");
  });

  it("starts a new connection when the server offers one (a new DTLS fingerprint)", async () => {
    t.receive(firstOffer());
    await flush();
    const old = FakePeer.last();
    t.receive(offer([slot("0", "audio", true)], "sha-256 CC:DD"));
    await flush();
    expect(old.closed).toBe(true);
    expect(FakePeer.all).toHaveLength(2);
    expect(FakePeer.last().transceivers[0]!.sender.track).toBe(mic);
  });

  it("queues remote candidates until the remote description is set, and sends local ones", async () => {
    const candidate = (n: number) => ({ candidate: `candidate:${n} 1 udp 1 10.0.0.1 ${5000 + n} typ host`, sdpMid: "0", sdpMLineIndex: 0 });
    let applied!: () => void;
    FakePeer.remoteGate = new Promise((resolve) => (applied = resolve));
    t.receive({ type: "call_candidate", tab: TAB, candidate: candidate(1) }); // before the offer
    t.receive({ type: "call_candidate", tab: "other-tab", candidate: candidate(9) });
    t.receive(firstOffer());
    await flush();
    const pc = FakePeer.last();
    t.receive({ type: "call_candidate", tab: TAB, candidate: candidate(2) }); // while the offer is being applied
    await flush();
    expect(pc.remoteDescription).toBeNull();
    expect(pc.added).toEqual([]);
    applied();
    await flush();
    expect(pc.added).toEqual([candidate(1), candidate(2)]);
    t.receive({ type: "call_candidate", tab: TAB, candidate: candidate(3) });
    await flush();
    expect(pc.added).toEqual([candidate(1), candidate(2), candidate(3)]);

    pc.emitCandidate({ candidate: "candidate:7 1 udp 2 192.168.1.2 6000 typ host", sdpMid: "0", sdpMLineIndex: 0 });
    pc.emitCandidate({ candidate: "", sdpMid: "0", sdpMLineIndex: 0 }); // end of candidates: not sent
    expect(t.of("call_candidate")).toEqual([
      { type: "call_candidate", candidate: { candidate: "candidate:7 1 udp 2 192.168.1.2 6000 typ host", sdpMid: "0", sdpMLineIndex: 0 } },
    ]);
  });

  it("ignores offers for another tab", async () => {
    t.receive(offer([slot("0", "audio", true)], undefined, "other-tab"));
    await flush();
    expect(FakePeer.all).toHaveLength(0);
    expect(t.of("call_answer")).toEqual([]);
  });

  it("shows each agent with their video, or their initial and name, and plays their sound", async () => {
    t.grant(voice(), video(bob));
    t.receive(offer([slot("0", "audio", true), slot("1", "audio", false, alice), slot("2", "audio", false, bob), slot("3", "video", false, bob)]));
    await flush();
    const pc = FakePeer.last();
    const aliceAudio = pc.emitTrack("1");
    pc.emitTrack("2");
    const bobVideo = pc.emitTrack("3");
    const tiles = findAll("call-participant");
    expect(tiles.map((tile) => tile.dataset["participantId"])).toEqual([alice.id, bob.id]);
    const [aliceTile, bobTile] = tiles as [HTMLElement, HTMLElement];
    expect(aliceTile.querySelector("video")).toBeNull();
    expect(aliceTile.querySelector(".call-avatar")!.textContent).toBe("A");
    expect(aliceTile.textContent).toContain("Alice");
    const audio = aliceTile.querySelector<HTMLAudioElement>('[data-cobrowse="call-audio"]')!;
    expect(audio.autoplay).toBe(true);
    expect((audio.srcObject as unknown as { tracks: FakeTrack[] }).tracks).toEqual([aliceAudio]);
    const videoEl = bobTile.querySelector<HTMLVideoElement>('[data-cobrowse="call-video"]')!;
    expect((videoEl.srcObject as unknown as { tracks: FakeTrack[] }).tracks).toEqual([bobVideo]);
    expect(bobTile.querySelector('[data-cobrowse="call-audio"]')).not.toBeNull();

    // Bob leaves the call: his slots go inactive with from: null, and his tile goes.
    t.grant(voice());
    t.receive(offer([slot("0", "audio", true), slot("1", "audio", false, alice), slot("2", "audio", false, null), slot("3", "video", false, null)]));
    await flush();
    expect(findAll("call-participant").map((tile) => tile.dataset["participantId"])).toEqual([alice.id]);
  });

  it("starts the agents' sound on the user's next gesture when the browser holds autoplay back", async () => {
    t.receive(firstOffer());
    await flush();
    play.mockRejectedValueOnce(new DOMException("needs a gesture", "NotAllowedError"));
    FakePeer.last().emitTrack("1");
    await flush();
    const audio = find("call-participant")!.querySelector('[data-cobrowse="call-audio"]')!;
    expect(play.mock.contexts).toEqual([audio]);
    document.body.dispatchEvent(new MouseEvent("pointerdown", { bubbles: true }));
    expect(play.mock.contexts).toEqual([audio, audio]);
    document.body.dispatchEvent(new MouseEvent("pointerdown", { bubbles: true }));
    expect(play).toHaveBeenCalledTimes(2);
  });

  it("says how the connection is doing", async () => {
    t.receive(firstOffer());
    await flush();
    expect(find("call-status")!.textContent).toBe("Connecting…");
    FakePeer.last().setState("connected");
    expect(find("call-status")!.hidden).toBe(true);
    FakePeer.last().setState("failed");
    expect(find("call-status")!.textContent).toBe("The call's connection failed.");
  });

  it("mutes and unmutes the microphone", () => {
    const mute = button("mute")!;
    expect(mute.textContent).toBe("Mute");
    expect(button("camera")!.hidden).toBe(true); // a voice call
    mute.click();
    expect(mic.enabled).toBe(false);
    expect(mute.textContent).toBe("Unmute");
    expect(mute.getAttribute("aria-pressed")).toBe("true");
    mute.click();
    expect(mic.enabled).toBe(true);
    expect(mic.readyState).toBe("live");
  });

  it("hangs up: sends hangup, stops every track, closes the connection and the window", async () => {
    t.receive(firstOffer());
    await flush();
    const pc = FakePeer.last();
    button("hangup")!.click();
    expect(t.of("hangup")).toEqual([{ type: "hangup" }]);
    expect(mic.readyState).toBe("ended");
    expect(t.devices.live()).toEqual([]);
    expect(pc.closed).toBe(true);
    expect(find("call-window")).toBeNull();

    // The server's list from before it saw the hangup does not open the microphone again.
    t.grant(voice());
    await flush();
    expect(t.devices.getUserMedia).toHaveBeenCalledTimes(1);
    expect(find("call-window")).toBeNull();
    // Nor do the server's later messages about the old connection.
    t.receive(firstOffer());
    await flush();
    expect(FakePeer.all).toHaveLength(1);
  });

  it("hangs up while offline: the call ends here at once, and is revoked after the next welcome", async () => {
    t.grant(voice(), record());
    t.online.value = false;
    button("hangup")!.click();
    expect(mic.readyState).toBe("ended");
    expect(find("call-window")).toBeNull();
    t.online.value = true;
    t.signals.connected();
    expect(t.of("revoke")).toEqual([
      { type: "revoke", kind: "call", agent_id: alice.id },
      { type: "revoke", kind: "record", agent_id: alice.id },
    ]);
    t.grant(voice(), record());
    await flush();
    expect(t.devices.getUserMedia).toHaveBeenCalledTimes(1);
    expect(find("call-window")).toBeNull();
  });

  it("ends when the last call grant goes: tracks stop, connection and window close", async () => {
    t.receive(firstOffer());
    await flush();
    t.grant({ kind: "control", agent: alice });
    expect(mic.readyState).toBe("ended");
    expect(FakePeer.last().closed).toBe(true);
    expect(find("call-window")).toBeNull();
    expect(t.of("hangup")).toEqual([]);
    expect(t.of("call_join")).toHaveLength(1);
  });

  it("leaves the call when the server closes the tab's connection, and joins again only when asked", async () => {
    t.receive(firstOffer());
    await flush();
    t.receive({ type: "call_closed", tab: "other-tab", reason: "replaced" });
    expect(FakePeer.last().closed).toBe(false);
    t.receive({ type: "call_closed", tab: TAB, reason: "replaced" });
    expect(mic.readyState).toBe("ended");
    expect(FakePeer.last().closed).toBe(true);
    t.grant(voice());
    await flush();
    expect(t.devices.getUserMedia).toHaveBeenCalledTimes(1);
    expect(t.of("call_join")).toHaveLength(1);
    expect(find("call-window")!.dataset["mode"]).toBe("elsewhere");
    expect(find("call-status")!.textContent).toBe("The call moved to another tab.");

    button("join")!.click();
    await flush();
    expect(t.devices.getUserMedia).toHaveBeenCalledTimes(2);
    expect(t.of("call_join")).toHaveLength(2);
  });

  it("joins again on a new connection, after the grants that follow welcome", async () => {
    t.receive(firstOffer());
    await flush();
    t.signals.connected();
    expect(FakePeer.last().closed).toBe(true);
    expect(mic.readyState).toBe("live"); // the microphone stays open between connections
    expect(t.of("call_join")).toHaveLength(1);
    t.grant(voice());
    expect(t.of("call_join")).toHaveLength(2);
    expect(t.devices.getUserMedia).toHaveBeenCalledTimes(1);
  });

  it("shows a red indicator while the call is recorded, with a Stop that revokes the recording", () => {
    expect(find("call-recording")!.hidden).toBe(true);
    t.grant(voice(), record());
    const indicator = find("call-recording")!;
    expect(indicator.hidden).toBe(false);
    expect(indicator.textContent).toContain("● Recording");
    // The grant bar is for control and drawing; the call window shows the call.
    expect(find("grant-indicator")).toBeNull();
    button("stop-recording")!.click();
    expect(t.of("revoke")).toEqual([{ type: "revoke", kind: "record", agent_id: alice.id }]);
    expect(find("call-recording")!.hidden).toBe(true);
    expect(mic.readyState).toBe("live"); // the call goes on
  });

  it("turns the camera on when a video call joins a voice call, and off when it ends", async () => {
    acceptCall(t, bob, true);
    t.grant(voice(), video(bob));
    await flush();
    expect(t.devices.getUserMedia).toHaveBeenLastCalledWith({ audio: false, video: true });
    const camera = t.devices.opened.find((track) => track.kind === "video")!;
    expect(t.of("call_join").at(-1)).toEqual({ type: "call_join", audio: true, video: true, canvases: [] });
    button("camera")!.click();
    expect(camera.enabled).toBe(false);
    expect(button("camera")!.textContent).toBe("Camera on");

    t.grant(voice());
    expect(camera.readyState).toBe("ended");
    expect(mic.readyState).toBe("live");
    expect(t.of("call_join").at(-1)).toEqual({ type: "call_join", audio: true, video: false, canvases: [] });
  });

  it("moves the window by dragging its header", () => {
    const win = find("call-window")!;
    const header = find("call-header")!;
    const pointer = (type: string, x: number, y: number) =>
      header.dispatchEvent(Object.assign(new MouseEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true }), { pointerId: 1 }));
    pointer("pointerdown", 10, 10);
    pointer("pointermove", 110, 60);
    expect(win.style.left).toBe("100px");
    expect(win.style.top).toBe("50px");
    expect(win.style.right).toBe("auto");
    pointer("pointerup", 110, 60);
    pointer("pointermove", 300, 300);
    expect(win.style.left).toBe("100px");
  });

  it("keeps the window and its media out of the recording's reach: it is in the tracker's shadow root", () => {
    expect(document.querySelector('[data-cobrowse="call-window"]')).toBeNull();
    const host = document.querySelector("cobrowse-ui")!;
    expect(host.classList.contains("cobrowse-block")).toBe(true);
    expect(host.shadowRoot!.querySelector('[data-cobrowse="call-window"]')).not.toBeNull();
  });

  it("stops the devices without hanging up when the tracker stops (the next page joins again)", () => {
    t.signals.stop();
    expect(mic.readyState).toBe("ended");
    expect(t.of("hangup")).toEqual([]);
    expect(t.storage.getItem(CALL_TAB_KEY)).toBe("true");
  });
});

describe("calls: the tab's next page", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    document.body.innerHTML = "";
  });
  afterEach(() => vi.useRealTimers());

  it("joins again after a reload, and forgets the call once it is over", async () => {
    const storage = new MemoryStorage();
    const first = setupCall(storage);
    await startVoiceCall(first);
    first.signals.stop();

    const next = setupCall(storage);
    next.signals.connected();
    next.grant(voice());
    await flush();
    expect(next.devices.getUserMedia).toHaveBeenCalledWith({ audio: true, video: false });
    expect(next.of("call_join")).toHaveLength(1);
    next.grant();
    expect(storage.getItem(CALL_TAB_KEY)).toBeNull();
    next.signals.stop();

    // A later call, accepted in another tab, does not open this tab's microphone.
    const later = setupCall(storage);
    later.grant(voice(bob));
    await flush();
    expect(later.devices.getUserMedia).not.toHaveBeenCalled();
    later.signals.stop();
  });
});

describe("calls: canvases as video", () => {
  let t: CallSetup;
  let captured: { canvas: HTMLCanvasElement; fps: number | undefined; track: FakeTrack }[];
  beforeEach(() => {
    vi.useFakeTimers();
    captured = [];
    document.body.innerHTML = `
      <canvas id="chart" width="300" height="150"></canvas>
      <canvas id="secret" width="300" height="150"></canvas>
      <canvas id="empty" width="0" height="0"></canvas>`;
    // jsdom has no captureStream: the page's canvases get a fake one.
    Object.defineProperty(HTMLCanvasElement.prototype, "captureStream", {
      configurable: true,
      value: function (this: HTMLCanvasElement, fps?: number) {
        const track = new FakeTrack("video", `canvas ${this.id}`);
        captured.push({ canvas: this, fps, track });
        return { getVideoTracks: () => [track] } as unknown as MediaStream;
      },
    });
    t = setupCall();
    t.canvasIds.set(document.getElementById("chart") as HTMLCanvasElement, 42);
    t.canvasIds.set(document.getElementById("empty") as HTMLCanvasElement, 44);
    // "secret" is blocked: the page gives it no id.
    t.signals.connected();
    t.grant();
  });
  afterEach(() => {
    t.signals.stop();
    delete (HTMLCanvasElement.prototype as { captureStream?: unknown }).captureStream;
    vi.useRealTimers();
  });

  it("streams the visible, recorded canvases by their rrweb ids, without a call and without the microphone", async () => {
    t.receive({ type: "canvas", on: true });
    expect(captured.map((c) => [c.canvas.id, c.fps])).toEqual([["chart", 15]]);
    expect(t.of("call_join")).toEqual([{ type: "call_join", audio: false, video: false, canvases: [42] }]);
    expect(t.devices.getUserMedia).not.toHaveBeenCalled();

    t.receive(offer([slot("0", "canvas", true, null, 42)]));
    await flush();
    const sender = FakePeer.last().transceivers[0]!;
    expect(sender.sender.replaceTrack).toHaveBeenCalledWith(captured[0]!.track);
    expect(sender.direction).toBe("sendonly");

    t.receive({ type: "canvas", on: false });
    expect(captured[0]!.track.readyState).toBe("ended");
    expect(FakePeer.last().closed).toBe(true);
    expect(t.of("call_join")).toHaveLength(1); // nothing to tell: there is no call
  });

  it("stops the canvases on a new connection until the server says again that they are wanted", async () => {
    t.receive({ type: "canvas", on: true });
    t.receive(offer([slot("0", "canvas", true, null, 42)]));
    await flush();
    t.signals.connected();
    t.grant();
    expect(captured[0]!.track.readyState).toBe("ended");
    expect(t.of("call_join")).toHaveLength(1);
    t.receive({ type: "canvas", on: true });
    expect(t.of("call_join")).toHaveLength(2);
    expect(captured).toHaveLength(2);
  });

  it("picks up canvases that appear later", () => {
    t.canvasIds.clear(); // rrweb has not recorded the page yet
    t.receive({ type: "canvas", on: true });
    expect(t.of("call_join")).toEqual([]);
    t.canvasIds.set(document.getElementById("chart") as HTMLCanvasElement, 42);
    vi.advanceTimersByTime(CANVAS_RESCAN_MS);
    expect(t.of("call_join")).toEqual([{ type: "call_join", audio: false, video: false, canvases: [42] }]);
    document.getElementById("chart")!.remove();
    vi.advanceTimersByTime(CANVAS_RESCAN_MS);
    expect(captured[0]!.track.readyState).toBe("ended");
  });

  it("adds the canvases to a running call, and takes them out again", async () => {
    await startVoiceCall(t);
    expect(t.of("call_join")).toEqual([{ type: "call_join", audio: true, video: false, canvases: [] }]);
    t.receive({ type: "canvas", on: true });
    expect(t.of("call_join").at(-1)).toEqual({ type: "call_join", audio: true, video: false, canvases: [42] });
    t.receive({ type: "canvas", on: false });
    expect(t.of("call_join").at(-1)).toEqual({ type: "call_join", audio: true, video: false, canvases: [] });
    expect(captured[0]!.track.readyState).toBe("ended");
  });
});

describe("calls: the site's canvas policy", () => {
  let captured: HTMLCanvasElement[];
  beforeEach(() => {
    vi.useFakeTimers();
    captured = [];
    document.body.innerHTML = `<canvas id="chart" width="300" height="150"></canvas>`;
    Object.defineProperty(HTMLCanvasElement.prototype, "captureStream", {
      configurable: true,
      value: function (this: HTMLCanvasElement) {
        captured.push(this);
        return { getVideoTracks: () => [new FakeTrack("video", "canvas")] } as unknown as MediaStream;
      },
    });
  });
  afterEach(() => {
    delete (HTMLCanvasElement.prototype as { captureStream?: unknown }).captureStream;
    vi.useRealTimers();
  });
  const setup = (policy: "ask" | "never", storage = new MemoryStorage()): CallSetup => {
    const t = setupCall(storage, {}, policy);
    t.canvasIds.set(document.getElementById("chart") as HTMLCanvasElement, 42);
    t.signals.connected();
    t.grant();
    return t;
  };
  const canvasPrompt = (): HTMLElement | null => find("consent-prompt", '[data-kind="canvas"]');

  it("asks the user first by default, and streams only once they accept", () => {
    const storage = new MemoryStorage();
    const t = setup("ask", storage);
    t.receive({ type: "canvas", on: true });
    expect(canvasPrompt()!.textContent).toContain("asks to see this page's drawings");
    expect(captured).toEqual([]);
    expect(t.of("call_join")).toEqual([]);
    vi.advanceTimersByTime(ACCEPT_DELAY_MS);
    userClick(canvasPrompt()!.querySelector('[data-cobrowse="consent-accept"]')!);
    expect(canvasPrompt()).toBeNull();
    expect(t.of("call_join")).toEqual([{ type: "call_join", audio: false, video: false, canvases: [42] }]);
    expect(t.of("consent")).toEqual([]); // the page's own question: nothing goes to the server
    t.signals.stop();

    // The tab's next page does not ask again while an agent still wants them.
    const next = setup("ask", storage);
    next.receive({ type: "canvas", on: true });
    expect(canvasPrompt()).toBeNull();
    expect(next.of("call_join")).toHaveLength(1);
    // Once nobody wants them, the next want asks again.
    next.receive({ type: "canvas", on: false });
    next.receive({ type: "canvas", on: true });
    expect(canvasPrompt()).not.toBeNull();
    next.signals.stop();
  });

  it("streams nothing when the user declines, does not answer, or no agent wants them any more", () => {
    const t = setup("ask");
    t.receive({ type: "canvas", on: true });
    userClick(canvasPrompt()!.querySelector('[data-cobrowse="consent-decline"]')!);
    t.receive({ type: "canvas", on: true });
    expect(canvasPrompt()).toBeNull(); // the answer holds for this want
    t.receive({ type: "canvas", on: false });
    t.receive({ type: "canvas", on: true });
    vi.advanceTimersByTime(CONSENT_TIMEOUT_MS);
    expect(canvasPrompt()).toBeNull();
    t.receive({ type: "canvas", on: false });
    t.receive({ type: "canvas", on: true });
    t.receive({ type: "canvas", on: false });
    expect(canvasPrompt()).toBeNull(); // withdrawn with the want
    expect(captured).toEqual([]);
    expect(t.of("call_join")).toEqual([]);
    t.signals.stop();
  });

  it("never streams with canvas: never", () => {
    const t = setup("never");
    t.receive({ type: "canvas", on: true });
    vi.advanceTimersByTime(CANVAS_RESCAN_MS);
    expect(canvasPrompt()).toBeNull();
    expect(captured).toEqual([]);
    expect(t.of("call_join")).toEqual([]);
    t.signals.stop();
  });
});
