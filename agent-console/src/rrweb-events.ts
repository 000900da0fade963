// Just enough of rrweb's event format to reason about events without loading rrweb itself (the
// numbers are rrweb's `EventType` and `IncrementalSource`, part of its recorded format).

export const EventType = {
  DomContentLoaded: 0,
  Load: 1,
  FullSnapshot: 2,
  IncrementalSnapshot: 3,
  Meta: 4,
  Custom: 5,
  Plugin: 6,
} as const;

export const IncrementalSource = {
  Mutation: 0,
  MouseMove: 1,
  MouseInteraction: 2,
  Scroll: 3,
  ViewportResize: 4,
  Input: 5,
  TouchMove: 6,
  MediaInteraction: 7,
  StyleSheetRule: 8,
  CanvasMutation: 9,
  Font: 10,
  Log: 11,
  Drag: 12,
  StyleDeclaration: 13,
  Selection: 14,
  AdoptedStyleSheet: 15,
  CustomElement: 16,
} as const;

/** The shape every rrweb event has. */
export interface RrwebEvent {
  type: number;
  data: unknown;
  timestamp: number;
}

export function isRrwebEvent(v: unknown): v is RrwebEvent {
  if (typeof v !== "object" || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e["type"] === "number" && typeof e["timestamp"] === "number" && "data" in e;
}

function dataOf(e: RrwebEvent): Record<string, unknown> {
  return typeof e.data === "object" && e.data !== null ? (e.data as Record<string, unknown>) : {};
}

/** The incremental source of an IncrementalSnapshot event, else null. */
export function sourceOf(e: RrwebEvent): number | null {
  if (e.type !== EventType.IncrementalSnapshot) return null;
  const s = dataOf(e)["source"];
  return typeof s === "number" ? s : null;
}

/** Sources that come from the user doing something (rather than the page changing by itself). */
const USER_SOURCES = new Set<number>([
  IncrementalSource.MouseMove,
  IncrementalSource.MouseInteraction,
  IncrementalSource.Scroll,
  IncrementalSource.ViewportResize,
  IncrementalSource.Input,
  IncrementalSource.TouchMove,
  IncrementalSource.Drag,
  IncrementalSource.Selection,
]);

/**
 * Whether an event says the user is on this tab right now: a page load (Meta, FullSnapshot) or
 * an interaction. Mutations, style changes and console output do not count: a background tab
 * produces those too.
 */
export function isUserActivity(e: RrwebEvent): boolean {
  if (e.type === EventType.Meta || e.type === EventType.FullSnapshot) return true;
  const s = sourceOf(e);
  return s !== null && USER_SOURCES.has(s);
}

export interface Viewport {
  width: number;
  height: number;
}

/** The viewport an event announces (Meta, or a ViewportResize), else null. */
export function viewportOf(e: RrwebEvent): Viewport | null {
  const d = dataOf(e);
  const announces =
    e.type === EventType.Meta || sourceOf(e) === IncrementalSource.ViewportResize;
  if (!announces) return null;
  const { width, height } = d;
  if (typeof width !== "number" || typeof height !== "number") return null;
  return { width, height };
}

/** The page address a Meta event announces, else null. */
export function hrefOf(e: RrwebEvent): string | null {
  if (e.type !== EventType.Meta) return null;
  const href = dataOf(e)["href"];
  return typeof href === "string" ? href : null;
}

/**
 * When an event starts to play. rrweb batches mouse positions: a MouseMove event carries
 * positions with negative `timeOffset`s before its own timestamp, and rrweb schedules it from the
 * first one.
 */
export function playTimeOf(e: RrwebEvent): number {
  const s = sourceOf(e);
  if (s === IncrementalSource.MouseMove || s === IncrementalSource.TouchMove || s === IncrementalSource.Drag) {
    const positions = dataOf(e)["positions"];
    if (Array.isArray(positions) && positions.length > 0) {
      const first = positions[0] as { timeOffset?: unknown };
      if (typeof first.timeOffset === "number") return e.timestamp + first.timeOffset;
    }
  }
  return e.timestamp;
}
