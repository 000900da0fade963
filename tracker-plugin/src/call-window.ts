/**
 * The call window: a small panel at the bottom right of the page, moved by dragging its header.
 * It shows each agent in the call (their video if they send it, else their initial and name),
 * the user's own camera, a red "● Recording" row while the call is recorded, and the buttons:
 * Mute, Camera off, Hang up, Stop recording; Join here when the call runs in another tab; Close
 * when only a message is left. Agents' sound plays through `<audio autoplay>` elements in it;
 * should the browser's autoplay policy hold them back (a page that joins the call again after a
 * reload, before the user touched it), they start on the user's next click or key.
 *
 * It lives in the tracker's shadow root like every part of the tracker's UI, so it is never
 * recorded. It only shows what {@link CallWindow.update} gives it and reports clicks; the call
 * module decides everything.
 */

import { fill } from "./labels";
import { type PageUi, UI_ATTRIBUTE } from "./page-ui";

/** One agent in the call. */
export interface CallParticipantView {
  id: string;
  name: string;
  /** Their microphone, played by the window. */
  audio: MediaStreamTrack | null;
  /** Their camera, shown instead of their initial. */
  video: MediaStreamTrack | null;
}

/** What the window shows. */
export interface CallView {
  /**
   * `here`: this tab is in the call; `elsewhere`: the call runs but not in this tab (another
   * tab took it, or it was disconnected); `ended`: no call, only {@link error} is left to read.
   */
  mode: "here" | "elsewhere" | "ended";
  /** A line about the connection ("Connecting…"); empty for none. */
  status: string;
  /** Why the call could not start (shown until the user closes it), or a warning; null for none. */
  error: string | null;
  participants: CallParticipantView[];
  /** The user's camera, for the self view; null for a voice call. */
  camera: MediaStreamTrack | null;
  /** Whether the user has a microphone in the call (Mute is shown). */
  hasMic: boolean;
  muted: boolean;
  cameraOff: boolean;
  /** Names of the agents recording the call; empty while it is not recorded. */
  recording: string[];
}

export type CallAction = "mute" | "camera" | "hangup" | "stop-recording" | "join" | "close";

const CSS = `
[${UI_ATTRIBUTE}="call-window"] {
  position: fixed; right: 16px; bottom: 16px; width: 300px; max-width: calc(100vw - 32px);
  display: flex; flex-direction: column; z-index: 4; pointer-events: auto; overflow: hidden;
  background: #1b1f24; color: #ffffff; border-radius: 12px; box-shadow: 0 8px 28px rgba(0, 0, 0, 0.35);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
[${UI_ATTRIBUTE}="call-window"] [hidden] { display: none !important; }
[${UI_ATTRIBUTE}="call-header"] {
  display: flex; align-items: center; gap: 8px; padding: 8px 12px; background: #2d333b;
  font-weight: 600; cursor: move; touch-action: none; user-select: none;
}
[${UI_ATTRIBUTE}="call-recording"] {
  display: flex; align-items: center; gap: 8px; padding: 4px 8px 4px 12px; background: #b3261e; font-weight: 600;
}
[${UI_ATTRIBUTE}="call-recording"] span { flex: 1; }
[${UI_ATTRIBUTE}="call-recording"] button { padding: 2px 10px; border-color: #ffffff; }
.call-status, .call-error { margin: 0; padding: 6px 12px 0; color: #c9ced6; }
.call-error { color: #ffb4ab; }
.call-tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: 6px; padding: 8px; }
.call-tile {
  position: relative; aspect-ratio: 4 / 3; display: flex; align-items: center; justify-content: center;
  background: #2d333b; border-radius: 8px; overflow: hidden;
}
.call-tile video { width: 100%; height: 100%; object-fit: cover; }
[${UI_ATTRIBUTE}="call-self"] video { transform: scaleX(-1); }
.call-avatar {
  width: 48px; height: 48px; border-radius: 50%; display: flex; align-items: center; justify-content: center;
  background: #1f6feb; font-size: 22px; font-weight: 600;
}
.call-name {
  position: absolute; left: 6px; bottom: 4px; max-width: calc(100% - 12px); overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; font-size: 12px; padding: 0 4px; border-radius: 4px;
  background: rgba(0, 0, 0, 0.55);
}
.call-actions { display: flex; flex-wrap: wrap; justify-content: center; gap: 6px; padding: 0 8px 10px; }
[data-action="hangup"] { background: #b3261e; border-color: #b3261e; color: #ffffff; }
[data-action="mute"][aria-pressed="true"], [data-action="camera"][aria-pressed="true"] { background: #ffdad6; }
`;

