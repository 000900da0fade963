/**
 * Canvas frames in the recording (`start({ canvasRecording })`), kept within a budget so they
 * never crowd out the page's DOM events.
 *
 * rrweb (with `recordCanvas` and `sampling.canvas`, see record.ts) snapshots each visible,
 * unblocked canvas a few times a second and emits a frame (a `CanvasMutation` event holding a
 * WebP image) only when the canvas changed. Every frame is a whole picture of its canvas, so a
 * frame that has to wait can be replaced by a newer one of the same canvas without losing
 * anything the replay needs. The {@link CanvasFramePacer} does exactly that:
 *
 * - it holds at most one frame per canvas: the newest (older ones are skipped);
 * - it lets frames through within a byte rate (at most {@link CANVAS_SERVER_SHARE} of the
 *   server's per-session `bytes_per_sec`, and at most the site's `bytesPerSec`) and a frame rate
 *   (at most {@link CANVAS_EVENT_SHARE} of the server's `events_per_sec`);
 * - it holds frames back while the tracker has more than {@link MAX_BACKLOG_BYTES} of events the
 *   server has not acknowledged: the DOM events go first.
 *
 * A frame let through later is stamped with the time it goes into the recording, so the recording
 * stays in time order (it shows the canvas as it was then, at most a little older).
 *
 * The pacer is pure (time and the backlog are inputs); {@link CanvasFrames} runs it on a timer.
 */

import { EventType, IncrementalSource, type eventWithTime } from "rrweb";

/** What a site may tune; every field has a default. */
export interface CanvasRecordingOptions {
  /** Snapshots of each canvas per second (default 2). */
  fps?: number;
  /** WebP quality, 0..1 (default 0.6). */
  quality?: number;
  /** Most bytes of canvas frames per second, all canvases together (default 128 KiB). */
  bytesPerSec?: number;
}

export const DEFAULT_CANVAS_FPS = 2;
export const DEFAULT_CANVAS_QUALITY = 0.6;
export const DEFAULT_CANVAS_BYTES_PER_SEC = 128 * 1024;
/** Canvas frames take at most this share of the session's byte rate on the server. */
export const CANVAS_SERVER_SHARE = 0.25;
/** ... and at most this share of its event rate. */
export const CANVAS_EVENT_SHARE = 0.1;
/** Frames wait while this many bytes of events are not yet acknowledged. */
export const MAX_BACKLOG_BYTES = 256 * 1024;
/** The buckets hold this many seconds of their rate. */
const BURST_SECONDS = 2;

/** The settings in force for `canvasRecording`, or null when it is off. */
export function canvasRecordingSettings(option: boolean | CanvasRecordingOptions | undefined): Required<CanvasRecordingOptions> | null {
  if (option === undefined || option === false) return null;
  const o = option === true ? {} : option;
  const positive = (v: number | undefined, fallback: number) => (v !== undefined && Number.isFinite(v) && v > 0 ? v : fallback);
  return {
    fps: Math.min(positive(o.fps, DEFAULT_CANVAS_FPS), 30),
    quality: Math.min(positive(o.quality, DEFAULT_CANVAS_QUALITY), 1),
    bytesPerSec: positive(o.bytesPerSec, DEFAULT_CANVAS_BYTES_PER_SEC),
  };
}

/** The rrweb id of the canvas an event is a frame of, or undefined for any other event. */
export function canvasFrameOf(event: eventWithTime): number | undefined {
  if (event.type !== EventType.IncrementalSnapshot) return undefined;
  const data = event.data as { source: number; id?: unknown };
  return data.source === IncrementalSource.CanvasMutation && typeof data.id === "number" ? data.id : undefined;
}

/** What the server allows a session (from `welcome.limits`). */
export interface SessionRates {
  bytesPerSec: number;
  eventsPerSec: number;
}

export interface PendingFrame<T> {
  canvas: number;
  bytes: number;
  frame: T;
}

export class CanvasFramePacer<T> {
  private readonly siteBytesPerSec: number;
  private readonly pending = new Map<number, PendingFrame<T>>();
  private byteTokens = Number.NaN;
  private frameTokens = Number.NaN;
  private last = Number.NaN;
  /** Frames replaced by a newer one of their canvas before they could go. */
  skipped = 0;

  constructor(siteBytesPerSec: number) {
    this.siteBytesPerSec = siteBytesPerSec;
  }

