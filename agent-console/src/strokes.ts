// Annotation strokes as the agent draws them (protocol.md §9.2 `Stroke`): which points a tool
// sends, ids, and how a stroke fades. The page fades strokes after a few seconds (the laser after
// about one); the agent's own copy fades the same way, so both see the same picture. Pure.

import type { Point } from "./coords";
import type { Stroke, StrokeTool } from "./protocol";

/** The most points one stroke may carry. */
export const MAX_POINTS = 1000;

/** How often the laser sends what it drew since the last send, ms. */
export const LASER_INTERVAL_MS = 50;

/** How long a stroke stays fully visible, then how long it takes to fade out, ms. */
const HOLD_MS: Record<StrokeTool, number> = { pen: 3000, arrow: 3000, rect: 3000, laser: 0 };
const FADE_MS: Record<StrokeTool, number> = { pen: 1000, arrow: 1000, rect: 1000, laser: 1000 };

/** The points a finished drag sends: arrow and rect need only its ends, pen and laser the path. */
export function strokePoints(tool: StrokeTool, path: readonly Point[]): Array<[number, number]> {
  const pairs = path.map((p): [number, number] => [Math.round(p.x), Math.round(p.y)]);
  if (pairs.length === 0) return [];
  if (tool === "arrow" || tool === "rect") return [pairs[0]!, pairs[pairs.length - 1]!];
  if (pairs.length <= MAX_POINTS) return pairs;
  // Keep the shape: evenly spaced points, the last one included.
  const step = (pairs.length - 1) / (MAX_POINTS - 1);
  return Array.from({ length: MAX_POINTS }, (_, i) => pairs[Math.round(i * step)]!);
}

let counter = 0;

/** A fresh stroke id (≤ 64 characters), unique within this console. */
export function newStrokeId(tool: StrokeTool): string {
  counter += 1;
  return `${tool}-${Date.now().toString(36)}-${counter}`;
}

export function makeStroke(tool: StrokeTool, color: string, path: readonly Point[]): Stroke | null {
  const points = strokePoints(tool, path);
  return points.length === 0 ? null : { id: newStrokeId(tool), tool, color, points };
}

/** Opacity of a stroke `ageMs` after it was drawn: 1, then down to 0 (gone). */
export function strokeOpacity(tool: StrokeTool, ageMs: number): number {
  const hold = HOLD_MS[tool];
  const fade = FADE_MS[tool];
  if (ageMs <= hold) return 1;
  return Math.max(0, 1 - (ageMs - hold) / fade);
}

/** A valid `#rrggbb` colour, or the default red. */
export function strokeColor(value: string): string {
  return /^#[0-9a-fA-F]{6}$/.test(value) ? value.toLowerCase() : "#e0353b";
}

/** The two ends of an arrow's head at `to`, for an arrow drawn from `from`, `size` px long. */
export function arrowHead(from: Point, to: Point, size: number): [Point, Point] {
  const angle = Math.atan2(to.y - from.y, to.x - from.x);
  const spread = Math.PI / 7;
  return [
    { x: to.x - size * Math.cos(angle - spread), y: to.y - size * Math.sin(angle - spread) },
    { x: to.x - size * Math.cos(angle + spread), y: to.y - size * Math.sin(angle + spread) },
  ];
}
