// CompositeCanvas against a fake 2D context and capture track (jsdom draws nothing).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { CompositeCanvas, PROBE_SIZE } from "../src/canvas-composite";

interface FakePen {
  fills: string[];
  draws: number;
  fillStyle: string;
}

describe("a canvas's video", () => {
  let pens: Map<HTMLCanvasElement, FakePen>;
  let pixels: number;
  let requestFrame: ReturnType<typeof vi.fn>;
  let source: HTMLCanvasElement;

  beforeEach(() => {
    pens = new Map();
    pixels = 0;
    requestFrame = vi.fn();
    (globalThis as { CanvasCaptureMediaStreamTrack?: unknown }).CanvasCaptureMediaStreamTrack = class {};
    HTMLCanvasElement.prototype.getContext = function (this: HTMLCanvasElement) {
      const pen: FakePen & Record<string, unknown> = {
        fills: [],
        draws: 0,
        fillStyle: "",
        fillRect() {
          pen.fills.push(pen.fillStyle);
        },
        drawImage() {
          pen.draws += 1;
        },
        clearRect() {},
        getImageData: () => ({ data: new Uint8ClampedArray(PROBE_SIZE * PROBE_SIZE * 4).fill(pixels) }),
      };
      pens.set(this, pen);
      return pen;
    } as unknown as typeof HTMLCanvasElement.prototype.getContext;
    Object.defineProperty(HTMLCanvasElement.prototype, "captureStream", {
      configurable: true,
      value: (fps: number) => ({ getVideoTracks: () => [{ readyState: "live", requestFrame, fps, stop: vi.fn() }] }),
    });
    document.body.innerHTML = `<div style="background-color: rgb(253, 230, 138)"><canvas width="320" height="160"></canvas></div>`;
    source = document.querySelector("canvas")!;
  });
  afterEach(() => {
    HTMLCanvasElement.prototype.getContext = () => null;
    delete (HTMLCanvasElement.prototype as { captureStream?: unknown }).captureStream;
    delete (globalThis as { CanvasCaptureMediaStreamTrack?: unknown }).CanvasCaptureMediaStreamTrack;
  });

  /** The composite: twice the 320×160 canvas's size (captureScale). */
  const composite = (): FakePen => [...pens.entries()].find(([c]) => c.width === 640 && c.height === 320)![1];

  it("sends its first frame at once, over the colour behind the canvas, from a capture that waits to be asked", () => {
    const c = CompositeCanvas.open(source, 0)!;
    expect(c).not.toBeNull();
    expect((c.track as unknown as { fps: number }).fps).toBe(0);
    expect(requestFrame).toHaveBeenCalledTimes(1);
    expect(composite().fills).toEqual(["rgb(253, 230, 138)"]);
  });

  it("sends a static canvas once a second, and a changing one on every tick", () => {
    const c = CompositeCanvas.open(source, 0)!;
    c.tick(66);
    c.tick(500);
    expect(requestFrame).toHaveBeenCalledTimes(1);
    c.tick(1000);
    expect(requestFrame).toHaveBeenCalledTimes(2);
    pixels = 1; // the page drew something
    c.tick(1066);
    expect(requestFrame).toHaveBeenCalledTimes(3);
    c.tick(1133);
    expect(requestFrame).toHaveBeenCalledTimes(3);
  });

  it("follows a change of the page's background", () => {
    const c = CompositeCanvas.open(source, 0)!;
    (source.parentElement as HTMLElement).style.backgroundColor = "rgb(0, 0, 255)";
    c.tick(1000);
    expect(composite().fills.at(-1)).toBe("rgb(0, 0, 255)");
  });

  it("gives up where a canvas cannot be captured", () => {
    Object.defineProperty(HTMLCanvasElement.prototype, "captureStream", {
      configurable: true,
      value: () => {
        throw new DOMException("tainted", "SecurityError");
      },
    });
    expect(CompositeCanvas.open(source, 0)).toBeNull();
  });
});