  /** The byte and frame rates canvas frames get under `rates`. */
  budget(rates: SessionRates): { bytesPerSec: number; framesPerSec: number } {
    return {
      bytesPerSec: Math.min(this.siteBytesPerSec, rates.bytesPerSec * CANVAS_SERVER_SHARE),
      framesPerSec: Math.max(1, rates.eventsPerSec * CANVAS_EVENT_SHARE),
    };
  }

  /** A new frame of its canvas; replaces the one still waiting, if any. */
  offer(frame: PendingFrame<T>): void {
    // Re-inserted at the end: canvases take turns, the longest waiting first.
    if (this.pending.delete(frame.canvas)) this.skipped += 1;
    this.pending.set(frame.canvas, frame);
  }

  get waiting(): number {
    return this.pending.size;
  }

  /**
   * The frames that may go now, oldest waiting first. A frame goes when both buckets have
   * something left, and may take them below zero (a frame larger than a burst still goes, then
   * nothing until they refill), so no frame is stuck forever.
   */
  take(now: number, rates: SessionRates, backlogBytes: number): PendingFrame<T>[] {
    const { bytesPerSec, framesPerSec } = this.budget(rates);
    const byteCap = bytesPerSec * BURST_SECONDS;
    const frameCap = Math.max(1, framesPerSec * BURST_SECONDS);
    if (Number.isNaN(this.last)) {
      this.byteTokens = byteCap;
      this.frameTokens = frameCap;
    } else {
      const seconds = Math.max(0, now - this.last) / 1000;
      this.byteTokens = Math.min(byteCap, this.byteTokens + seconds * bytesPerSec);
      this.frameTokens = Math.min(frameCap, this.frameTokens + seconds * framesPerSec);
    }
    this.last = now;
    const out: PendingFrame<T>[] = [];
    if (backlogBytes > MAX_BACKLOG_BYTES) return out;
    for (const [canvas, frame] of this.pending) {
      if (this.byteTokens <= 0 || this.frameTokens < 1) break;
      this.pending.delete(canvas);
      this.byteTokens -= frame.bytes;
      this.frameTokens -= 1;
      out.push(frame);
    }
    return out;
  }

  /** Ms until frames still waiting may go (a backlog is looked at again after `retryMs`). */
  nextTry(rates: SessionRates, retryMs: number): number {
    if (this.pending.size === 0) return Number.POSITIVE_INFINITY;
    const { bytesPerSec, framesPerSec } = this.budget(rates);
    const bytesWait = this.byteTokens > 0 ? 0 : ((-this.byteTokens + 1) / bytesPerSec) * 1000;
    const framesWait = this.frameTokens >= 1 ? 0 : ((1 - this.frameTokens) / framesPerSec) * 1000;
    return Math.max(retryMs, Math.ceil(Math.max(bytesWait, framesWait)));
  }

  clear(): void {
    this.pending.clear();
  }
}

export interface CanvasFramesOptions {
  settings: Required<CanvasRecordingOptions>;
  /** The server's rates now. */
  rates: () => SessionRates;
  /** Bytes of events not yet acknowledged. */
  backlogBytes: () => number;
  /** Records a frame that may go. */
  record: (event: eventWithTime) => void;
}

/** How often waiting frames are looked at again while the backlog holds them. */
const BACKLOG_RETRY_MS = 250;

/** Runs a {@link CanvasFramePacer} on the page's clock. */
export class CanvasFrames {
  private readonly options: CanvasFramesOptions;
  private readonly pacer: CanvasFramePacer<eventWithTime>;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: CanvasFramesOptions) {
    this.options = options;
    this.pacer = new CanvasFramePacer(options.settings.bytesPerSec);
  }

  /** A canvas frame rrweb emitted. */
  offer(canvas: number, event: eventWithTime): void {
    // The frame's JSON is ASCII (base64 inside), so its length is its size on the wire.
    const bytes = JSON.stringify(event).length;
    this.pacer.offer({ canvas, bytes, frame: event });
    this.flush();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pacer.clear();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    const rates = this.options.rates();
    for (const { frame } of this.pacer.take(now, rates, this.options.backlogBytes())) {
      this.options.record({ ...frame, timestamp: Math.max(frame.timestamp, now) } as eventWithTime);
    }
    const wait = this.pacer.nextTry(rates, BACKLOG_RETRY_MS);
    if (Number.isFinite(wait)) this.timer = setTimeout(() => this.flush(), wait);
  }
}
