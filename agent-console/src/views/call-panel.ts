// The call panel beside the live view: start a voice or video call (or join the one that runs),
// hang up, mute, camera off, record, show the page's canvases; one tile per participant (their
// video, or an avatar with the name, their audio played); the red "● REC" indicator; and the
// session's recordings, each file fetched with the agent token (a download, or a player for
// audio). What the buttons do and what the state is come from the session view (call.ts,
// call-state.ts); this only draws them.

import type { RecordingFile, RecordingInfo } from "../api";
import type { AgentCall, CallTile } from "../call";
import type { CallPanelModel } from "../call-state";
import { h } from "../dom";
import { formatClockTime } from "../format";
import { USER_PARTICIPANT } from "../protocol";
import { fileLabel, isPlayableAudio, sortRecordings } from "../recordings";

/** What the call buttons act on: the agent's call (call.ts). */
export type CallControls = Pick<
  AgentCall,
  "request" | "hangUp" | "rejoin" | "setMuted" | "setCameraOff" | "requestRecording" | "stopRecording" | "setCanvases" | "muted" | "cameraOff" | "canvasesOn"
>;

/** Each call button: its `data-action`, its label, and what a click does. */
export const CALL_BUTTONS = {
  "call-voice": { label: "Voice call", run: (c: CallControls) => void c.request(false) },
  "call-video": { label: "Video call", run: (c: CallControls) => void c.request(true) },
  "join-call": { label: "Join call", run: (c: CallControls) => void c.request(false) },
  "join-call-video": { label: "Join with video", run: (c: CallControls) => void c.request(true) },
  hangup: { label: "Hang up", run: (c: CallControls) => c.hangUp() },
  rejoin: { label: "Join again", run: (c: CallControls) => c.rejoin() },
  mute: { label: "Mute", run: (c: CallControls) => c.setMuted(!c.muted) },
  camera: { label: "Camera off", run: (c: CallControls) => c.setCameraOff(!c.cameraOff) },
  record: { label: "● Record", run: (c: CallControls) => void c.requestRecording() },
  "stop-recording": { label: "Stop recording", run: (c: CallControls) => void c.stopRecording() },
  canvases: { label: "Show canvases", run: (c: CallControls) => c.setCanvases(!c.canvasesOn) },
} as const;

/** The role each call button takes beyond a viewer's (the server checks it too). */
const CALL_BUTTON_ROLES: Partial<Record<CallButton, "helper" | "admin">> = {
  "call-voice": "helper",
  "call-video": "helper",
  "join-call": "helper",
  "join-call-video": "helper",
  record: "admin",
  "stop-recording": "admin",
};

export type CallButton = keyof typeof CALL_BUTTONS;

/** The recordings list's needs. */
export interface RecordingActions {
  /** The bytes of a recorded file (fetched with the agent token). */
  file(recording: string, file: string): Promise<Blob>;
  /** The path of a recorded file, for its link. */
  filePath(recording: string, file: string): string;
  /** Fetch the list of recordings again. */
  refreshRecordings(): void;
}

export interface CallPanelState {
  model: CallPanelModel;
  tiles: CallTile[];
  muted: boolean;
  cameraOff: boolean;
  canvasesOn: boolean;
  /** Call controls are shown (a live session); an ended one only lists its recordings. */
  live: boolean;
}

/** An element for a tile's media: its video, or an avatar. */
interface TileView {
  el: HTMLElement;
  video: HTMLVideoElement | null;
  audio: HTMLAudioElement | null;
  videoTrack: MediaStreamTrack | null;
  audioTrack: MediaStreamTrack | null;
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return (parts.length > 1 ? `${parts[0]![0]}${parts[1]![0]}` : (parts[0] ?? "?").slice(0, 2)).toUpperCase();
}

export class CallPanel {
  readonly el: HTMLElement;
  private readonly stateLine: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly members: HTMLElement;
  private readonly rec: HTMLElement;
  private readonly recordLine: HTMLElement;
  private readonly controls: HTMLElement;
  private readonly voice = this.button("call-voice");
  private readonly video = this.button("call-video");
  private readonly join = this.button("join-call");
  private readonly joinVideo = this.button("join-call-video");
  private readonly hangUp = this.button("hangup", { class: "danger" });
  private readonly rejoin = this.button("rejoin");
  private readonly mute = this.button("mute", { "aria-pressed": "false" });
  private readonly camera = this.button("camera", { "aria-pressed": "false" });
  private readonly record = this.button("record");
  private readonly stopRecording = this.button("stop-recording");
  private readonly canvases = this.button("canvases", {
    "aria-pressed": "false",
    title: "Receive the page's <canvas> elements as video, laid over the replay",
  });

  private readonly tilesEl: HTMLElement;
  private readonly tiles = new Map<string, TileView>();
  private readonly recordingsEl: HTMLElement;
  private recordingsKey = "";
  private readonly objectUrls: string[] = [];