interface Tile {
  root: HTMLElement;
  media: HTMLElement;
  name: HTMLElement;
  video: HTMLVideoElement | null;
  videoTrack: MediaStreamTrack | null;
  audio: HTMLAudioElement | null;
  audioTrack: MediaStreamTrack | null;
}

export class CallWindow {
  private readonly ui: PageUi;
  private readonly createStream: (tracks: MediaStreamTrack[]) => MediaStream;
  private readonly root: HTMLElement;
  private readonly recording: HTMLElement;
  private readonly recordingText: HTMLElement;
  private readonly status: HTMLElement;
  private readonly error: HTMLElement;
  private readonly tiles: HTMLElement;
  private readonly buttons: Record<CallAction, HTMLButtonElement>;
  private readonly tileById = new Map<string, Tile>();
  private self: Tile | null = null;
  /** Media elements the browser would not start without a gesture of the user. */
  private readonly blocked = new Set<HTMLMediaElement>();
  private readonly retryBlocked = (): void => {
    const blocked = [...this.blocked];
    this.blocked.clear();
    this.listenForGesture(false);
    for (const media of blocked) if (media.isConnected) this.play(media);
  };

  /** `onAction` runs when the user clicks one of the window's buttons. */
  constructor(
    ui: PageUi,
    createStream: (tracks: MediaStreamTrack[]) => MediaStream,
    onAction: (action: CallAction) => void,
  ) {
    this.ui = ui;
    this.createStream = createStream;
    const doc = ui.document;
    const labels = ui.labels;
    this.root = doc.createElement("section");
    this.root.setAttribute(UI_ATTRIBUTE, "call-window");
    this.root.setAttribute("role", "dialog");
    this.root.setAttribute("aria-modal", "false");
    this.root.setAttribute("aria-label", labels.call);

    const header = doc.createElement("div");
    header.setAttribute(UI_ATTRIBUTE, "call-header");
    header.textContent = labels.call;
    this.makeDraggable(header);

    const button = (action: CallAction, label: string): HTMLButtonElement => {
      const b = doc.createElement("button");
      b.type = "button";
      b.setAttribute(UI_ATTRIBUTE, "call-button");
      b.dataset["action"] = action;
      b.textContent = label;
      b.addEventListener("click", () => onAction(action));
      return b;
    };
    this.buttons = {
      mute: button("mute", labels.mute),
      camera: button("camera", labels.cameraOff),
      join: button("join", labels.joinHere),
      hangup: button("hangup", labels.hangUp),
      close: button("close", labels.close),
      "stop-recording": button("stop-recording", labels.stopRecording),
    };

    this.recording = doc.createElement("div");
    this.recording.setAttribute(UI_ATTRIBUTE, "call-recording");
    this.recording.setAttribute("role", "status");
    this.recordingText = doc.createElement("span");
    this.recording.append(this.recordingText, this.buttons["stop-recording"]);

    this.status = doc.createElement("p");
    this.status.className = "call-status";
    this.status.setAttribute(UI_ATTRIBUTE, "call-status");
    this.status.setAttribute("aria-live", "polite");
    this.error = doc.createElement("p");
    this.error.className = "call-error";
    this.error.setAttribute(UI_ATTRIBUTE, "call-error");
    this.error.setAttribute("role", "alert");
    this.tiles = doc.createElement("div");
    this.tiles.className = "call-tiles";

    const actions = doc.createElement("div");
    actions.className = "call-actions";
    const b = this.buttons;
    actions.append(b.mute, b.camera, b.join, b.hangup, b.close);

    this.root.append(header, this.recording, this.status, this.error, this.tiles, actions);
    ui.mount(this.root, CSS);
  }

