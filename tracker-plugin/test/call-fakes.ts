// Fakes of the browser's media and WebRTC for tests of the call: jsdom has neither.
import { vi } from "vitest";

import type { CallEnv } from "../src/call";
import type { Grant, PageSignal, TrackerSignal } from "../src/protocol";
import { PageSignals } from "../src/signals";
import { MemoryStorage } from "../src/storage";
import { TAB } from "./page";
import type { CanvasPolicy } from "../src/canvas-consent";

let nextTrack = 0;

/** A MediaStreamTrack: `stop()` ends it, as a device's light goes off. */
export class FakeTrack {
  readonly id = `track-${++nextTrack}`;
  enabled = true;
  readyState: MediaStreamTrackState = "live";
  constructor(
    readonly kind: "audio" | "video",
    readonly label: string = kind,
  ) {}
  stop(): void {
    this.readyState = "ended";
  }
}

export class FakeStream {
  constructor(readonly tracks: FakeTrack[]) {}
  getTracks(): FakeTrack[] {
    return this.tracks;
  }
  getAudioTracks(): FakeTrack[] {
    return this.tracks.filter((t) => t.kind === "audio");
  }
  getVideoTracks(): FakeTrack[] {
    return this.tracks.filter((t) => t.kind === "video");
  }
}

/** `navigator.mediaDevices`: every device opens at once unless `fail` says otherwise. */
export class FakeDevices {
  /** Every track ever handed out. */
  readonly opened: FakeTrack[] = [];
  /** An error (`DOMException` name) to fail the next request with. */
  fail: string | null = null;
  /** When set, requests wait until `release()`. */
  hold = false;
  private waiting: (() => void)[] = [];
  readonly getUserMedia = vi.fn(async (constraints: MediaStreamConstraints): Promise<MediaStream> => {
    if (this.hold) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.fail !== null) {
      const name = this.fail;
      this.fail = null;
      throw new DOMException("refused", name);
    }
    const tracks: FakeTrack[] = [];
    if (constraints.audio === true) tracks.push(new FakeTrack("audio", "microphone"));
    if (constraints.video === true) tracks.push(new FakeTrack("video", "camera"));
    this.opened.push(...tracks);
    return new FakeStream(tracks) as unknown as MediaStream;
  });
  release(): void {
    this.hold = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
  live(): FakeTrack[] {
    return this.opened.filter((t) => t.readyState === "live");
  }
}

interface FakeSender {
  track: FakeTrack | null;
  replaceTrack: (track: FakeTrack | null) => Promise<void>;
}

export class FakeTransceiver {
  direction: RTCRtpTransceiverDirection = "recvonly";
  currentDirection: RTCRtpTransceiverDirection | null = null;
  readonly sender: FakeSender;
  readonly receiver: { track: FakeTrack };
  constructor(
    readonly mid: string,
    readonly kind: "audio" | "video",
  ) {
    const sender: FakeSender = {
      track: null,
      replaceTrack: vi.fn(async (track: FakeTrack | null) => {
        sender.track = track;
      }),
    };
    this.sender = sender;
    this.receiver = { track: new FakeTrack(kind, `remote ${mid}`) };
  }
}

