import { describe, expect, it } from "vitest";
import { canvasBox, canvasIntrinsicSize, canvasSizingRule, insetsOf, NO_INSETS, viewportBox } from "../src/canvas-overlay";

const viewport = { width: 1280, height: 720 };

describe("canvas overlay", () => {
  it("puts the overlay layer over the replayed viewport as the player placed it", () => {
    expect(viewportBox({ scale: 0.5, left: 20, top: 10 }, viewport)).toEqual({ x: 20, y: 10, width: 640, height: 360 });
  });

  it("scales a canvas's box from the replay's viewport into the layer", () => {
    // A 300×150 canvas at (100, 200) of the user's viewport, the replay shown at half size.
    expect(canvasBox({ x: 100, y: 200, width: 300, height: 150 }, NO_INSETS, 0.5, viewport)).toEqual({ x: 50, y: 100, width: 150, height: 75 });
    // At full size it is where it is.
    expect(canvasBox({ x: 100, y: 200, width: 300, height: 150 }, NO_INSETS, 1, viewport)).toEqual({ x: 100, y: 200, width: 300, height: 150 });
  });

  it("covers the content box, inside border and padding", () => {
    const insets = { top: 2 + 8, right: 2 + 8, bottom: 2 + 8, left: 2 + 8 };
    expect(canvasBox({ x: 100, y: 200, width: 320, height: 170 }, insets, 0.5, viewport)).toEqual({ x: 55, y: 105, width: 150, height: 75 });
  });

  it("follows scrolling: a canvas partly above the viewport keeps its size, the layer cuts it", () => {
    expect(canvasBox({ x: 0, y: -100, width: 300, height: 150 }, NO_INSETS, 2, viewport)).toEqual({ x: 0, y: -200, width: 600, height: 300 });
  });

  it("shows nothing for a canvas scrolled out of view or without area", () => {
    expect(canvasBox({ x: 0, y: -150, width: 300, height: 150 }, NO_INSETS, 1, viewport)).toBeNull();
    expect(canvasBox({ x: 0, y: 720, width: 300, height: 150 }, NO_INSETS, 1, viewport)).toBeNull();
    expect(canvasBox({ x: 1280, y: 0, width: 300, height: 150 }, NO_INSETS, 1, viewport)).toBeNull();
    expect(canvasBox({ x: 10, y: 10, width: 0, height: 150 }, NO_INSETS, 1, viewport)).toBeNull();
    expect(canvasBox({ x: 10, y: 10, width: 300, height: 150 }, NO_INSETS, 0, viewport)).toBeNull();
  });

  it("reads border and padding from a computed style", () => {
    expect(
      insetsOf({
        borderTopWidth: "1px",
        borderRightWidth: "2px",
        borderBottomWidth: "3px",
        borderLeftWidth: "4px",
        paddingTop: "10px",
        paddingRight: "0px",
        paddingBottom: "",
        paddingLeft: "0.5px",
      }),
    ).toEqual({ top: 11, right: 2, bottom: 3, left: 4.5 });
  });

  it("reads a canvas's size from its attributes as HTML does", () => {
    expect(canvasIntrinsicSize("640", "480")).toEqual({ width: 640, height: 480 });
    expect(canvasIntrinsicSize(null, null)).toEqual({ width: 300, height: 150 });
    expect(canvasIntrinsicSize(" 200px", "x")).toEqual({ width: 200, height: 150 });
  });

  it("gives replayed canvases their page size at zero specificity", () => {
    expect(canvasSizingRule("640", "480")).toBe(
      ':where(canvas[width="640"][height="480"]) { display: inline-block; width: 640px; aspect-ratio: 640 / 480; }',
    );
    expect(canvasSizingRule(null, "100")).toBe(
      ':where(canvas:not([width])[height="100"]) { display: inline-block; width: 300px; aspect-ratio: 300 / 100; }',
    );
    // Attribute values are quoted as CSS strings, whatever they hold.
    expect(canvasSizingRule('1"0', "5")).toContain('[width="1\\"0"]');
    expect(canvasSizingRule("0", "150")).toBeNull();
  });
});
