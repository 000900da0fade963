// Generated from src/protocol/input.rs by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.


/**
 * One input of a controlling agent on the user's page. Coordinates are CSS pixels of the user's
 * viewport; `id` is the target's rrweb node id.
 */
export type ControlInput =
  | { "action": "move", x: number, y: number, }
  | { "action": "click", id: number, x: number, y: number, }
  | { "action": "dblclick", id: number, x: number, y: number, }
  | { "action": "scroll", id?: number | null, x: number, y: number, }
  | { "action": "key", key: string, id?: number | null, }
  | { "action": "input", id: number, value: string, }
  | { "action": "select", id: number, value: string, }
  | { "action": "focus", id: number, }
  | { "action": "navigate", to: NavigateTo, url?: string | null, };

export type NavigateTo =
  | "back"
  | "forward"
  | "reload"
  | "url";

/**
 * An annotation stroke; points are page coordinates (CSS pixels from the document's top-left),
 * so the stroke stays on what it marks when the page scrolls.
 */
export type Stroke = { id: string, tool: StrokeTool, color: string, points: Array<[number, number]>, };

export type StrokeTool =
  | "pen"
  | "arrow"
  | "rect"
  | "laser";
