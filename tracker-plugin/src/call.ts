/**
 * The page's side of a call (§10): when to open the microphone and camera, when to join, what
 * to send on which slot, when to stop; and the call window that shows it.
 *
 * - **Nothing opens before a grant.** The microphone (and the camera, when a `call` grant has
 *   `video`) is asked for only while the grants in force hold a `call` grant and this tab takes
 *   part in the call. A declined or unanswered request never reaches `getUserMedia`.
 * - **One tab is in the call.** Grants reach every tab of the session, but the server keeps one
 *   tab in the call: the last to send `call_join`. The tab that takes part is the one where the
 *   user accepted the call; it remembers that in its `sessionStorage` ({@link CALL_TAB_KEY}), so
 *   its next page (a reload, a navigation) joins again and the call goes on. The other tabs
 *   show the call window with "Join here", which moves the call to them. When the server closes
 *   the tab's peer connection (`call_closed`: another tab joined, or it dropped the page) the
 *   tab leaves the call and does not join again by itself.
 * - **Joining**: once the microphone is open, `call_join {audio: true, video, canvases}`; the
 *   server offers, {@link CallPeer} answers. Whatever the tab sends changes (the camera comes or
 *   goes, canvases appear) is announced with another `call_join`, and the server offers again.
 * - **The end**: when the last `call` grant goes (revoked, released, hung up) every local track
 *   stops, so the browser's microphone light goes off, and the peer connection closes (unless
 *   canvases still stream on it). Hang up sends `hangup`, which ends every `call` and `record`
 *   grant for everyone.
 * - **Canvases**: while the server says an agent wants them (`canvas {on: true}`) and the site's
 *   policy lets them stream (canvas-consent.ts: by default once the user accepts), the page's
 *   visible `<canvas>` elements are captured as video, named by their rrweb ids in `call_join`,
 *   and looked for again every {@link CANVAS_RESCAN_MS} (rrweb may not have given a new canvas
 *   an id yet). They stream from the tab in the call or, with no call, from a visible tab.
 */

import { CallPeer } from "./call-peer";
import { type CallAction, type CallParticipantView, CallWindow, type CallView } from "./call-window";
import { fill } from "./labels";
import { log } from "./log";
import { CanvasConsent, type CanvasPolicy } from "./canvas-consent";
import { CanvasCapture, type MediaDevicesLike, MediaError, type UserMedia, openCamera, openUserMedia } from "./media";
import type { PageUi } from "./page-ui";
import type {
  CallCandidateIn,
  CallClosed,
  CallOffer,
  CallSignal,
  CallSlot,
  ConsentRequest,
  Grant,
} from "./protocol";
import { type StorageLike, MemoryStorage, readJson, removeItem, writeJson } from "./storage";

/** Where a tab keeps that it takes part in the call (copied with the tab's `sessionStorage`). */
export const CALL_TAB_KEY = "cobrowse.call-tab";
/** A call the user accepted makes this tab join if its grant arrives within this long. */
export const ACCEPT_WINDOW_MS = 40_000;
/** While canvases are wanted, the page looks for new (or gone) canvases this often. */
export const CANVAS_RESCAN_MS = 2_000;

/** What the call needs from the browser; tests give fakes. */
export interface CallEnv {
  /** `navigator.mediaDevices`; undefined where the page may not use devices (not https). */
  mediaDevices: MediaDevicesLike | undefined;
  createPeer: (config: RTCConfiguration) => RTCPeerConnection;
  createStream: (tracks: MediaStreamTrack[]) => MediaStream;
}