  constructor(
    private readonly call: CallControls | null,
    private readonly actions: RecordingActions,
  ) {
    this.stateLine = h("span", { class: "call-state", "data-testid": "call-state", "data-state": "none", role: "status" });
    this.notice = h("span", { class: "call-notice", "data-testid": "call-notice", hidden: true });
    this.members = h("p", { class: "call-members", "data-testid": "call-members", hidden: true });
    this.rec = h("span", { class: "rec-indicator", "data-testid": "rec-indicator", title: "This call is being recorded", hidden: true }, "● REC");
    this.recordLine = h("span", { class: "record-state", "data-testid": "record-state", hidden: true });
    this.tilesEl = h("div", { class: "call-tiles", "data-testid": "call-tiles" });
    // Reading recordings is an admin's.
    this.recordingsEl = h("div", { class: "recordings", "data-testid": "recordings", "data-needs": "admin" });
    this.controls = h(
      "div",
      { class: "call-controls" },
      h("div", { class: "call-buttons" }, this.voice, this.video, this.join, this.joinVideo, this.rejoin, this.mute, this.camera, this.hangUp),
      h("div", { class: "call-line" }, this.stateLine, this.notice),
      this.members,
      this.tilesEl,
      h("div", { class: "call-buttons" }, this.record, this.stopRecording, this.recordLine, this.canvases),
    );
    this.el = h(
      "aside",
      { id: "call-panel", "data-testid": "call-panel" },
      h("div", { class: "call-head" }, h("h3", {}, "Call"), this.rec),
      this.controls,
      this.recordingsEl,
    );

    this.renderRecordings([]);
  }

  /** A call button, doing what `CALL_BUTTONS` says when clicked; hidden from a lesser role. */
  private button(action: CallButton, extra: Record<string, string> = {}): HTMLButtonElement {
    const spec = CALL_BUTTONS[action];
    const needs = CALL_BUTTON_ROLES[action];
    const b = h("button", { type: "button", "data-action": action, ...(needs ? { "data-needs": needs } : {}), ...extra }, spec.label);
    b.addEventListener("click", () => {
      if (this.call) spec.run(this.call);
    });
    return b;
  }

  update(state: CallPanelState): void {
    const m = state.model;
    this.controls.hidden = !state.live;
    this.stateLine.dataset["state"] = m.state;
    this.stateLine.textContent = m.text || "No call";
    this.notice.textContent = m.notice;
    this.notice.hidden = m.notice === "";
    this.members.textContent = m.members;
    this.members.hidden = m.members === "";
    this.rec.hidden = !m.recording;
    this.el.dataset["recording"] = String(m.recording);
    this.el.dataset["call"] = m.state;

    this.voice.hidden = this.video.hidden = !m.showStart;
    this.join.hidden = this.joinVideo.hidden = !m.showJoin;
    // Hanging up works offline too (it stops this side); the rest needs the socket.
    for (const b of [this.voice, this.video, this.join, this.joinVideo, this.rejoin, this.record, this.stopRecording, this.canvases]) {
      b.disabled = !m.enabled;
    }
    this.hangUp.hidden = m.hangUp === null;
    this.hangUp.textContent = m.hangUp ?? "Hang up";
    this.rejoin.hidden = !m.showRejoin;
    this.mute.hidden = !m.showMute;
    this.mute.textContent = state.muted ? "Unmute" : "Mute";
    this.mute.setAttribute("aria-pressed", String(state.muted));
    this.camera.hidden = !m.showCamera;
    this.camera.textContent = state.cameraOff ? "Camera on" : "Camera off";
    this.camera.setAttribute("aria-pressed", String(state.cameraOff));
    this.record.hidden = !m.showRecord;
    this.record.disabled = !m.recordEnabled;
    this.stopRecording.hidden = m.stopRecording === null;
    this.stopRecording.textContent = m.stopRecording ?? "Stop recording";
    this.recordLine.textContent = m.recordText;
    this.recordLine.hidden = m.recordText === "";
    this.canvases.setAttribute("aria-pressed", String(state.canvasesOn));
    this.canvases.textContent = state.canvasesOn ? "Hide canvases" : "Show canvases";
    this.renderTiles(state.tiles);
  }

  private renderTiles(tiles: readonly CallTile[]): void {
    const wanted = new Set(tiles.map((t) => t.participant.id));
    for (const [id, view] of this.tiles) {
      if (wanted.has(id)) continue;
      if (view.video) view.video.srcObject = null;
      if (view.audio) view.audio.srcObject = null;
      view.el.remove();
      this.tiles.delete(id);
    }
    tiles.forEach((tile, i) => {
      const view = this.tileView(tile);
      if (this.tilesEl.children[i] !== view.el) this.tilesEl.insertBefore(view.el, this.tilesEl.children[i] ?? null);
    });
  }

