import { describe, expect, it } from "vitest";

import { WHITE, backgroundBehind, blendBackgrounds, cssColour, parseColour } from "../src/canvas-background";

describe("the colour behind a canvas", () => {
  it("reads computed colours as browsers serialize them", () => {
    expect(parseColour("rgb(255, 0, 10)")).toEqual({ r: 255, g: 0, b: 10, a: 1 });
    expect(parseColour("rgba(0, 0, 0, 0)")).toEqual({ r: 0, g: 0, b: 0, a: 0 });
    expect(parseColour("rgb(10 20 30 / 50%)")).toEqual({ r: 10, g: 20, b: 30, a: 0.5 });
    expect(parseColour("transparent")?.a).toBe(0);
    expect(parseColour("oklch(0.7 0.1 200)")).toBeNull();
    expect(parseColour("rgb(1, 2)")).toBeNull();
  });

  it("stops at the first opaque background and blends the translucent ones above it", () => {
    const red = { r: 255, g: 0, b: 0, a: 1 };
    const blue = { r: 0, g: 0, b: 255, a: 1 };
    const halfBlack = { r: 0, g: 0, b: 0, a: 0.5 };
    expect(blendBackgrounds([{ r: 0, g: 0, b: 0, a: 0 }, red, blue])).toEqual(red);
    expect(blendBackgrounds([halfBlack, red])).toEqual({ r: 127.5, g: 0, b: 0, a: 1 });
    // Two translucent layers: the outer one is blended first.
    expect(cssColour(blendBackgrounds([halfBlack, halfBlack, red]))).toBe("rgb(64, 0, 0)");
  });

  it("is white when nothing on the way is opaque", () => {
    expect(blendBackgrounds([])).toEqual(WHITE);
    expect(blendBackgrounds([{ r: 0, g: 0, b: 0, a: 0 }])).toEqual(WHITE);
  });

  it("walks up from the canvas to the nearest opaque ancestor", () => {
    document.body.innerHTML = `
      <div id="card" style="background-color: rgb(250, 240, 200)">
        <div style="background-color: rgba(0, 0, 0, 0)"><canvas id="c"></canvas></div>
      </div>`;
    expect(backgroundBehind(document.getElementById("c")!)).toEqual({ r: 250, g: 240, b: 200, a: 1 });
    document.getElementById("card")!.style.backgroundColor = "";
    expect(backgroundBehind(document.getElementById("c")!)).toEqual(WHITE);
  });

  it("crosses shadow roots to their host", () => {
    document.body.innerHTML = `<div id="host" style="background-color: rgb(0, 128, 0)"></div>`;
    const root = document.getElementById("host")!.attachShadow({ mode: "open" });
    root.innerHTML = `<canvas></canvas>`;
    expect(backgroundBehind(root.querySelector("canvas")!)).toEqual({ r: 0, g: 128, b: 0, a: 1 });
  });
});