  get element(): HTMLElement {
    return this.root;
  }

  update(view: CallView): void {
    const labels = this.ui.labels;
    this.root.dataset["mode"] = view.mode;

    this.recording.hidden = view.recording.length === 0;
    this.recordingText.textContent = labels.recording;
    this.recordingText.title =
      view.recording.length === 0 ? "" : fill(labels.recordedBy, { agents: view.recording.join(", ") });

    this.status.hidden = view.status === "";
    this.status.textContent = view.status;
    this.error.hidden = view.error === null;
    this.error.textContent = view.error ?? "";

    this.updateTiles(view);

    const b = this.buttons;
    const here = view.mode === "here";
    b.mute.hidden = !(here && view.hasMic);
    b.mute.textContent = view.muted ? labels.unmute : labels.mute;
    b.mute.setAttribute("aria-pressed", String(view.muted));
    b.camera.hidden = !(here && view.camera !== null);
    b.camera.textContent = view.cameraOff ? labels.cameraOn : labels.cameraOff;
    b.camera.setAttribute("aria-pressed", String(view.cameraOff));
    b.join.hidden = view.mode !== "elsewhere";
    b.hangup.hidden = view.mode === "ended";
    b.close.hidden = view.mode !== "ended";
  }

  /** Takes the window off the page; its media elements stop. */
  remove(): void {
    this.blocked.clear();
    this.listenForGesture(false);
    for (const tile of [...this.tileById.values(), ...(this.self === null ? [] : [this.self])]) release(tile);
    this.tileById.clear();
    this.self = null;
    this.root.remove();
  }

  private updateTiles(view: CallView): void {
    const wanted = new Set(view.participants.map((p) => p.id));
    for (const [id, tile] of this.tileById) {
      if (wanted.has(id)) continue;
      release(tile);
      tile.root.remove();
      this.tileById.delete(id);
    }
    let at = 0;
    const place = (tile: Tile): void => {
      // Moved only when out of place: a media element taken out of the page would pause.
      const there = this.tiles.children[at] ?? null;
      if (there !== tile.root) this.tiles.insertBefore(tile.root, there);
      at++;
    };
    for (const p of view.participants) {
      let tile = this.tileById.get(p.id);
      if (tile === undefined) {
        tile = this.tile(p.id, p.name);
        this.tileById.set(p.id, tile);
      }
      tile.name.textContent = p.name;
      // Only a tab in the call receives media; one that is not keeps the tiles silent.
      this.setVideo(tile, view.mode === "here" ? p.video : null, p.name);
      this.setAudio(tile, view.mode === "here" ? p.audio : null);
      place(tile);
    }

    const camera = view.mode === "here" ? view.camera : null;
    if (camera === null) {
      if (this.self !== null) {
        release(this.self);
        this.self.root.remove();
        this.self = null;
      }
    } else {
      this.self ??= this.tile("user", this.ui.labels.you, "call-self");
      this.setVideo(this.self, camera, this.ui.labels.you, true);
      place(this.self);
    }
  }

  private tile(id: string, name: string, part = "call-participant"): Tile {
    const doc = this.ui.document;
    const root = doc.createElement("div");
    root.className = "call-tile";
    root.setAttribute(UI_ATTRIBUTE, part);
    root.dataset["participantId"] = id;
    const media = doc.createElement("div");
    media.style.display = "contents";
    const label = doc.createElement("span");
    label.className = "call-name";
    root.append(media, label);
    const tile: Tile = { root, media, name: label, video: null, videoTrack: null, audio: null, audioTrack: null };
    this.setVideo(tile, null, name);
    return tile;
  }

