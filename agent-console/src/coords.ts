// Where a point on the agent's screen is on the user's page. The live player shows the user's
// viewport scaled to fit the stage (`fitInto` in timeline.ts: `scale`, then offset by `left`,
// `top` to center it), and the page inside that viewport is scrolled. Three spaces meet here:
// - stage: CSS px from the stage's (and the player's) top-left, where the agent's pointer is;
// - viewport: CSS px of the user's viewport, what `control` inputs carry (protocol.md §9.2);
// - page: viewport + the document's scroll offset, what strokes carry, so a mark stays on what it
//   marks when the page scrolls.
// Pure functions, unit tested.

export interface Point {
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
}

/** How the replayed viewport sits on the stage (what `fitInto` returns). */
export interface Placement {
  scale: number;
  left: number;
  top: number;
}

/** A stage point in the user's viewport; null when it is outside the shown page. */
export function stageToViewport(p: Point, placement: Placement, viewport: Size): Point | null {
  if (placement.scale <= 0) return null;
  const x = (p.x - placement.left) / placement.scale;
  const y = (p.y - placement.top) / placement.scale;
  if (x < 0 || y < 0 || x >= viewport.width || y >= viewport.height) return null;
  return { x, y };
}

/** A viewport point in page coordinates, given the document's scroll offset. */
export function viewportToPage(p: Point, scroll: Point): Point {
  return { x: p.x + scroll.x, y: p.y + scroll.y };
}

/** Where a page point shows on the stage now (for drawing the agent's own strokes). */
export function pageToStage(p: Point, scroll: Point, placement: Placement): Point {
  return {
    x: (p.x - scroll.x) * placement.scale + placement.left,
    y: (p.y - scroll.y) * placement.scale + placement.top,
  };
}

/** Whole CSS pixels, as the wire carries them. */
export function rounded(p: Point): Point {
  return { x: Math.round(p.x), y: Math.round(p.y) };
}

/** `WheelEvent.deltaMode` values. */
const DOM_DELTA_LINE = 1;
const DOM_DELTA_PAGE = 2;
/** Pixels per "line" of a line-based wheel (Firefox on some systems). */
const LINE_PX = 16;

/** A wheel event's delta in CSS pixels of the page it scrolls (`page` = that page's viewport). */
export function wheelPixels(delta: Point, deltaMode: number, page: Size): Point {
  if (deltaMode === DOM_DELTA_LINE) return { x: delta.x * LINE_PX, y: delta.y * LINE_PX };
  if (deltaMode === DOM_DELTA_PAGE) return { x: delta.x * page.width, y: delta.y * page.height };
  return delta;
}

/**
 * The scroll position after scrolling by `delta` from `current`, kept within `0…max` (max =
 * scrollWidth − clientWidth, scrollHeight − clientHeight), in whole pixels.
 */
export function scrolledBy(current: Point, delta: Point, max: Point): Point {
  const clamp = (v: number, hi: number) => Math.round(Math.min(Math.max(0, hi), Math.max(0, v)));
  return { x: clamp(current.x + delta.x, max.x), y: clamp(current.y + delta.y, max.y) };
}
