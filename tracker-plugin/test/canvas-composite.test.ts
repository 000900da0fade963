import { describe, expect, it } from "vitest";

import { STATIC_FRAME_MS, captureScale, frameDue, probeChanged } from "../src/canvas-composite";

describe("when a canvas's video gets a frame", () => {
  it("sends the first frame at once, without waiting for a redraw", () => {
    expect(frameDue(0, undefined, false)).toBe(true);
  });

  it("sends a changed canvas on the next tick", () => {
    expect(frameDue(1_066, 1_000, true)).toBe(true);
  });

  it("sends a static canvas again once a second", () => {
    expect(frameDue(1_000 + STATIC_FRAME_MS - 1, 1_000, false)).toBe(false);
    expect(frameDue(1_000 + STATIC_FRAME_MS, 1_000, false)).toBe(true);
  });

  it("compares the small copies pixel by pixel", () => {
    const a = new Uint8ClampedArray([1, 2, 3, 4]);
    expect(probeChanged(null, a)).toBe(true);
    expect(probeChanged(a, new Uint8ClampedArray([1, 2, 3, 4]))).toBe(false);
    expect(probeChanged(a, new Uint8ClampedArray([1, 2, 3, 5]))).toBe(true);
    expect(probeChanged(a, new Uint8ClampedArray([1, 2, 3]))).toBe(true);
  });

  it("sends a small canvas at twice its size, so colour edges survive 4:2:0 video, and a large one as it is", () => {
    expect(captureScale(320, 160)).toBe(2);
    expect(captureScale(640, 480)).toBe(2);
    expect(captureScale(1280, 720)).toBe(1);
  });
});