export interface CallOptions {
  ui: PageUi;
  /** This tab's id: offers and candidates for other tabs are ignored. */
  tabId: string;
  send: (signal: CallSignal) => boolean;
  /** Hangs up for everyone (`Consent.hangup`: sends `hangup`, ends the call grants here). */
  hangup: () => void;
  /** The user stopped a grant (`Consent.stop`): Stop recording. */
  stopGrant: (grant: Grant) => void;
  /** The rrweb id of a canvas the page may stream, or undefined (blocked, or not recorded yet). */
  canvasId: (canvas: HTMLCanvasElement) => number | undefined;
  /** The tab's storage (`sessionStorage`). */
  storage?: StorageLike;
  /** The site's `start({ canvas })` (default `"ask"`); see canvas-consent.ts. */
  canvasPolicy?: CanvasPolicy;
  /** Asks the user whether canvases may stream (a prompt of `Consent.ask`), and takes it away. */
  askCanvas?: (answer: (granted: boolean) => void) => void;
  cancelCanvasAsk?: () => void;
  env?: Partial<CallEnv>;
  win?: Window;
  now?: () => number;
}

export class Call {
  private readonly options: CallOptions;
  private readonly env: CallEnv;
  private readonly storage: StorageLike;
  private readonly win: Window;
  private readonly doc: Document;
  private readonly now: () => number;

  /** The `call` and `record` grants in force. */
  private calls: Grant[] = [];
  private records: Grant[] = [];
  /** Whether this tab takes part in the call. */
  private here: boolean;
  /** Agents whose call the user accepted in this tab, and when; their grant makes this tab join. */
  private readonly acceptedAt = new Map<string, number>();
  /** Until the `grants` list that follows a `welcome`, the page does not know what it may send. */
  private awaitingGrants = true;
  /** The server closed the tab's connection: join again only once something changes. */
  private held = false;
  /** Why the server closed the tab's connection, while the call goes on without it. */
  private closedReason: string | null = null;

  private media: UserMedia | null = null;
  /** Bumped whenever the user's media stops, so an answer from the browser that comes late is dropped. */
  private mediaGeneration = 0;
  private requestingMedia = false;
  private mediaFailed = false;
  private requestingCamera = false;
  private cameraFailed = false;
  /** Why the call could not start; shown until the user closes the window. */
  private error: string | null = null;
  /** A problem the call goes on with (no camera); gone when the call ends. */
  private warning: string | null = null;

  private readonly canvasConsent: CanvasConsent;
  private canvases: CanvasCapture | null = null;
  private rescanTimer: ReturnType<typeof setInterval> | undefined;

  private peer: CallPeer | null = null;
  /** What the last `call_join` on the current peer said, to send it only when it changes. */
  private joined: string | null = null;
  private connection: RTCPeerConnectionState = "new";

  private window: CallWindow | null = null;
  private stopped = false;
  private readonly onVisibility = (): void => {
    if (this.doc.visibilityState === "hidden") return;
    this.held = false;
    this.sync();
  };

  constructor(options: CallOptions) {
    this.options = options;
    this.win = options.win ?? window;
    this.doc = options.ui.document;
    this.env = { ...browserEnv(this.win), ...options.env };
    this.storage = options.storage ?? new MemoryStorage();
    this.canvasConsent = new CanvasConsent({
      policy: options.canvasPolicy ?? "ask",
      ask: options.askCanvas ?? ((answer) => answer(false)),
      cancel: options.cancelCanvasAsk ?? (() => {}),
      storage: this.storage,
      onChange: () => this.sync(),
    });
    this.now = options.now ?? Date.now;
    this.here = readJson(this.storage, CALL_TAB_KEY) === true;
    this.doc.addEventListener("visibilitychange", this.onVisibility);
  }

  /** The grants in force changed (the server's list, or the user stopped some). */
  setGrants(grants: Grant[]): void {
    if (this.stopped) return;
    const hadCall = this.calls.length > 0;
    this.calls = grants.filter((g) => g.kind === "call");
    this.records = grants.filter((g) => g.kind === "record");
    this.awaitingGrants = false;
    this.takeAccepted();
    if (this.calls.length === 0) {
      this.setHere(false);
      this.mediaFailed = false;
      this.warning = null;
      if (hadCall) this.held = false;
    }
    this.sync();
  }

