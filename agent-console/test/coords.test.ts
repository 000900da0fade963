import { describe, expect, it } from "vitest";
import { pageToStage, rounded, scrolledBy, stageToViewport, viewportToPage, wheelPixels } from "../src/coords";
import { fitInto } from "../src/timeline";

describe("from the agent's screen to the user's page", () => {
  // A 1280×720 viewport shown in a 960×800 stage: scale 0.75, centered vertically (top 130).
  const viewport = { width: 1280, height: 720 };
  const placement = fitInto(1280, 720, 960, 800);

  it("uses the player's own scaling", () => {
    expect(placement).toEqual({ scale: 0.75, left: 0, top: 130 });
  });

  it("maps a stage point into viewport coordinates of the user's page", () => {
    expect(stageToViewport({ x: 0, y: 130 }, placement, viewport)).toEqual({ x: 0, y: 0 });
    expect(stageToViewport({ x: 480, y: 400 }, placement, viewport)).toEqual({ x: 640, y: 360 });
    expect(stageToViewport({ x: 75, y: 205 }, placement, viewport)).toEqual({ x: 100, y: 100 });
  });

  it("finds nothing outside the shown page (the letterbox around it)", () => {
    expect(stageToViewport({ x: 100, y: 120 }, placement, viewport)).toBeNull();
    expect(stageToViewport({ x: 100, y: 670 }, placement, viewport)).toBeNull();
    expect(stageToViewport({ x: -1, y: 300 }, placement, viewport)).toBeNull();
  });

  it("maps a centered, unscaled page", () => {
    const p = fitInto(800, 600, 1000, 600);
    expect(p).toEqual({ scale: 1, left: 100, top: 0 });
    expect(stageToViewport({ x: 150, y: 20 }, p, { width: 800, height: 600 })).toEqual({ x: 50, y: 20 });
  });

  it("adds the document's scroll for page coordinates, and takes it back to draw", () => {
    const scroll = { x: 0, y: 1500 };
    const page = viewportToPage({ x: 640, y: 360 }, scroll);
    expect(page).toEqual({ x: 640, y: 1860 });
    expect(pageToStage(page, scroll, placement)).toEqual({ x: 480, y: 400 });
    // Once the page scrolled further down, the mark moves up with what it marks.
    expect(pageToStage(page, { x: 0, y: 1600 }, placement)).toEqual({ x: 480, y: 325 });
  });

  it("rounds to whole CSS pixels for the wire", () => {
    expect(rounded({ x: 10.4, y: 10.6 })).toEqual({ x: 10, y: 11 });
  });
});

describe("scrolling", () => {
  it("turns line and page wheel deltas into pixels", () => {
    expect(wheelPixels({ x: 0, y: 3 }, 1, { width: 1280, height: 720 })).toEqual({ x: 0, y: 48 });
    expect(wheelPixels({ x: 0, y: 1 }, 2, { width: 1280, height: 720 })).toEqual({ x: 0, y: 720 });
    expect(wheelPixels({ x: 5, y: 100 }, 0, { width: 1280, height: 720 })).toEqual({ x: 5, y: 100 });
  });

  it("scrolls from the current position and stays within the page", () => {
    expect(scrolledBy({ x: 0, y: 100 }, { x: 0, y: 120 }, { x: 0, y: 2000 })).toEqual({ x: 0, y: 220 });
    expect(scrolledBy({ x: 0, y: 100 }, { x: -50, y: -300 }, { x: 0, y: 2000 })).toEqual({ x: 0, y: 0 });
    expect(scrolledBy({ x: 0, y: 1990 }, { x: 0, y: 100.4 }, { x: 0, y: 2000 })).toEqual({ x: 0, y: 2000 });
  });
});
