/**
 * The page's own media in a call: the user's microphone and camera, and the page's `<canvas>`
 * elements captured as video.
 *
 * Nothing here decides *when* to open a device: the call module asks only once a `call` grant
 * exists (§10), and this module only does what it is asked and explains failures in words the
 * user understands.
 */

/** The part of `navigator.mediaDevices` the tracker uses. */
export interface MediaDevicesLike {
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
}

/** The microphone and, for a video call, the camera. */
export interface UserMedia {
  mic: MediaStreamTrack;
  camera: MediaStreamTrack | null;
}

import { ENGLISH, type Labels, fill } from "./labels";
import { CANVAS_FPS, CompositeCanvas } from "./canvas-composite";

export { CANVAS_FPS } from "./canvas-composite";

/** A device could not be opened; `message` is for the user, in the tracker's locale. */
export class MediaError extends Error {
  override name = "MediaError";
}

/**
 * Opens the microphone, and the camera when `video`. A video call whose camera cannot be opened
 * (none, or in use) goes on with the microphone alone; `cameraError` then says why. Throws
 * {@link MediaError} when the microphone cannot be used.
 */
export async function openUserMedia(
  devices: MediaDevicesLike | undefined,
  video: boolean,
  labels: Labels = ENGLISH,
): Promise<UserMedia & { cameraError?: string }> {
  if (devices === undefined) throw new MediaError(fill(labels.deviceNeedsHttps, { device: labels.microphone }));
  if (video) {
    try {
      const stream = await devices.getUserMedia({ audio: true, video: true });
      return { mic: firstTrack(stream, "audio"), camera: firstTrack(stream, "video") };
    } catch (error) {
      // The user refused: asking again for the microphone alone would be a second prompt.
      if (refused(error)) throw new MediaError(describe(labels, error, labels.microphoneAndCamera));
      const media = await openUserMedia(devices, false, labels);
      return { ...media, cameraError: describe(labels, error, labels.camera) };
    }
  }
  try {
    const stream = await devices.getUserMedia({ audio: true, video: false });
    return { mic: firstTrack(stream, "audio"), camera: null };
  } catch (error) {
    throw new MediaError(describe(labels, error, labels.microphone));
  }
}

/** Opens the camera alone (a voice call became a video call). Throws {@link MediaError}. */
export async function openCamera(devices: MediaDevicesLike | undefined, labels: Labels = ENGLISH): Promise<MediaStreamTrack> {
  if (devices === undefined) throw new MediaError(fill(labels.deviceNeedsHttps, { device: labels.camera }));
  try {
    return firstTrack(await devices.getUserMedia({ audio: false, video: true }), "video");
  } catch (error) {
    throw new MediaError(describe(labels, error, labels.camera));
  }
}

function firstTrack(stream: MediaStream, kind: "audio" | "video"): MediaStreamTrack {
  const track = kind === "audio" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
  if (track === undefined) {
    for (const t of stream.getTracks()) t.stop();
    throw new DOMException(`the browser gave no ${kind} track`, "NotFoundError");
  }
  return track;
}

function errorName(error: unknown): string {
  const name = typeof error === "object" && error !== null ? (error as { name?: unknown }).name : undefined;
  return typeof name === "string" ? name : "";
}

function refused(error: unknown): boolean {
  const name = errorName(error);
  return name === "NotAllowedError" || name === "SecurityError";
}

/** What to tell the user about a `getUserMedia` failure of `device` (a label). */
function describe(labels: Labels, error: unknown, device: string): string {
  switch (errorName(error)) {
    case "NotAllowedError":
    case "SecurityError":
      return fill(labels.deviceNotAllowed, { device });
    case "NotFoundError":
    case "OverconstrainedError":
      return fill(labels.deviceNotFound, { device });
    case "NotReadableError":
    case "AbortError":
      return fill(labels.deviceBusy, { device });
    default:
      return fill(labels.deviceFailed, { device });
  }
}