  /** The user accepted `request` in this tab. */
  accepted(request: ConsentRequest): void {
    if (this.stopped || request.kind !== "call") return;
    this.acceptedAt.set(request.agent.id, this.now());
    if (this.takeAccepted()) this.sync();
  }

  /** A `welcome`: the server dropped the old connection's peer; join again after the `grants` that follow. */
  connected(): void {
    if (this.stopped) return;
    this.closePeer();
    this.awaitingGrants = true;
    this.held = false;
    // The server says `canvas {on: true}` after `welcome` if an agent still wants them.
    this.canvasConsent.connected();
  }

  offer(offer: CallOffer): void {
    if (this.stopped || offer.tab !== this.options.tabId) return;
    if (this.peer === null) {
      log.debug("call: ignoring an offer: this tab has not joined");
      return;
    }
    void this.peer.offer(offer);
  }

  candidate(message: CallCandidateIn): void {
    if (this.stopped || message.tab !== this.options.tabId) return;
    this.peer?.candidate(message.candidate);
  }

  /** The server closed this tab's peer connection. */
  closed(message: CallClosed): void {
    if (this.stopped || message.tab !== this.options.tabId || this.peer === null) return;
    log.debug(`call: the server closed this tab's connection: ${message.reason}`);
    this.closePeer();
    this.setHere(false);
    this.held = true;
    this.closedReason = message.reason;
    this.sync();
  }

  /** Whether any agent wants the page's canvases. */
  canvas(on: boolean): void {
    if (this.stopped) return;
    this.held = false;
    this.canvasConsent.want(on);
  }

  /**
   * Stops everything without hanging up (the tracker stops, or the page goes away): the grants
   * stay, so the tab's next page joins again.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.doc.removeEventListener("visibilitychange", this.onVisibility);
    this.stopUserMedia();
    this.stopCanvases();
    this.closePeer();
    this.window?.remove();
    this.window = null;
  }

  /** Whether this tab is in a call now. */
  private inCall(): boolean {
    return this.here && this.calls.length > 0;
  }

  /** Brings media, canvases, the server and the window in line with the state. */
  private sync(): void {
    if (this.stopped) return;
    const inCall = this.inCall();
    if (!inCall) {
      this.stopUserMedia();
    } else if (this.media === null) {
      if (!this.requestingMedia && !this.mediaFailed) this.requestMedia();
    } else {
      const wantVideo = this.calls.some((g) => g.video === true);
      if (wantVideo && this.media.camera === null && !this.requestingCamera && !this.cameraFailed) {
        this.requestCamera();
      } else if (!wantVideo) {
        this.cameraFailed = false;
        if (this.media.camera !== null) {
          // The last video call ended: the camera goes off, the voice call goes on.
          this.media.camera.stop();
          this.media.camera = null;
        }
      }
    }

    const visible = this.doc.visibilityState !== "hidden";
    const wantCanvases = this.canvasConsent.streams && !this.held && (inCall || (this.calls.length === 0 && visible));
    if (wantCanvases && this.canvases === null) {
      this.canvases = new CanvasCapture(this.doc, this.options.canvasId);
      this.canvases.scan();
      this.rescanTimer = setInterval(() => {
        if (this.canvases?.scan() === true) this.join();
      }, CANVAS_RESCAN_MS);
    } else if (!wantCanvases) {
      this.stopCanvases();
    }

    this.join();
    this.render();
  }

  /** Sends `call_join` when what the tab sends changed; closes the peer when it sends nothing. */
  private join(): void {
    if (this.awaitingGrants || this.held) return;
    const audio = this.inCall() && this.media !== null;
    const video = audio && this.media?.camera != null;
    const canvases = this.canvases?.ids() ?? [];
    if (!audio && canvases.length === 0) {
      this.closePeer();
      return;
    }
    const key = `${audio} ${video} ${canvases.join(",")}`;
    if (this.peer !== null && this.joined === key) return;
    this.peer ??= this.newPeer();
    this.joined = this.options.send({ type: "call_join", audio, video, canvases }) ? key : null;
  }

