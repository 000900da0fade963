// This agent's part in a session's call (docs/protocol.md §10): the microphone and camera, the
// one peer connection to the server, and what flows on it. The server always offers; the agent
// only answers, so there is no glare to handle:
//
//   this agent's `call` grant is recorded → getUserMedia → `call_join {audio, video}`
//   `call_offer` → (one RTCPeerConnection, created on the first) setRemoteDescription →
//   own tracks onto the slots with `send: true`, by mid → createAnswer → `call_answer`
//   `call_candidate` both ways (the server's are held until its offer is set)
//   `call_closed`, the grant ending, or hanging up → tracks stopped, connection closed
//
// Canvases ride on the same connection: `canvas {on}`, and a receive-only `call_join` when no
// join was sent yet. Whether this agent holds a grant is not decided here: the session view
// passes what the `agent` records say (consent.ts). The browser's media and WebRTC come in
// through `CallEnv`, so the whole flow runs in unit tests against fakes.

import type { AgentRef, AgentRequest, CallMessage, CallSlot, IceCandidate, IceServer, Participant } from "./protocol";

/** Told to the agent when something it clicked could not be sent. */
export const NOT_CONNECTED = "Not connected to the session right now; try again in a moment.";

/** What the call needs of the browser and of the live socket. */
export interface CallEnv {
  /** Sends on the agent WebSocket; false when it is not open (nothing is queued). */
  send(request: AgentRequest): boolean;
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  createPeerConnection(config: RTCConfiguration): RTCPeerConnection;
  /** Something the view shows changed. */
  onChange(): void;
}

/**
 * - `idle`: no connection and nothing under way;
 * - `media`: asking the browser for the microphone (and camera);
 * - `joining`: `call_join` sent, waiting for the server's offer;
 * - `connecting`: answered, ICE/DTLS under way;
 * - `connected`: media flows;
 * - `failed`: the connection failed or an offer could not be applied (`problem` says why);
 * - `closed`: the server closed the connection (`closedReason`).
 */
export type CallPhase = "idle" | "media" | "joining" | "connecting" | "connected" | "failed" | "closed";

/** One participant as the call panel shows it: a video, or an avatar with the name. */
export interface CallTile {
  participant: Participant;
  /** This agent's own tile (its camera preview; its audio is never played back). */
  self: boolean;
  audio: MediaStreamTrack | null;
  video: MediaStreamTrack | null;
}

/** One of the page's `<canvas>` elements, streamed as video. */
export interface CanvasFeed {
  /** The rrweb node id of the `<canvas>` on the user's page. */
  canvas: number;
  mid: string;
  track: MediaStreamTrack;
}

/**
 * The tiles of a call: this agent first (if it sends anything), then one per participant whose
 * audio or camera a receiving slot carries, in slot order. Slots whose sender left (`from: null`)
 * and canvases are not participants. `trackOf(mid)` is the receiving track of a media section.
 */
export function callTiles(
  slots: readonly CallSlot[],
  trackOf: (mid: string) => MediaStreamTrack | null,
  self: CallTile | null,
): CallTile[] {
  const tiles: CallTile[] = self ? [self] : [];
  const byId = new Map<string, CallTile>();
  for (const slot of slots) {
    if (slot.send || slot.from === null || slot.media === "canvas") continue;
    const track = trackOf(slot.mid);
    if (track === null) continue;
    let tile = byId.get(slot.from.id);
    if (!tile) {
      tile = { participant: slot.from, self: false, audio: null, video: null };
      byId.set(slot.from.id, tile);
      tiles.push(tile);
    }
    tile[slot.media] = track;
  }
  return tiles;
}

/** The canvases a call's slots carry, each with its receiving track. */
export function canvasFeeds(slots: readonly CallSlot[], trackOf: (mid: string) => MediaStreamTrack | null): CanvasFeed[] {
  const feeds: CanvasFeed[] = [];
  for (const slot of slots) {
    if (slot.send || slot.media !== "canvas" || slot.canvas === null || slot.from === null) continue;
    const track = trackOf(slot.mid);
    if (track !== null) feeds.push({ canvas: slot.canvas, mid: slot.mid, track });
  }
  return feeds;
}

/** `RTCConfiguration.iceServers` from a `call_offer`'s `ice_servers`. */
export function rtcIceServers(servers: readonly IceServer[]): RTCIceServer[] {
  return servers.map((s) => {
    const out: RTCIceServer = { urls: [...s.urls] };
    if (s.username !== undefined) out.username = s.username;
    if (s.credential !== undefined) out.credential = s.credential;
    return out;
  });
}

