// A small stand-in for the browser's media and WebRTC, enough for call.ts: tracks that can be
// stopped, streams of them, and a peer connection that makes one transceiver per media section of
// the offer it is given (by `a=mid:`), lets tracks be attached to them, and answers with what
// each transceiver sends. Not a WebRTC implementation: it checks the order of calls a real one
// would refuse (candidates before the remote description, an answer without an offer).

import type { AgentRequest } from "../src/protocol";
import type { CallEnv } from "../src/call";

let nextTrack = 0;

export class FakeTrack {
  readonly id = `track-${++nextTrack}`;
  enabled = true;
  stopped = false;
  constructor(readonly kind: "audio" | "video") {}
  stop(): void {
    this.stopped = true;
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

export class FakeTransceiver {
  direction: RTCRtpTransceiverDirection = "recvonly";
  readonly sender = {
    track: null as FakeTrack | null,
    replaceTrack: async (track: FakeTrack | null) => {
      this.sender.track = track;
    },
  };
  readonly receiver: { track: FakeTrack };
  constructor(
    readonly mid: string,
    kind: "audio" | "video",
  ) {
    this.receiver = { track: new FakeTrack(kind) };
  }
}

/** An SDP of the sections `[mid, kind, direction]`, as a server's offer would list them. */
export function offerSdp(sections: Array<[string, "audio" | "video", string]>): string {
  return ["v=0", ...sections.flatMap(([mid, kind, dir]) => [`m=${kind} 9 UDP/TLS/RTP/SAVPF 96`, `a=mid:${mid}`, `a=${dir}`])].join("\r\n");
}

export class FakePeerConnection {
  static created: FakePeerConnection[] = [];
  onicecandidate: ((e: { candidate: Partial<RTCIceCandidate> | null }) => void) | null = null;
  ontrack: ((e: unknown) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  connectionState: RTCPeerConnectionState = "new";
  remoteDescription: RTCSessionDescriptionInit | null = null;
  localDescription: RTCSessionDescriptionInit | null = null;
  readonly transceivers: FakeTransceiver[] = [];
  readonly candidates: RTCIceCandidateInit[] = [];
  closed = false;
  /** While set, setRemoteDescription waits for it (a browser still busy with the offer). */
  remoteGate: Promise<void> | null = null;

  constructor(readonly config: RTCConfiguration) {
    FakePeerConnection.created.push(this);
  }

  async setRemoteDescription(d: RTCSessionDescriptionInit): Promise<void> {
    if (this.closed) throw new Error("closed");
    if (this.remoteGate) await this.remoteGate;
    this.remoteDescription = d;
    let kind: "audio" | "video" = "audio";
    for (const line of (d.sdp ?? "").split(/\r?\n/)) {
      const m = /^m=(audio|video) /.exec(line);
      if (m) kind = m[1] as "audio" | "video";
      const mid = /^a=mid:(.+)$/.exec(line)?.[1];
      if (mid !== undefined && !this.transceivers.some((t) => t.mid === mid)) this.transceivers.push(new FakeTransceiver(mid, kind));
    }
  }

  async createAnswer(): Promise<RTCSessionDescriptionInit> {
    if (this.remoteDescription === null) throw new Error("no offer to answer");
    const lines = ["v=0"];
    for (const t of this.transceivers) {
      lines.push(`a=mid:${t.mid}`, `a=${t.direction}`);
      if (t.sender.track) lines.push(`a=msid:- ${t.sender.track.id}`);
    }
    return { type: "answer", sdp: lines.join("\r\n") };
  }

  async setLocalDescription(d: RTCSessionDescriptionInit): Promise<void> {
    this.localDescription = d;
  }

  async addIceCandidate(c: RTCIceCandidateInit): Promise<void> {
    if (this.remoteDescription === null) throw new Error("InvalidStateError: no remote description");
    this.candidates.push(c);
  }

  getTransceivers(): FakeTransceiver[] {
    return this.transceivers;
  }

  close(): void {
    this.closed = true;
    this.connectionState = "closed";
  }

  /** The browser found a local candidate. */
  gather(candidate: string, sdpMid = "0", sdpMLineIndex = 0): void {
    this.onicecandidate?.({ candidate: { candidate, sdpMid, sdpMLineIndex } });
  }

  setState(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.onconnectionstatechange?.();
  }
}

/** A `CallEnv` of fakes that records what the call sent and asked for. */
export function fakeEnv(opts: { media?: (c: MediaStreamConstraints) => Promise<FakeStream>; remoteGate?: Promise<void> } = {}) {
  const sent: AgentRequest[] = [];
  const mediaAsks: MediaStreamConstraints[] = [];
  const streams: FakeStream[] = [];
  const pcs: FakePeerConnection[] = [];
  let changes = 0;
  let open = true;
  const env: CallEnv = {
    send: (r) => {
      if (!open) return false;
      sent.push(r);
      return true;
    },
    getUserMedia: async (c) => {
      mediaAsks.push(c);
      const stream = opts.media
        ? await opts.media(c)
        : new FakeStream([...(c.audio ? [new FakeTrack("audio")] : []), ...(c.video ? [new FakeTrack("video")] : [])]);
      streams.push(stream);
      return stream as unknown as MediaStream;
    },
    createPeerConnection: (config) => {
      const pc = new FakePeerConnection(config);
      pc.remoteGate = opts.remoteGate ?? null;
      pcs.push(pc);
      return pc as unknown as RTCPeerConnection;
    },
    onChange: () => {
      changes++;
    },
  };
  return {
    env,
    sent,
    mediaAsks,
    streams,
    pcs,
    get changes() {
      return changes;
    },
    setOpen(v: boolean) {
      open = v;
    },
    /** The messages sent of one type. */
    ofType<T extends AgentRequest["type"]>(type: T): Array<Extract<AgentRequest, { type: T }>> {
      return sent.filter((r): r is Extract<AgentRequest, { type: T }> => r.type === type);
    },
  };
}

/** Lets every pending promise callback run (getUserMedia, the offer chain). */
export async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
}