  private newPeer(): CallPeer {
    return new CallPeer({
      createPeer: this.env.createPeer,
      localTrack: (slot) => this.localTrack(slot),
      send: this.options.send,
      onMedia: () => this.render(),
      onState: (state) => {
        this.connection = state;
        this.render();
      },
    });
  }

  private localTrack(slot: CallSlot): MediaStreamTrack | null {
    switch (slot.media) {
      case "audio":
        return this.inCall() ? (this.media?.mic ?? null) : null;
      case "video":
        return this.inCall() ? (this.media?.camera ?? null) : null;
      case "canvas":
        return slot.canvas === null ? null : (this.canvases?.track(slot.canvas) ?? null);
    }
  }

  private closePeer(): void {
    this.peer?.close();
    this.peer = null;
    this.joined = null;
    this.connection = "new";
  }

  /** A call grant of an agent the user just accepted here: this tab takes the call. */
  private takeAccepted(): boolean {
    let took = false;
    const now = this.now();
    for (const [agentId, at] of this.acceptedAt) {
      if (now - at > ACCEPT_WINDOW_MS) {
        this.acceptedAt.delete(agentId);
      } else if (this.calls.some((g) => g.agent.id === agentId)) {
        this.acceptedAt.delete(agentId);
        took = true;
      }
    }
    if (took) {
      this.setHere(true);
      this.held = false;
      this.error = null;
    }
    return took;
  }

  private setHere(here: boolean): void {
    if (here || this.calls.length === 0) this.closedReason = null;
    if (this.here === here) return;
    this.here = here;
    if (here) writeJson(this.storage, CALL_TAB_KEY, true);
    else removeItem(this.storage, CALL_TAB_KEY);
  }

  private requestMedia(): void {
    const generation = this.mediaGeneration;
    const video = this.calls.some((g) => g.video === true);
    this.requestingMedia = true;
    openUserMedia(this.env.mediaDevices, video, this.options.ui.labels).then(
      (media) => {
        if (generation !== this.mediaGeneration || this.stopped || !this.inCall()) {
          media.mic.stop();
          media.camera?.stop();
          return;
        }
        this.requestingMedia = false;
        this.media = { mic: media.mic, camera: media.camera };
        if (media.cameraError !== undefined) {
          this.cameraFailed = true;
          this.warning = media.cameraError;
        }
        this.sync();
      },
      (error: unknown) => {
        if (generation !== this.mediaGeneration || this.stopped) return;
        this.requestingMedia = false;
        this.mediaFailed = true;
        const labels = this.options.ui.labels;
        this.error =
          error instanceof MediaError ? error.message : fill(labels.deviceFailed, { device: labels.microphone });
        log.warn(`call: could not open the microphone (${error instanceof Error ? error.message : String(error)}); hanging up`);
        // Everyone waits for a user who cannot be heard: end the call, and say why here.
        this.options.hangup();
        this.sync();
      },
    );
  }

  private requestCamera(): void {
    const generation = this.mediaGeneration;
    this.requestingCamera = true;
    openCamera(this.env.mediaDevices, this.options.ui.labels).then(
      (camera) => {
        if (generation !== this.mediaGeneration || this.stopped) {
          camera.stop();
          return;
        }
        this.requestingCamera = false;
        if (this.media === null || !this.calls.some((g) => g.video === true)) {
          camera.stop();
        } else {
          this.media.camera = camera;
        }
        this.sync();
      },
      (error: unknown) => {
        if (generation !== this.mediaGeneration || this.stopped) return;
        this.requestingCamera = false;
        this.cameraFailed = true;
        const labels = this.options.ui.labels;
        this.warning = error instanceof MediaError ? error.message : fill(labels.deviceFailed, { device: labels.camera });
        this.sync();
      },
    );
  }

