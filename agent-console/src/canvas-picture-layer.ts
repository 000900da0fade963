// Lays the recorded pictures of a page's canvases (canvas-pictures.ts) over the replayed
// canvases, in any rrweb replay: given to the `Replayer` as a plugin, it sees every event the
// replay applies, keeps each canvas's latest picture, and after each batch of events (a seek
// applies hundreds at once, partly in rrweb's virtual DOM) names each replayed canvas with an
// attribute and gives it a `<style>` of its own with its picture as background. A full snapshot
// rebuilds the document, styles included, so the next paint puts them back.
//
// It also gives every replayed canvas the size it has on the user's page (canvas-layer.ts): a
// script-less replay draws a canvas as an empty inline box, and the page around it closes up.

import type { ReplayPlugin, Replayer, eventWithTime } from "rrweb";
import { ensureCanvasSizing } from "./canvas-layer";
import { type CanvasPictures, PICTURE_ATTRIBUTE, addsCanvases, applyCanvasEvent, pictureRule } from "./canvas-pictures";

const STYLE_PREFIX = "cobrowse-picture-";

export class CanvasPictureLayer {
  private readonly pictures: CanvasPictures = new Map();
  private replayer: Replayer | null = null;
  private scheduled = false;

  /** The plugin for the `Replayer`'s `plugins` option. */
  readonly plugin: ReplayPlugin = {
    handler: (event: eventWithTime, _isSync: boolean, { replayer }: { replayer: Replayer }) => {
      this.replayer = replayer;
      const changed = applyCanvasEvent(this.pictures, event as { type: number; data: unknown; timestamp: number });
      if (changed || addsCanvases(event as { type: number; data: unknown; timestamp: number })) this.schedule();
    },
  };

  /** Repaints once the replay has rebuilt its document (also when rrweb does it unasked). */
  attach(replayer: Replayer): void {
    this.replayer = replayer;
    replayer.on("fullsnapshot-rebuilded", () => this.schedule());
  }

  /** How many canvases have a picture now (for tests and the console's status). */
  get size(): number {
    return this.pictures.size;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      this.paint();
    }, 0);
  }

  /** Puts every canvas's picture on the replayed canvas; removes the pictures of those gone. */
  paint(): void {
    const replayer = this.replayer;
    const doc = replayer?.iframe?.contentDocument ?? null;
    if (replayer === null || doc === null) return;
    for (const canvas of Array.from(doc.querySelectorAll("canvas"))) ensureCanvasSizing(canvas);
    const mirror = replayer.getMirror();
    const kept = new Set<Element>();
    for (const [id, url] of this.pictures) {
      const node = mirror.getNode(id);
      if (node === null || node.nodeName !== "CANVAS") continue;
      const canvas = node as Element;
      const owner = canvas.ownerDocument;
      if (canvas.getAttribute(PICTURE_ATTRIBUTE) !== String(id)) canvas.setAttribute(PICTURE_ATTRIBUTE, String(id));
      ensureCanvasSizing(canvas);
      let style = owner.getElementById(`${STYLE_PREFIX}${id}`);
      if (style === null) {
        style = owner.createElement("style");
        style.id = `${STYLE_PREFIX}${id}`;
        (owner.head ?? owner.documentElement).appendChild(style);
      }
      const rule = pictureRule(id, url);
      if (style.textContent !== rule) style.textContent = rule;
      kept.add(style);
    }
    for (const style of Array.from(doc.querySelectorAll(`style[id^="${STYLE_PREFIX}"]`))) {
      if (!kept.has(style)) style.remove();
    }
  }
}