/**
 * The page's canvases as video tracks, by rrweb node id (the id an agent's replay knows the
 * `<canvas>` by, so it can lay the video over it). A canvas is captured when it is in the
 * document, has a bitmap and is rendered, and rrweb recorded it visibly (`idOf` gives no id for
 * a blocked canvas, or one rrweb has not seen yet).
 *
 * Each track comes from a {@link CompositeCanvas} (first frame at once, a frame a second while the
 * canvas does not change, over the page's background colour), ticked here while any is captured.
 */
export class CanvasCapture {
  private readonly doc: Document;
  private readonly idOf: (canvas: HTMLCanvasElement) => number | undefined;
  private readonly captured = new Map<HTMLCanvasElement, Captured>();
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(doc: Document, idOf: (canvas: HTMLCanvasElement) => number | undefined) {
    this.doc = doc;
    this.idOf = idOf;
  }

  /**
   * Captures the canvases now on the page and stops the tracks of those gone; says whether the
   * set of ids changed.
   */
  scan(): boolean {
    const before = this.ids().join();
    const seen = new Set<HTMLCanvasElement>();
    for (const canvas of Array.from(this.doc.querySelectorAll("canvas"))) {
      if (!shown(canvas)) continue;
      const id = this.idOf(canvas);
      if (id === undefined) continue;
      const known = this.captured.get(canvas);
      if (known !== undefined && known.id === id && known.track.readyState !== "ended") {
        seen.add(canvas);
        continue;
      }
      known?.track.stop();
      this.captured.delete(canvas);
      const captured = capture(canvas);
      if (captured === null) continue;
      this.captured.set(canvas, { id, ...captured });
      seen.add(canvas);
    }
    for (const [canvas, { track }] of this.captured) {
      if (seen.has(canvas)) continue;
      track.stop();
      this.captured.delete(canvas);
    }
    this.runTicker();
    return this.ids().join() !== before;
  }

  /** The ids of the canvases captured, in increasing order. */
  ids(): number[] {
    return [...this.captured.values()].map((c) => c.id).sort((a, b) => a - b);
  }

  /** The track of the canvas with rrweb id `id`. */
  track(id: number): MediaStreamTrack | null {
    for (const c of this.captured.values()) if (c.id === id) return c.track;
    return null;
  }

  /** Stops every canvas track. */
  stop(): void {
    for (const { track } of this.captured.values()) track.stop();
    this.captured.clear();
    this.runTicker();
  }

  /** Ticks the composites while there are any. */
  private runTicker(): void {
    const any = [...this.captured.values()].some((c) => c.composite !== null);
    if (any && this.ticker === undefined) {
      this.ticker = setInterval(() => {
        const now = Date.now();
        for (const c of this.captured.values()) c.composite?.tick(now);
      }, Math.round(1000 / CANVAS_FPS));
    } else if (!any && this.ticker !== undefined) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }
}

interface Captured {
  id: number;
  track: MediaStreamTrack;
  /** Null when the canvas itself is captured (no 2D context here to composite with). */
  composite: CompositeCanvas | null;
}

function shown(canvas: HTMLCanvasElement): boolean {
  if (!canvas.isConnected || canvas.width === 0 || canvas.height === 0) return false;
  const check = (canvas as { checkVisibility?: () => boolean }).checkVisibility;
  return typeof check !== "function" || check.call(canvas);
}

function capture(canvas: HTMLCanvasElement): Omit<Captured, "id"> | null {
  const composite = CompositeCanvas.open(canvas, Date.now());
  if (composite !== null) return { track: composite.track, composite };
  if (typeof canvas.captureStream !== "function") return null;
  try {
    // No 2D context to composite with: the canvas as it is (frames on redraw only).
    const track = canvas.captureStream(CANVAS_FPS).getVideoTracks()[0];
    return track === undefined ? null : { track, composite: null };
  } catch {
    // A canvas that drew cross-origin images cannot be captured (SecurityError).
    return null;
  }
}