  /** Shows `track` in the tile, or the name's initial when null. */
  private setVideo(tile: Tile, track: MediaStreamTrack | null, name: string, self = false): void {
    const doc = this.ui.document;
    if (track === tile.videoTrack && tile.media.firstElementChild !== null) {
      if (track === null) tile.media.firstElementChild.textContent = initial(name);
      return;
    }
    if (tile.video !== null) tile.video.srcObject = null;
    tile.video = null;
    tile.videoTrack = track;
    if (track === null) {
      const avatar = doc.createElement("div");
      avatar.className = "call-avatar";
      avatar.setAttribute("aria-hidden", "true");
      avatar.textContent = initial(name);
      tile.media.replaceChildren(avatar);
      return;
    }
    const video = doc.createElement("video");
    video.setAttribute(UI_ATTRIBUTE, self ? "call-self-video" : "call-video");
    video.autoplay = true;
    video.muted = true; // sound plays through the tile's <audio>
    video.playsInline = true;
    video.srcObject = this.createStream([track]);
    tile.video = video;
    tile.media.replaceChildren(video);
    this.play(video);
  }

  private setAudio(tile: Tile, track: MediaStreamTrack | null): void {
    if (track === tile.audioTrack) return;
    if (tile.audio !== null) {
      tile.audio.srcObject = null;
      tile.audio.remove();
      tile.audio = null;
    }
    tile.audioTrack = track;
    if (track === null) return;
    const audio = this.ui.document.createElement("audio");
    audio.setAttribute(UI_ATTRIBUTE, "call-audio");
    audio.autoplay = true;
    audio.srcObject = this.createStream([track]);
    tile.audio = audio;
    tile.root.append(audio);
    this.play(audio);
  }

  /** Starts `media` (autoplay alone is not retried); if the browser refuses, again on the next gesture. */
  private play(media: HTMLMediaElement): void {
    let started: Promise<void> | undefined;
    try {
      started = media.play() as Promise<void> | undefined;
    } catch {
      return;
    }
    started?.catch((error: unknown) => {
      if ((error as { name?: unknown } | null)?.name !== "NotAllowedError" || !media.isConnected) return;
      this.blocked.add(media);
      this.listenForGesture(true);
    });
  }

  private listenForGesture(on: boolean): void {
    const doc = this.ui.document;
    for (const type of ["pointerdown", "keydown"]) {
      if (on) doc.addEventListener(type, this.retryBlocked, { capture: true });
      else doc.removeEventListener(type, this.retryBlocked, { capture: true });
    }
  }

  /** Drags the window by `handle` with the pointer, keeping it inside the viewport. */
  private makeDraggable(handle: HTMLElement): void {
    let drag: { pointerId: number; dx: number; dy: number } | null = null;
    handle.addEventListener("pointerdown", (event: PointerEvent) => {
      if (event.button !== 0) return;
      const rect = this.root.getBoundingClientRect();
      drag = { pointerId: event.pointerId, dx: event.clientX - rect.left, dy: event.clientY - rect.top };
      try {
        handle.setPointerCapture(event.pointerId);
      } catch {
        // Not a pointer the browser knows (a synthetic event): moves still reach the handle.
      }
      event.preventDefault();
    });
    handle.addEventListener("pointermove", (event: PointerEvent) => {
      if (drag === null) return;
      const view = this.ui.document.defaultView;
      const rect = this.root.getBoundingClientRect();
      const maxX = Math.max(0, (view?.innerWidth ?? rect.width) - rect.width);
      const maxY = Math.max(0, (view?.innerHeight ?? rect.height) - rect.height);
      const style = this.root.style;
      style.left = `${clamp(event.clientX - drag.dx, 0, maxX)}px`;
      style.top = `${clamp(event.clientY - drag.dy, 0, maxY)}px`;
      style.right = "auto";
      style.bottom = "auto";
    });
    const end = (event: PointerEvent): void => {
      if (drag === null) return;
      try {
        handle.releasePointerCapture(event.pointerId);
      } catch {
        // It was not captured.
      }
      drag = null;
    };
    handle.addEventListener("pointerup", end);
    handle.addEventListener("pointercancel", end);
  }
}

function release(tile: Tile): void {
  if (tile.video !== null) tile.video.srcObject = null;
  if (tile.audio !== null) tile.audio.srcObject = null;
}

function initial(name: string): string {
  const first = [...name.trim()][0];
  return first === undefined ? "?" : first.toLocaleUpperCase();
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