  /** A tile's element, made or brought up to date: a video when there is one, else an avatar. */
  private tileView(tile: CallTile): TileView {
    const id = tile.participant.id;
    let view = this.tiles.get(id);
    if (!view) {
      const label = tile.self ? `${tile.participant.name} (you)` : id === USER_PARTICIPANT ? "The user" : tile.participant.name;
      const el = h(
        "div",
        { class: `call-tile${tile.self ? " self" : ""}`, "data-participant": id, "data-self": String(tile.self), title: label },
        h("div", { class: "call-avatar", "aria-hidden": "true" }, initials(id === USER_PARTICIPANT ? "User" : tile.participant.name)),
        h("span", { class: "call-name" }, label),
      );
      view = { el, video: null, audio: null, videoTrack: null, audioTrack: null };
      this.tiles.set(id, view);
    }
    const v = view;
    if (tile.video !== v.videoTrack) {
      v.videoTrack = tile.video;
      if (tile.video === null) {
        v.video?.remove();
        v.video = null;
      } else {
        if (!v.video) {
          // Sound goes through the tile's <audio>; a video element never plays any.
          v.video = h("video", { class: "call-video", autoplay: true, playsinline: true });
          v.video.muted = true;
          v.el.prepend(v.video);
        }
        v.video.srcObject = new MediaStream([tile.video]);
      }
    }
    // This agent's own microphone is never played back to it.
    const audio = tile.self ? null : tile.audio;
    if (audio !== v.audioTrack) {
      v.audioTrack = audio;
      if (audio === null) {
        v.audio?.remove();
        v.audio = null;
      } else {
        if (!v.audio) {
          v.audio = h("audio", { class: "call-audio", autoplay: true });
          v.el.appendChild(v.audio);
        }
        v.audio.srcObject = new MediaStream([audio]);
      }
    }
    v.el.classList.toggle("has-video", v.video !== null);
    return v;
  }

  /** The session's recordings (from `GET /api/v1/sessions/{id}`); redrawn only when they change. */
  renderRecordings(recordings: readonly RecordingInfo[]): void {
    const sorted = sortRecordings(recordings);
    const key = JSON.stringify(sorted);
    if (key === this.recordingsKey) return;
    this.recordingsKey = key;
    const refresh = h("button", { type: "button", class: "link", "data-action": "refresh-recordings", title: "Refresh the list" }, "↻");
    refresh.addEventListener("click", () => this.actions.refreshRecordings());
    this.recordingsEl.replaceChildren(
      h("div", { class: "recordings-head" }, h("h4", {}, "Recordings"), refresh),
      sorted.length === 0
        ? h("p", { class: "muted", "data-testid": "recordings-empty" }, "No recordings of this session.")
        : h(
            "ol",
            { class: "recording-list" },
            ...sorted.map((r) =>
              h(
                "li",
                { class: "recording", "data-recording-id": r.id },
                h("span", { class: "recording-time" }, `Recording · ${formatClockTime(r.started_ms).slice(0, 8)}`),
                h("ul", { class: "recording-files" }, ...r.files.map((f) => this.fileItem(r.id, f))),
              ),
            ),
          ),
    );
  }

  private fileItem(recording: string, file: RecordingFile): HTMLElement {
    const link = h(
      "a",
      {
        class: "recording-file",
        href: this.actions.filePath(recording, file.name),
        download: file.name,
        "data-file": file.name,
        "data-complete": String(file.complete),
        title: file.name,
      },
      fileLabel(file),
    );
    const status = h("span", { class: "file-status", role: "status" });
    const item = h("li", {}, link, status);
    const fetchFile = async (): Promise<string | null> => {
      status.textContent = "…";
      try {
        const blob = await this.actions.file(recording, file.name);
        const url = URL.createObjectURL(blob);
        this.objectUrls.push(url);
        status.textContent = "";
        return url;
      } catch (e) {
        status.textContent = `Could not fetch: ${(e as Error).message}`;
        return null;
      }
    };
    // The token goes in a header, so the link is fetched here and handed over as a blob.
    link.addEventListener("click", (e) => {
      e.preventDefault();
      void fetchFile().then((url) => {
        if (url === null) return;
        const a = h("a", { href: url, download: file.name, hidden: true });
        document.body.appendChild(a);
        a.click();
        a.remove();
      });
    });
    if (isPlayableAudio(file)) {
      const play = h("button", { type: "button", class: "link play-file", "data-action": "play-recording", "data-file": file.name }, "▶ Play");
      play.addEventListener("click", () => {
        play.disabled = true;
        void fetchFile().then((url) => {
          play.disabled = false;
          if (url === null) return;
          const audio = h("audio", { class: "recording-audio", controls: true, src: url, "data-file": file.name });
          play.replaceWith(audio);
          void audio.play().catch(() => {});
        });
      });
      item.appendChild(play);
    }
    return item;
  }

  destroy(): void {
    for (const view of this.tiles.values()) {
      if (view.video) view.video.srcObject = null;
      if (view.audio) view.audio.srcObject = null;
    }
    this.tiles.clear();
    for (const url of this.objectUrls) URL.revokeObjectURL(url);
  }
}
