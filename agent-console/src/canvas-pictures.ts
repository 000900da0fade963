// What the recording says a page's `<canvas>` elements show, for replays that draw no canvas.
//
// A tracker with `canvasRecording` records each canvas as pictures (tracker-plugin
// canvas-recording.ts): a WebP data URL in the canvas's `rr_dataURL` attribute in full snapshots
// and added nodes, and rrweb's sampled frames (a `CanvasMutation` of `clearRect` then `drawImage`
// of one image at 0,0). rrweb's own canvas replay draws them with script into the replayed
// canvas (`UNSAFE_replayCanvas`), which needs `allow-scripts` on the replay iframe — and a
// replayed page is hostile input, so the console's replay stays without scripts. Without
// scripting a canvas shows its fallback content, not its bitmap; but it is still a box, and a box
// can have a background image. So the console keeps the latest picture of every canvas and lays
// it as the canvas's background (canvas-picture-layer.ts). Pure functions, unit tested.

import { EventType, IncrementalSource, type RrwebEvent } from "./rrweb-events";

/** The latest picture of each canvas, as a data URL, by rrweb id. */
export type CanvasPictures = Map<number, string>;

interface SnapshotNode {
  id?: unknown;
  tagName?: unknown;
  attributes?: Record<string, unknown>;
  childNodes?: SnapshotNode[];
}

/**
 * A base64 image data URL and nothing else: the recording comes from the user's browser, and the
 * URL goes into a CSS rule of the replayed document.
 */
export function isImageDataUrl(url: string): boolean {
  return /^data:image\/[a-z0-9.+-]+;base64,[A-Za-z0-9+/]*={0,2}$/.test(url);
}

/** Every canvas picture in a serialized node tree (a full snapshot or an added node). */
function collect(node: SnapshotNode | undefined, into: CanvasPictures): void {
  if (node === undefined || node === null) return;
  const url = node.attributes?.["rr_dataURL"];
  if (node.tagName === "canvas" && typeof node.id === "number" && typeof url === "string" && isImageDataUrl(url)) {
    into.set(node.id, url);
  }
  for (const child of node.childNodes ?? []) collect(child, into);
}

interface Command {
  property?: unknown;
  args?: unknown[];
}

/** rrweb's serialized `ImageBitmap` of a `Blob` of one base64 `ArrayBuffer`, as a data URL. */
function imageOf(arg: unknown): string | null {
  const bitmap = arg as { rr_type?: unknown; args?: unknown[] } | null;
  if (bitmap?.rr_type !== "ImageBitmap") return null;
  const blob = bitmap.args?.[0] as { rr_type?: unknown; type?: unknown; data?: unknown[] } | undefined;
  if (blob?.rr_type !== "Blob" || typeof blob.type !== "string" || !blob.type.startsWith("image/")) return null;
  const buffer = blob.data?.[0] as { rr_type?: unknown; base64?: unknown } | undefined;
  if (buffer?.rr_type !== "ArrayBuffer" || typeof buffer.base64 !== "string") return null;
  const url = `data:${blob.type};base64,${buffer.base64}`;
  return isImageDataUrl(url) ? url : null;
}

/**
 * The picture a canvas mutation leaves: the image of a sampled frame (`clearRect` and one
 * `drawImage` at 0,0), `""` for a cleared canvas, or null for anything else (drawing commands
 * a picture cannot stand for; the last picture stays).
 */
export function pictureOfCommands(commands: readonly Command[]): string | null {
  const draw = commands.find((c) => c.property === "drawImage");
  if (draw === undefined) return commands.length > 0 && commands.every((c) => c.property === "clearRect") ? "" : null;
  const first = commands[0];
  if (first?.property !== "clearRect" || commands.length !== 2 || draw.args?.[1] !== 0 || draw.args?.[2] !== 0) return null;
  return imageOf(draw.args?.[0]);
}

/** Brings `pictures` up to date with `event`; says whether anything changed. */
export function applyCanvasEvent(pictures: CanvasPictures, event: RrwebEvent): boolean {
  const data = event.data as Record<string, unknown>;
  if (event.type === EventType.FullSnapshot) {
    // A new document: the canvases of the old one are gone.
    const had = pictures.size;
    pictures.clear();
    collect(data["node"] as SnapshotNode, pictures);
    return had > 0 || pictures.size > 0;
  }
  if (event.type !== EventType.IncrementalSnapshot) return false;
  if (data["source"] === IncrementalSource.Mutation) {
    let changed = false;
    for (const removed of (data["removes"] as { id?: unknown }[] | undefined) ?? []) {
      if (typeof removed.id === "number") changed = pictures.delete(removed.id) || changed;
    }
    for (const added of (data["adds"] as { node?: SnapshotNode }[] | undefined) ?? []) {
      const before = pictures.size;
      const found: CanvasPictures = new Map();
      collect(added.node, found);
      for (const [id, url] of found) pictures.set(id, url);
      changed = changed || found.size > 0 || pictures.size !== before;
    }
    return changed;
  }
  if (data["source"] === IncrementalSource.CanvasMutation && typeof data["id"] === "number") {
    const commands = Array.isArray(data["commands"]) ? (data["commands"] as Command[]) : [];
    const picture = pictureOfCommands(commands);
    if (picture === null) return false;
    if (picture === "") return pictures.delete(data["id"]);
    if (pictures.get(data["id"]) === picture) return false;
    pictures.set(data["id"], picture);
    return true;
  }
  return false;
}

/** Whether an event brings canvases into the replayed document (which then need their size). */
export function addsCanvases(event: RrwebEvent): boolean {
  const hasCanvas = (node: SnapshotNode | undefined): boolean =>
    node !== undefined && node !== null && (node.tagName === "canvas" || (node.childNodes ?? []).some(hasCanvas));
  if (event.type === EventType.FullSnapshot) return true;
  const data = event.data as Record<string, unknown>;
  if (event.type !== EventType.IncrementalSnapshot || data["source"] !== IncrementalSource.Mutation) return false;
  return ((data["adds"] as { node?: SnapshotNode }[] | undefined) ?? []).some((a) => hasCanvas(a.node));
}

/** The attribute that names a replayed canvas for its picture's rule. */
export const PICTURE_ATTRIBUTE = "data-cobrowse-picture";

/**
 * The rule that lays `url` over the replayed canvas `id`'s content box, stretched as the canvas
 * stretches its bitmap. `!important` because the page's own CSS may give the canvas a background.
 */
export function pictureRule(id: number, url: string): string {
  return `canvas[${PICTURE_ATTRIBUTE}="${id}"] { background: url("${url}") 0 0 / 100% 100% no-repeat content-box !important; }`;
}