export class AgentCall {
  phase: CallPhase = "idle";
  /** Why the server closed the connection (for `closed`). */
  closedReason: string | null = null;
  /** What went wrong with the devices or the connection, for the agent to read ("" for nothing). */
  problem = "";
  /** Whether the page's canvases are asked for. */
  canvasesOn = false;
  muted = false;
  cameraOff = false;
  private peer: RTCPeerConnection | null = null;
  private local: MediaStream | null = null;
  /** The slots of the last offer applied. */
  private slots: CallSlot[] = [];
  private remoteSet = false;
  /** The server's candidates that came before its offer was set. */
  private pendingCandidates: IceCandidate[] = [];
  /** Offers are applied one after the other. */
  private offers: Promise<void> = Promise.resolve();
  /** The `call` grant as last seen in the records. */
  private granted = false;
  /** Joined (or joining) under the grant, not only for canvases. */
  private inCall = false;
  /** Some `call_join` was sent for the current connection. */
  private joinSent = false;
  /** Hung up: a grant still on record until the `released` record arrives is not a new call. */
  private hungUp = false;
  /** Bumped whenever everything stops, so a getUserMedia answer that comes later is dropped. */
  private generation = 0;
  private self: AgentRef | null = null;
  /** Whether the grant is for a video call. */
  private video = false;

  constructor(private readonly env: CallEnv) {}

  /** The live peer connection (end-to-end tests read its `getStats()`); null when there is none. */
  get pc(): RTCPeerConnection | null {
    return this.peer;
  }

  /** This agent's microphone/camera stream while in the call. */
  get localStream(): MediaStream | null {
    return this.local;
  }

  /** Whether this agent takes part in the call (joined under its grant, or about to). */
  get joined(): boolean {
    return this.inCall;
  }

  /** Asks the user for a call; `video` for a video call. */
  request(video: boolean): boolean {
    this.hungUp = false;
    this.problem = "";
    return this.sendForAgent({ type: "request", kind: "call", video });
  }

  /**
   * What the records say about this agent's `call` grant, and whether the request was for
   * video; `self` is this connection's agent (for its own tile). Called on every change; only
   * the transitions do something.
   */
  setGrant(granted: boolean, video: boolean, self: AgentRef | null): void {
    this.self = self;
    this.video = video;
    if (!granted) {
      if (this.granted) {
        this.granted = false;
        if (this.inCall) this.stop({ notify: true });
      }
      return;
    }
    if (this.granted || this.hungUp) return;
    this.granted = true;
    void this.joinWithMedia(video);
  }

  /** Joins again after the server closed the connection (or it failed) while the grant holds. */
  rejoin(): void {
    if (!this.granted) return;
    if (this.inCall) this.stop({ notify: true });
    void this.joinWithMedia(this.video);
  }

  /** Asks the user to let the server record the call (protocol.md §10). */
  requestRecording(): boolean {
    return this.sendForAgent({ type: "request", kind: "record" });
  }

  /** Stops the recording this agent holds, or withdraws the request. */
  stopRecording(): boolean {
    return this.sendForAgent({ type: "release", kind: "record" });
  }

  /**
   * Leaves the call, or withdraws the request: gives the grant back and, if this agent was in the
   * call, stops everything. A grant still on record until the `released` record arrives (or one
   * the user gave just as the request was withdrawn) does not start the call again; the next
   * `request` does.
   */
  hangUp(): void {
    this.sendForAgent({ type: "release", kind: "call" });
    this.hungUp = true;
    this.granted = false;
    if (this.inCall) this.stop({ notify: true });
    else this.env.onChange();
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    for (const t of this.local?.getAudioTracks() ?? []) t.enabled = !muted;
    this.env.onChange();
  }

  setCameraOff(off: boolean): void {
    this.cameraOff = off;
    for (const t of this.local?.getVideoTracks() ?? []) t.enabled = !off;
    this.env.onChange();
  }

  /**
   * Starts or stops receiving the page's canvases. Without a connection set up or on its way, a
   * receive-only `call_join` follows, so the server has something to offer the canvases on.
   */
  setCanvases(on: boolean): void {
    if (on === this.canvasesOn) return;
    if (!this.sendForAgent({ type: "canvas", on })) return;
    this.canvasesOn = on;
    if (on && !this.joinSent && this.phase !== "media") this.sendJoin(false, false);
    this.env.onChange();
  }

