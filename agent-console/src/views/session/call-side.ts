// The call side of a session view: the agent's call with the user (call.ts) and its panel beside
// the stage, the page's canvases shown as video over the live player, and the session's
// recordings, listed again whenever a recording starts or stops.

import { recordingFilePath, type Api, type RecordingInfo, type SessionSummary } from "../../api";
import { AgentCall, publishCall } from "../../call";
import { callPanelModel } from "../../call-state";
import { CanvasLayer } from "../../canvas-layer";
import type { KindState } from "../../consent";
import type { LiveSession } from "../../live-session";
import type { CallMessage } from "../../protocol";
import { CallPanel } from "../call-panel";

/** After a recording starts or stops, when to list the recordings again (its files complete). */
const RECORDING_SETTLE_MS = 3000;
const NO_GRANT: KindState = { status: "none", reason: null, holder: null };

export class CallSide {
  readonly panel: CallPanel;
  /** The canvases as video, stacked over the live player. */
  readonly canvasLayer = new CanvasLayer();
  /** Null for a recorded session: there is nobody to call. */
  private readonly call: AgentCall | null;
  private readonly unpublish: () => void;
  private recordings: RecordingInfo[];
  /** Bumped on every refresh, so an older answer that arrives late is dropped. */
  private recordingsToken = 0;
  private recordingTimer: ReturnType<typeof setTimeout> | null = null;
  private renderQueued = false;
  private destroyed = false;

  /** `live` is the session's connection (null for a recorded session); `render` redraws the view. */
  constructor(
    private readonly api: Api,
    private readonly summary: SessionSummary,
    private readonly live: () => LiveSession | null,
    private readonly render: () => void,
  ) {
    this.recordings = summary.recordings ?? [];
    this.call = summary.live
      ? new AgentCall({
          // Quiet: the call says itself when something the agent clicked could not be sent.
          send: (request) => this.live()?.send(request) ?? false,
          getUserMedia: (constraints) => {
            const devices = navigator.mediaDevices as MediaDevices | undefined;
            if (!devices) return Promise.reject(new Error("the browser offers no devices here (needs https or localhost)"));
            return devices.getUserMedia(constraints);
          },
          createPeerConnection: (config) => new RTCPeerConnection(config),
          // The call changes state from inside `update`: render once after whatever runs now.
          onChange: () => this.renderSoon(),
        })
      : null;
    this.unpublish = this.call ? publishCall(this.call) : () => {};
    this.panel = new CallPanel(this.call, {
      file: (recording, file) => api.recordingFile(summary.id, recording, file),
      filePath: (recording, file) => recordingFilePath(summary.id, recording, file),
      refreshRecordings: () => this.refreshRecordings(),
    });
  }

  /** The server's call signalling for this agent. */
  handle(message: CallMessage): void {
    this.call?.handle(message);
  }

  /** A recording started or stopped: list it now, and again once its files are complete. */
  recordingChanged(): void {
    this.refreshRecordings();
    if (this.recordingTimer !== null) clearTimeout(this.recordingTimer);
    this.recordingTimer = setTimeout(() => this.refreshRecordings(), RECORDING_SETTLE_MS);
  }

  /** `liveMode`: the view shows the live page, so canvases go over it. */
  update(liveMode: boolean): void {
    const live = this.live();
    const call = this.call;
    const self = live?.self ?? null;
    const id = self?.id ?? null;
    const consent = live?.consent;
    const callState = consent?.of(id, "call") ?? NO_GRANT;
    call?.setGrant(callState.status === "granted", id !== null && (consent?.wantsVideo(id) ?? false), self);
    const model = callPanelModel({
      connected: live?.status === "live" && id !== null,
      call: callState,
      record: consent?.of(id, "record") ?? NO_GRANT,
      callHolders: consent?.holders("call") ?? [],
      recordHolders: consent?.holders("record") ?? [],
      selfId: id,
      phase: call?.phase ?? "idle",
      closedReason: call?.closedReason ?? null,
      problem: call?.problem ?? "",
      hasAudio: call?.hasAudio ?? false,
      hasVideo: call?.hasVideo ?? false,
    });
    this.panel.update({
      model,
      tiles: call?.tiles() ?? [],
      muted: call?.muted ?? false,
      cameraOff: call?.cameraOff ?? false,
      canvasesOn: call?.canvasesOn ?? false,
      live: live !== null && live.status !== "ended",
    });
    this.panel.renderRecordings(this.recordings);
    const player = live && liveMode ? live.playerOf(live.watched) : null;
    this.canvasLayer.update(call?.canvases() ?? [], player?.ready ? player : null);
  }

  destroy(): void {
    this.destroyed = true;
    if (this.recordingTimer !== null) clearTimeout(this.recordingTimer);
    this.call?.close();
    this.unpublish();
    this.panel.destroy();
    this.canvasLayer.destroy();
  }

  private renderSoon(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    queueMicrotask(() => {
      this.renderQueued = false;
      if (!this.destroyed) this.render();
    });
  }

  private refreshRecordings(): void {
    const token = ++this.recordingsToken;
    this.api.session(this.summary.id).then(
      (fresh) => {
        if (this.destroyed || token !== this.recordingsToken) return;
        if (fresh.recordings) this.recordings = fresh.recordings;
        this.render();
      },
      () => {},
    );
  }
}
