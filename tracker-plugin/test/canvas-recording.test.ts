import { EventType, IncrementalSource, type eventWithTime } from "rrweb";
import { describe, expect, it } from "vitest";

import {
  CANVAS_SERVER_SHARE,
  CanvasFramePacer,
  DEFAULT_CANVAS_BYTES_PER_SEC,
  MAX_BACKLOG_BYTES,
  canvasFrameOf,
  canvasRecordingSettings,
} from "../src/canvas-recording";

const rates = { bytesPerSec: 4 * 1024 * 1024, eventsPerSec: 500 };
const frame = (canvas: number, bytes: number, label = "") => ({ canvas, bytes, frame: `${canvas}${label}` });

describe("canvas recording settings", () => {
  it("is off unless the site turns it on, with low-rate WebP defaults", () => {
    expect(canvasRecordingSettings(undefined)).toBeNull();
    expect(canvasRecordingSettings(false)).toBeNull();
    expect(canvasRecordingSettings(true)).toEqual({ fps: 2, quality: 0.6, bytesPerSec: DEFAULT_CANVAS_BYTES_PER_SEC });
    expect(canvasRecordingSettings({ fps: 1, quality: 2, bytesPerSec: -1 })).toEqual({
      fps: 1,
      quality: 1,
      bytesPerSec: DEFAULT_CANVAS_BYTES_PER_SEC,
    });
  });

  it("tells canvas frames from other events", () => {
    const e = (type: number, data: unknown) => ({ type, data, timestamp: 0 }) as unknown as eventWithTime;
    expect(canvasFrameOf(e(EventType.IncrementalSnapshot, { source: IncrementalSource.CanvasMutation, id: 7 }))).toBe(7);
    expect(canvasFrameOf(e(EventType.IncrementalSnapshot, { source: IncrementalSource.Mutation }))).toBeUndefined();
    expect(canvasFrameOf(e(EventType.FullSnapshot, {}))).toBeUndefined();
  });
});

describe("canvas frames within the session's budget", () => {
  it("takes the smaller of the site's rate and a share of the server's", () => {
    const pacer = new CanvasFramePacer(1_000_000);
    expect(pacer.budget({ bytesPerSec: 100_000, eventsPerSec: 500 })).toEqual({
      bytesPerSec: 100_000 * CANVAS_SERVER_SHARE,
      framesPerSec: 50,
    });
    expect(pacer.budget(rates).bytesPerSec).toBe(1_000_000);
  });

  it("lets frames through while there is budget, then skips to the newest frame of each canvas", () => {
    const pacer = new CanvasFramePacer<string>(10_000); // bursts of 20 000 bytes
    pacer.offer(frame(1, 15_000));
    pacer.offer(frame(2, 15_000));
    // Both go: a frame goes while the bucket has anything left.
    expect(pacer.take(0, rates, 0).map((f) => f.frame)).toEqual(["1", "2"]);
    pacer.offer(frame(1, 5_000, "a"));
    pacer.offer(frame(1, 5_000, "b"));
    expect(pacer.take(500, rates, 0)).toEqual([]); // 10 000 in debt, 5 000 back
    expect(pacer.skipped).toBe(1);
    expect(pacer.nextTry(rates, 250)).toBe(501); // 5 000 bytes to win back at 10 000 a second
    expect(pacer.take(1_100, rates, 0).map((f) => f.frame)).toEqual(["1b"]);
  });

  it("holds frames back while DOM events wait for the server", () => {
    const pacer = new CanvasFramePacer<string>(10_000);
    pacer.offer(frame(1, 100));
    expect(pacer.take(0, rates, MAX_BACKLOG_BYTES + 1)).toEqual([]);
    expect(pacer.waiting).toBe(1);
    expect(pacer.nextTry(rates, 250)).toBe(250);
    expect(pacer.take(250, rates, 0).map((f) => f.frame)).toEqual(["1"]);
    expect(pacer.nextTry(rates, 250)).toBe(Number.POSITIVE_INFINITY);
  });

  it("keeps frames within a share of the session's event rate", () => {
    const pacer = new CanvasFramePacer<string>(1e9);
    const slow = { bytesPerSec: 1e9, eventsPerSec: 10 }; // 1 frame a second, bursts of 2
    for (let c = 0; c < 5; c++) pacer.offer(frame(c, 10));
    expect(pacer.take(0, slow, 0)).toHaveLength(2);
    expect(pacer.take(999, slow, 0)).toHaveLength(0);
    expect(pacer.take(2_000, slow, 0).map((f) => f.frame)).toEqual(["2", "3"]);
  });
});

describe("canvas frames on the page's clock", () => {
  it("records what fits now and the newest waiting frame of each canvas later", async () => {
    const { vi } = await import("vitest");
    const { CanvasFrames } = await import("../src/canvas-recording");
    vi.useFakeTimers();
    vi.setSystemTime(10_000);
    try {
      const recorded: eventWithTime[] = [];
      let backlog = 0;
      const frames = new CanvasFrames({
        settings: { fps: 2, quality: 0.6, bytesPerSec: 1_000 }, // bursts of 2 000 bytes
        rates: () => rates,
        backlogBytes: () => backlog,
        record: (e) => recorded.push(e),
      });
      const event = (id: number, n: number) =>
        ({ type: EventType.IncrementalSnapshot, timestamp: Date.now(), data: { source: IncrementalSource.CanvasMutation, id, n, pad: "x".repeat(1_500) } }) as unknown as eventWithTime;
      frames.offer(1, event(1, 1));
      frames.offer(1, event(1, 2)); // goes while anything is left of the burst, into debt
      frames.offer(1, event(1, 3)); // waits for the debt to be paid
      backlog = MAX_BACKLOG_BYTES + 1;
      frames.offer(1, event(1, 4)); // replaces 3
      expect(recorded.map((e) => (e.data as { n: number }).n)).toEqual([1, 2]);
      vi.advanceTimersByTime(5_000);
      expect(recorded).toHaveLength(2); // the DOM events' backlog holds it
      backlog = 0;
      vi.advanceTimersByTime(250);
      expect(recorded.map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 4]);
      // Stamped when it went into the recording, so the recording stays in time order.
      expect(recorded[2]!.timestamp).toBeGreaterThan(recorded[1]!.timestamp);
      frames.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