  /** Stops the microphone and camera; a request still open is dropped when it answers. */
  private stopUserMedia(): void {
    this.mediaGeneration++;
    this.requestingMedia = false;
    this.requestingCamera = false;
    if (this.media === null) return;
    this.media.mic.stop();
    this.media.camera?.stop();
    this.media = null;
  }

  private stopCanvases(): void {
    clearInterval(this.rescanTimer);
    this.rescanTimer = undefined;
    this.canvases?.stop();
    this.canvases = null;
  }

  private act(action: CallAction): void {
    const media = this.media;
    switch (action) {
      case "mute":
        if (media !== null) media.mic.enabled = !media.mic.enabled;
        break;
      case "camera":
        if (media?.camera != null) media.camera.enabled = !media.camera.enabled;
        break;
      case "hangup":
        // Ends the call grants here at once; setGrants stops the media and the connection.
        this.options.hangup();
        break;
      case "stop-recording":
        for (const grant of this.records) this.options.stopGrant(grant);
        break;
      case "join":
        this.setHere(true);
        this.held = false;
        this.error = null;
        this.sync();
        break;
      case "close":
        this.error = null;
        break;
    }
    this.render();
  }

  private render(): void {
    if (this.stopped) return;
    if (this.calls.length === 0 && this.error === null) {
      this.window?.remove();
      this.window = null;
      return;
    }
    this.window ??= new CallWindow(this.options.ui, this.env.createStream, (action) => this.act(action));
    this.window.update(this.view());
  }

  private view(): CallView {
    const inCall = this.inCall();
    const media = this.media;
    return {
      mode: this.calls.length === 0 ? "ended" : inCall ? "here" : "elsewhere",
      status: this.statusText(inCall),
      error: this.error ?? this.warning,
      participants: this.participants(),
      camera: inCall ? (media?.camera ?? null) : null,
      hasMic: inCall && media !== null,
      muted: media !== null && !media.mic.enabled,
      cameraOff: media?.camera != null && !media.camera.enabled,
      recording: this.records.map((g) => g.agent.name),
    };
  }

  private statusText(inCall: boolean): string {
    const labels = this.options.ui.labels;
    if (this.calls.length === 0) return "";
    if (!inCall) {
      // The server's reason for `replaced`; any other means the connection was lost or refused.
      if (this.closedReason === "replaced") return labels.callMoved;
      if (this.closedReason !== null) return labels.callDisconnected;
      return labels.callNotHere;
    }
    if (this.media === null) return this.requestingMedia ? labels.waitingForMicrophone : "";
    switch (this.connection) {
      case "connected":
        return "";
      case "disconnected":
        return labels.reconnecting;
      case "failed":
        return labels.callFailed;
      default:
        return labels.connecting;
    }
  }

  /** The agents in the call (by their `call` grants), with the media the page receives from each. */
  private participants(): CallParticipantView[] {
    const out = new Map<string, CallParticipantView>();
    for (const grant of this.calls) {
      if (!out.has(grant.agent.id)) out.set(grant.agent.id, { ...grant.agent, audio: null, video: null });
    }
    for (const { slot, track } of this.peer?.remoteMedia() ?? []) {
      const p = slot.from === null ? undefined : out.get(slot.from.id);
      if (p === undefined) continue;
      if (slot.media === "audio") p.audio = track;
      else if (slot.media === "video") p.video = track;
    }
    return [...out.values()];
  }
}

function browserEnv(win: Window): CallEnv {
  // Undefined outside secure contexts, whatever the type says.
  const devices = win.navigator.mediaDevices as MediaDevices | undefined;
  return {
    mediaDevices: devices,
    createPeer: (config) => new RTCPeerConnection(config),
    createStream: (tracks) => new MediaStream(tracks),
  };
}
