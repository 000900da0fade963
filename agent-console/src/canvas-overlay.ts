// Where a `<canvas>` of the user's page shows on the agent's stage, so the video the page streams
// of it (protocol.md §10, `media: "canvas"`) can lie exactly over its place in the replay.
//
// The live player shows the user's viewport scaled to fit the stage (`Placement`: scale, then
// offset by `left`, `top`; coords.ts). Inside the replay iframe, `getBoundingClientRect()` of the
// replayed canvas is in CSS px of that viewport, already scrolled. The canvas draws into its
// content box (inside border and padding), stretched to it, so that is the box the video covers.
// The overlays sit in a layer cut to the replayed viewport, so a canvas scrolled partly out of
// view is cut where the page cuts it.
//
// rrweb's replay iframe is sandboxed without scripts, and a `<canvas>` in a document without
// scripting is not drawn as a canvas but as its fallback content: an empty inline box, so the
// replayed canvas has no size and the page around it closes up. `canvasSizingRule` gives it back
// the size a canvas has on the user's page (its `width`/`height` attributes, 300×150 by default)
// with zero specificity, so whatever the page's own CSS says about its size still wins.
// Pure functions, unit tested.

import type { Placement, Size } from "./coords";

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Border plus padding on each side of an element, CSS px. */
export interface Insets {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export const NO_INSETS: Insets = { top: 0, right: 0, bottom: 0, left: 0 };

/** The replayed viewport's box on the stage: where the overlay layer goes (it clips to it). */
export function viewportBox(placement: Placement, viewport: Size): Rect {
  return {
    x: placement.left,
    y: placement.top,
    width: viewport.width * placement.scale,
    height: viewport.height * placement.scale,
  };
}

/**
 * The box of a canvas's video inside the overlay layer (`viewportBox`), from the canvas's
 * bounding rect in the replayed viewport and its border and padding. Null when the canvas has
 * no area or lies wholly outside the viewport (nothing to show).
 */
export function canvasBox(rect: Rect, insets: Insets, scale: number, viewport: Size): Rect | null {
  const x = rect.x + insets.left;
  const y = rect.y + insets.top;
  const width = rect.width - insets.left - insets.right;
  const height = rect.height - insets.top - insets.bottom;
  if (width <= 0 || height <= 0 || scale <= 0) return null;
  if (x >= viewport.width || y >= viewport.height || x + width <= 0 || y + height <= 0) return null;
  return { x: x * scale, y: y * scale, width: width * scale, height: height * scale };
}

/** What `insetsOf` reads of a computed style. */
export type BoxStyle = Pick<
  CSSStyleDeclaration,
  "borderTopWidth" | "borderRightWidth" | "borderBottomWidth" | "borderLeftWidth" | "paddingTop" | "paddingRight" | "paddingBottom" | "paddingLeft"
>;

/** Border and padding from an element's computed style. */
export function insetsOf(style: BoxStyle): Insets {
  const px = (v: string) => {
    const n = parseFloat(v);
    return Number.isFinite(n) ? n : 0;
  };
  return {
    top: px(style.borderTopWidth) + px(style.paddingTop),
    right: px(style.borderRightWidth) + px(style.paddingRight),
    bottom: px(style.borderBottomWidth) + px(style.paddingBottom),
    left: px(style.borderLeftWidth) + px(style.paddingLeft),
  };
}

/** A canvas's intrinsic size from its `width`/`height` attributes, as HTML reads them. */
export function canvasIntrinsicSize(width: string | null, height: string | null): Size {
  const read = (v: string | null, fallback: number) => {
    const m = v === null ? null : /^\s*\+?(\d+)/.exec(v);
    return m ? Number(m[1]) : fallback;
  };
  return { width: read(width, 300), height: read(height, 150) };
}

/** A CSS string literal. */
function cssString(v: string): string {
  return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\a ")}"`;
}

/**
 * The CSS rule that sizes the replayed canvases with these attribute values as the user's page
 * sizes them, at zero specificity (`:where`), so the page's own rules win. Null when the
 * attributes give nothing to draw.
 */
export function canvasSizingRule(width: string | null, height: string | null): string | null {
  const size = canvasIntrinsicSize(width, height);
  if (size.width === 0 || size.height === 0) return null;
  const attr = (name: string, v: string | null) => (v === null ? `:not([${name}])` : `[${name}=${cssString(v)}]`);
  return `:where(canvas${attr("width", width)}${attr("height", height)}) { display: inline-block; width: ${size.width}px; aspect-ratio: ${size.width} / ${size.height}; }`;
}