  /** A call message from the server. */
  handle(message: CallMessage): void {
    switch (message.type) {
      case "call_offer": {
        const generation = this.generation;
        this.offers = this.offers
          .then(() => (generation === this.generation ? this.applyOffer(message) : undefined))
          .catch((e: unknown) => {
            if (generation !== this.generation) return;
            this.problem = `Could not set up the call: ${(e as Error).message}`;
            this.phase = "failed";
            this.env.onChange();
          });
        break;
      }
      case "call_candidate":
        if (this.peer !== null && this.remoteSet) this.addCandidate(this.peer, message.candidate);
        else this.pendingCandidates.push(message.candidate);
        break;
      case "call_closed":
        // After hanging up, the server closing the connection too is no news.
        if (this.peer === null && !this.joinSent && !this.inCall) break;
        this.stop({ notify: true, closedBy: message.reason || "closed by the server" });
        break;
    }
  }

  /** The tiles to show: this agent, then each other participant. */
  tiles(): CallTile[] {
    const self: CallTile | null =
      this.inCall && this.self !== null
        ? {
            participant: { id: this.self.id, name: this.self.name },
            self: true,
            audio: this.local?.getAudioTracks()[0] ?? null,
            video: this.local?.getVideoTracks()[0] ?? null,
          }
        : null;
    return callTiles(this.slots, (mid) => this.receivingTrack(mid), self);
  }

  /** The page's canvases arriving as video. */
  canvases(): CanvasFeed[] {
    return canvasFeeds(this.slots, (mid) => this.receivingTrack(mid));
  }

  /** Whether this agent sends a microphone / camera track. */
  get hasAudio(): boolean {
    return (this.local?.getAudioTracks().length ?? 0) > 0;
  }

  get hasVideo(): boolean {
    return (this.local?.getVideoTracks().length ?? 0) > 0;
  }

  /** Stops everything without telling the server (the view is going away, the socket with it). */
  close(): void {
    this.stop({ notify: false });
  }

  /** Sends what the agent clicked for; says so when the socket is not open. */
  private sendForAgent(request: AgentRequest): boolean {
    const ok = this.env.send(request);
    if (!ok) {
      this.problem = NOT_CONNECTED;
      this.env.onChange();
    }
    return ok;
  }

  private async joinWithMedia(video: boolean): Promise<void> {
    const generation = ++this.generation;
    this.inCall = true;
    this.phase = "media";
    this.closedReason = null;
    this.problem = "";
    this.env.onChange();
    let stream: MediaStream | null = null;
    try {
      stream = await this.env.getUserMedia({ audio: true, video });
    } catch (e) {
      this.problem = `${video ? "Camera or microphone" : "Microphone"} unavailable (${(e as Error).message})`;
      if (video) {
        try {
          stream = await this.env.getUserMedia({ audio: true, video: false });
          this.problem = `Camera unavailable (${(e as Error).message}); joined with the microphone only`;
        } catch {
          // Neither: join to listen and watch.
        }
      }
      if (stream === null) this.problem += "; joined to listen only";
    }
    if (generation !== this.generation) {
      // Hung up, revoked or closed while the browser was asking.
      for (const t of stream?.getTracks() ?? []) t.stop();
      return;
    }
    this.local = stream;
    for (const t of stream?.getAudioTracks() ?? []) t.enabled = !this.muted;
    for (const t of stream?.getVideoTracks() ?? []) t.enabled = !this.cameraOff;
    this.sendJoin(this.hasAudio, this.hasVideo);
    this.env.onChange();
  }

  private sendJoin(audio: boolean, video: boolean): void {
    if (!this.env.send({ type: "call_join", audio, video })) {
      this.problem = "Not connected to the session; the call could not start";
      this.phase = "failed";
      return;
    }
    this.joinSent = true;
    // A connection that already exists (canvases) is offered again on the same connection.
    this.phase = "joining";
  }

  private createPeer(servers: readonly IceServer[]): RTCPeerConnection {
    const pc = this.env.createPeerConnection({ iceServers: rtcIceServers(servers) });
    pc.onicecandidate = (e) => {
      const c = e.candidate;
      if (this.peer !== pc || c === null || c.candidate === "") return;
      this.env.send({ type: "call_candidate", candidate: { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } });
    };
    pc.ontrack = () => {
      if (this.peer === pc) this.env.onChange();
    };
    pc.onconnectionstatechange = () => {
      if (this.peer !== pc) return;
      if (pc.connectionState === "connected") this.phase = "connected";
      else if (pc.connectionState === "failed") {
        this.phase = "failed";
        this.problem = "The call's connection failed";
      }
      this.env.onChange();
    };
    return pc;
  }

