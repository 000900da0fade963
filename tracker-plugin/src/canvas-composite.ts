/**
 * A page's `<canvas>` made into a video track that looks like the canvas does on the page.
 *
 * `canvas.captureStream()` alone has two faults for an agent's overlay: it emits a frame only when
 * the page redraws (a chart drawn once sends nothing, so the agent sees nothing), and the encoder
 * turns transparent pixels black (the overlay hides the page behind the canvas). So the track is
 * taken from a canvas of our own, the *composite*: on each tick it is filled with the colour behind
 * the page's canvas (canvas-background.ts) and the page's canvas is drawn over it, and a frame is
 * sent with `requestFrame()` (`captureStream(0)`: no frame unless asked):
 *
 * - at once when capture starts (the agent's first frame needs no redraw);
 * - on a tick where the canvas changed, at most {@link CANVAS_FPS} a second;
 * - every {@link STATIC_FRAME_MS} when it did not (a receiver that joins or lost a packet gets a
 *   key frame within a second, and a changed page background shows).
 *
 * Whether the canvas changed is read from a small copy of it ({@link PROBE_SIZE}² pixels):
 * reading back the whole canvas every tick would cost the page more than encoding. A change too
 * small to show at that size is sent with the next static frame, within a second.
 */

import { backgroundBehind, cssColour } from "./canvas-background";

/** Canvases are sent at most this many frames a second. */
export const CANVAS_FPS = 15;
/** A canvas that did not change is sent again this often. */
export const STATIC_FRAME_MS = 1_000;
/** The side of the small copy compared between ticks. */
export const PROBE_SIZE = 32;
/** Canvases up to this many pixels are sent at twice their size (see {@link captureScale}). */
export const DOUBLED_PIXELS = 640 * 480;

/**
 * How many video pixels a side of a canvas pixel becomes. Video is encoded with one colour sample
 * per 2×2 pixels (4:2:0), so a colour edge at an odd pixel bleeds into its neighbour (a bar chart
 * came out 1.3 % off, all of it on such edges); at twice the size each canvas pixel is a whole
 * 2×2 block and keeps its colour, and the agent's view scales the video back to the canvas's box.
 * Larger canvases stay at their size: four times the pixels would cost the page's encoder more
 * than the edges are worth.
 */
export function captureScale(width: number, height: number): number {
  return width * height <= DOUBLED_PIXELS ? 2 : 1;
}

/** Whether a frame is due: the first, a changed canvas, or a static one whose time came. */
export function frameDue(now: number, lastSent: number | undefined, changed: boolean): boolean {
  return lastSent === undefined || changed || now - lastSent >= STATIC_FRAME_MS;
}

/** Whether two probe readings differ (null: nothing read before). */
export function probeChanged(before: Uint8ClampedArray | null, after: Uint8ClampedArray): boolean {
  if (before === null || before.length !== after.length) return true;
  for (let i = 0; i < after.length; i++) if (before[i] !== after[i]) return true;
  return false;
}

type CaptureTrack = MediaStreamTrack & { requestFrame?: () => void };

export class CompositeCanvas {
  readonly track: MediaStreamTrack;
  private readonly source: HTMLCanvasElement;
  private readonly composite: HTMLCanvasElement;
  private readonly pen: CanvasRenderingContext2D;
  private readonly probe: CanvasRenderingContext2D | null;
  private lastProbe: Uint8ClampedArray | null = null;
  private lastSent: number | undefined;
  private background = "rgb(255, 255, 255)";
  /** When the background was last read: once a second, also while the canvas animates. */
  private backgroundAt = Number.NEGATIVE_INFINITY;

  private constructor(source: HTMLCanvasElement, composite: HTMLCanvasElement, pen: CanvasRenderingContext2D, track: MediaStreamTrack) {
    this.source = source;
    this.composite = composite;
    this.pen = pen;
    this.track = track;
    const probe = source.ownerDocument.createElement("canvas");
    probe.width = PROBE_SIZE;
    probe.height = PROBE_SIZE;
    this.probe = probe.getContext("2d", { willReadFrequently: true });
  }

  /**
   * The composite of `source` with its first frame sent, or null where a canvas cannot be drawn
   * or captured here (no 2D context, no `captureStream`, or a canvas tainted by cross-origin
   * images, which the browser refuses to capture).
   */
  static open(source: HTMLCanvasElement, now: number): CompositeCanvas | null {
    const composite = source.ownerDocument.createElement("canvas");
    if (typeof composite.captureStream !== "function") return null;
    let pen: CanvasRenderingContext2D | null = null;
    try {
      pen = composite.getContext("2d", { alpha: false });
    } catch {
      pen = null;
    }
    if (pen === null) return null;
    let track: CaptureTrack | undefined;
    try {
      const scale = captureScale(source.width, source.height);
      composite.width = source.width * scale;
      composite.height = source.height * scale;
      pen.imageSmoothingEnabled = false;
      pen.drawImage(source, 0, 0, composite.width, composite.height);
      const requestable = typeof (globalThis as { CanvasCaptureMediaStreamTrack?: { prototype: object } })
        .CanvasCaptureMediaStreamTrack?.prototype === "object";
      track = composite.captureStream(requestable ? 0 : CANVAS_FPS).getVideoTracks()[0] as CaptureTrack | undefined;
    } catch {
      return null;
    }
    if (track === undefined) return null;
    const c = new CompositeCanvas(source, composite, pen, track);
    c.tick(now);
    return c;
  }

  /** Draws and sends a frame if one is due (see the module doc). */
  tick(now: number): void {
    if (this.track.readyState === "ended") return;
    const changed = this.changed();
    if (!frameDue(now, this.lastSent, changed)) return;
    if (now - this.backgroundAt >= STATIC_FRAME_MS) {
      this.background = cssColour(backgroundBehind(this.source));
      this.backgroundAt = now;
    }
    this.draw();
    this.lastSent = now;
  }

  stop(): void {
    this.track.stop();
  }

  private draw(): void {
    const { source, composite, pen } = this;
    const scale = captureScale(source.width, source.height);
    if (composite.width !== source.width * scale || composite.height !== source.height * scale) {
      composite.width = source.width * scale;
      composite.height = source.height * scale;
      // Resizing a canvas resets its context's state.
      pen.imageSmoothingEnabled = false;
    }
    pen.fillStyle = this.background;
    pen.fillRect(0, 0, composite.width, composite.height);
    if (source.width > 0 && source.height > 0) pen.drawImage(source, 0, 0, composite.width, composite.height);
    (this.track as CaptureTrack).requestFrame?.();
  }

  /** Whether the canvas looks different from the last tick (true when it cannot tell). */
  private changed(): boolean {
    const probe = this.probe;
    if (probe === null || this.source.width === 0 || this.source.height === 0) return true;
    try {
      probe.clearRect(0, 0, PROBE_SIZE, PROBE_SIZE);
      probe.drawImage(this.source, 0, 0, PROBE_SIZE, PROBE_SIZE);
      const now = probe.getImageData(0, 0, PROBE_SIZE, PROBE_SIZE).data;
      const changed = probeChanged(this.lastProbe, now);
      this.lastProbe = now;
      return changed;
    } catch {
      return true;
    }
  }
}