/** An RTCPeerConnection that keeps what it was told and answers with the directions it was set. */
export class FakePeer {
  static all: FakePeer[] = [];
  /** While set, setRemoteDescription waits for it (an offer that takes its time to apply). */
  static remoteGate: Promise<void> | null = null;
  readonly transceivers: FakeTransceiver[] = [];
  remoteDescription: RTCSessionDescriptionInit | null = null;
  localDescription: RTCSessionDescriptionInit | null = null;
  readonly added: RTCIceCandidateInit[] = [];
  readonly remoteOffers: string[] = [];
  closed = false;
  connectionState: RTCPeerConnectionState = "new";
  onicecandidate: ((event: { candidate: unknown }) => void) | null = null;
  ontrack: ((event: { track: FakeTrack; transceiver: FakeTransceiver; streams: unknown[] }) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;

  constructor(readonly config: RTCConfiguration) {
    FakePeer.all.push(this);
  }

  static last(): FakePeer {
    const peer = FakePeer.all[FakePeer.all.length - 1];
    if (peer === undefined) throw new Error("no peer connection was created");
    return peer;
  }

  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    if (FakePeer.remoteGate !== null) await FakePeer.remoteGate;
    if (this.closed) throw new DOMException("closed", "InvalidStateError");
    let kind: "audio" | "video" = "audio";
    for (const line of (description.sdp ?? "").split("\n")) {
      if (line.startsWith("m=")) kind = line.startsWith("m=video") ? "video" : "audio";
      const mid = /^a=mid:(\S+)/.exec(line)?.[1];
      if (mid !== undefined && !this.transceivers.some((t) => t.mid === mid)) this.transceivers.push(new FakeTransceiver(mid, kind));
    }
    this.remoteOffers.push(description.sdp ?? "");
    this.remoteDescription = description;
  }
  getTransceivers(): FakeTransceiver[] {
    return this.transceivers;
  }
  async createAnswer(): Promise<RTCSessionDescriptionInit> {
    const lines = this.transceivers.map((t) => `m=${t.kind} a=mid:${t.mid} a=${t.direction} track=${t.sender.track?.id ?? "none"}`);
    return { type: "answer", sdp: `answer ${this.remoteOffers.length}\n${lines.join("\n")}` };
  }
  async setLocalDescription(description: RTCSessionDescriptionInit): Promise<void> {
    this.localDescription = description;
  }
  async addIceCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    if (this.remoteDescription === null) throw new DOMException("no remote description", "InvalidStateError");
    this.added.push(candidate);
  }
  close(): void {
    this.closed = true;
    this.connectionState = "closed";
  }

  /** The browser found a local candidate. */
  emitCandidate(init: RTCIceCandidateInit): void {
    this.onicecandidate?.({ candidate: { candidate: init.candidate, toJSON: () => ({ ...init, usernameFragment: "uf" }) } });
  }
  /** A remote track arrived on `mid`. */
  emitTrack(mid: string): FakeTrack {
    const transceiver = this.transceivers.find((t) => t.mid === mid)!;
    this.ontrack?.({ track: transceiver.receiver.track, transceiver, streams: [] });
    return transceiver.receiver.track;
  }
  setState(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.onconnectionstatechange?.();
  }
}

/** An SDP offer with one media section per `[mid, kind]`, signed by `fingerprint`. */
export function offerSdp(sections: [string, "audio" | "video"][], fingerprint = "sha-256 AA:BB"): string {
  const head = `v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\na=fingerprint:${fingerprint}\n`;
  return head + sections.map(([mid, kind]) => `m=${kind} 9 UDP/TLS/RTP/SAVPF 96\nc=IN IP4 0.0.0.0\na=mid:${mid}\n`).join("");
}

/** Lets promise callbacks (the fake devices and peer) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 30; i++) await Promise.resolve();
}

export interface CallSetup {
  sent: TrackerSignal[];
  online: { value: boolean };
  devices: FakeDevices;
  signals: PageSignals;
  storage: MemoryStorage;
  canvasIds: Map<HTMLCanvasElement, number>;
  receive(signal: PageSignal): void;
  grant(...grants: Grant[]): void;
  /** The signals of `type` sent so far. */
  of<T extends TrackerSignal["type"]>(type: T): Extract<TrackerSignal, { type: T }>[];
}

/** PageSignals with fake devices and peer connections, a recording `send`, and the tab's storage. */
export function setupCall(storage = new MemoryStorage(), env: Partial<CallEnv> = {}, canvas: CanvasPolicy = "always"): CallSetup {
  FakePeer.all = [];
  FakePeer.remoteGate = null;
  const sent: TrackerSignal[] = [];
  const online = { value: true };
  const devices = new FakeDevices();
  const canvasIds = new Map<HTMLCanvasElement, number>();
  const signals = new PageSignals({
    tabId: TAB,
    send: (signal) => {
      if (!online.value) return false;
      sent.push(signal);
      return true;
    },
    nodeById: () => null,
    canvasId: (canvas) => canvasIds.get(canvas),
    canvas,
    storage,
    callEnv: {
      mediaDevices: devices,
      createPeer: (config) => new FakePeer(config) as unknown as RTCPeerConnection,
      createStream: (tracks) => new FakeStream(tracks as unknown as FakeTrack[]) as unknown as MediaStream,
      ...env,
    },
  });
  const receive = (signal: PageSignal): void => signals.receive(signal);
  return {
    sent,
    online,
    devices,
    signals,
    storage,
    canvasIds,
    receive,
    grant: (...grants) => receive({ type: "grants", grants }),
    of: <T extends TrackerSignal["type"]>(type: T) =>
      sent.filter((s): s is Extract<TrackerSignal, { type: T }> => s.type === type),
  };
}