  private async applyOffer(offer: Extract<CallMessage, { type: "call_offer" }>): Promise<void> {
    if (this.peer === null) this.peer = this.createPeer(offer.ice_servers);
    const pc = this.peer;
    await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    if (this.peer !== pc) return;
    this.slots = offer.slots;
    if (!this.remoteSet) {
      this.remoteSet = true;
      const held = this.pendingCandidates;
      this.pendingCandidates = [];
      for (const c of held) this.addCandidate(pc, c);
    }
    for (const slot of offer.slots) await this.attach(pc, slot);
    if (this.peer !== pc) return;
    const answer = await pc.createAnswer();
    if (this.peer !== pc) return;
    await pc.setLocalDescription(answer);
    if (this.peer !== pc) return;
    this.env.send({ type: "call_answer", sdp: pc.localDescription?.sdp ?? answer.sdp ?? "" });
    if (pc.connectionState === "connected") this.phase = "connected";
    else if (this.phase !== "failed") this.phase = "connecting";
    this.env.onChange();
  }

  /** Puts this agent's own track on a slot it sends on (by mid); a receiving slot stays receiving. */
  private async attach(pc: RTCPeerConnection, slot: CallSlot): Promise<void> {
    const transceiver = pc.getTransceivers().find((t) => t.mid === slot.mid);
    if (!transceiver) return;
    if (!slot.send) {
      // A section this agent sent on before may be reused for someone else's media.
      if (transceiver.direction === "sendonly" || transceiver.direction === "sendrecv") {
        await transceiver.sender.replaceTrack(null);
        transceiver.direction = "recvonly";
      }
      return;
    }
    const track =
      slot.media === "audio"
        ? (this.local?.getAudioTracks()[0] ?? null)
        : slot.media === "video"
          ? (this.local?.getVideoTracks()[0] ?? null)
          : null;
    await transceiver.sender.replaceTrack(track);
    transceiver.direction = track !== null ? "sendonly" : "inactive";
  }

  private addCandidate(pc: RTCPeerConnection, candidate: IceCandidate): void {
    pc.addIceCandidate(candidate).catch((e: unknown) => {
      console.warn("cobrowse: an ICE candidate was refused:", (e as Error).message);
    });
  }

  private receivingTrack(mid: string): MediaStreamTrack | null {
    const t = this.peer?.getTransceivers().find((x) => x.mid === mid);
    return t?.receiver.track ?? null;
  }

  /**
   * Stops the tracks and closes the connection. `notify`: tell the server the canvases are no
   * longer wanted (they went with the connection). `closedBy`: the server closed it, and why.
   */
  private stop({ notify, closedBy }: { notify: boolean; closedBy?: string }): void {
    this.generation++;
    for (const t of this.local?.getTracks() ?? []) t.stop();
    this.local = null;
    const pc = this.peer;
    this.peer = null;
    if (pc !== null) {
      pc.onicecandidate = null;
      pc.ontrack = null;
      pc.onconnectionstatechange = null;
      pc.close();
    }
    this.slots = [];
    this.remoteSet = false;
    this.pendingCandidates = [];
    this.inCall = false;
    this.joinSent = false;
    this.muted = false;
    this.cameraOff = false;
    if (this.canvasesOn) {
      this.canvasesOn = false;
      if (notify) this.env.send({ type: "canvas", on: false });
    }
    this.phase = closedBy !== undefined ? "closed" : "idle";
    this.closedReason = closedBy ?? null;
    if (notify) this.env.onChange();
  }
}

/** What end-to-end tests reach as `window.__cobrowseCall` while a session view is open. */
export interface CallHook {
  /** The live RTCPeerConnection (for `getStats()`), or null when there is none. */
  readonly pc: RTCPeerConnection | null;
  readonly call: AgentCall;
}

declare global {
  interface Window {
    __cobrowseCall?: CallHook;
  }
}

/** Exposes `call` as `window.__cobrowseCall`; the returned function takes it away again. */
export function publishCall(call: AgentCall): () => void {
  const hook: CallHook = {
    get pc() {
      return call.pc;
    },
    call,
  };
  window.__cobrowseCall = hook;
  return () => {
    if (window.__cobrowseCall === hook) delete window.__cobrowseCall;
  };
}
