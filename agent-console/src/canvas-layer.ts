// The layer over the live player where the page's `<canvas>` elements, streamed as video
// (protocol.md §10), lie exactly over their place in the replay: each video is positioned over
// the replayed canvas (found by its rrweb id in the replayer's mirror) on every animation frame
// while any is shown, so it follows scrolling, resizing and the replay's changes. The replayed
// canvases get their size back through a small stylesheet in the replay's document (see
// canvas-overlay.ts: a script-less replay draws a canvas as an empty inline box). The math is
// canvas-overlay.ts; this only reads the replay and moves elements.

import type { CanvasFeed } from "./call";
import { canvasBox, canvasSizingRule, insetsOf, viewportBox, type Rect } from "./canvas-overlay";
import { h } from "./dom";
import type { LiveTabPlayer } from "./player";

/** The id of the stylesheet this layer adds to a replayed document. */
const SIZING_STYLE_ID = "cobrowse-canvas-sizing";

/** Makes sure the replayed document sizes canvases like `canvas` as the user's page does. */
export function ensureCanvasSizing(canvas: Element): void {
  const rule = canvasSizingRule(canvas.getAttribute("width"), canvas.getAttribute("height"));
  const doc = canvas.ownerDocument;
  if (rule === null) return;
  let style = doc.getElementById(SIZING_STYLE_ID);
  if (style === null) {
    style = doc.createElement("style");
    style.id = SIZING_STYLE_ID;
    (doc.head ?? doc.documentElement).appendChild(style);
  }
  if (!(style.textContent ?? "").includes(rule)) style.textContent = `${style.textContent ?? ""}${rule}\n`;
}

interface Overlay {
  video: HTMLVideoElement;
  canvas: number;
  track: MediaStreamTrack;
}

function place(el: HTMLElement, box: Rect): void {
  el.style.left = `${box.x}px`;
  el.style.top = `${box.y}px`;
  el.style.width = `${box.width}px`;
  el.style.height = `${box.height}px`;
}

export class CanvasLayer {
  readonly el: HTMLDivElement;
  private readonly overlays = new Map<string, Overlay>();
  private player: LiveTabPlayer | null = null;
  private frame = 0;

  constructor() {
    this.el = h("div", { class: "canvas-layer", "data-testid": "canvas-layer", hidden: true });
  }

  /** The canvases to show, over `player`'s replay (null: the live view is not on screen). */
  update(feeds: readonly CanvasFeed[], player: LiveTabPlayer | null): void {
    this.player = player;
    const wanted = new Set(feeds.map((f) => f.mid));
    for (const [mid, o] of this.overlays) {
      if (wanted.has(mid)) continue;
      o.video.srcObject = null;
      o.video.remove();
      this.overlays.delete(mid);
    }
    for (const feed of feeds) {
      let o = this.overlays.get(feed.mid);
      if (!o) {
        const video = h("video", { class: "canvas-video", "data-testid": "canvas-video", autoplay: true, playsinline: true });
        video.muted = true;
        o = { video, canvas: feed.canvas, track: feed.track };
        video.srcObject = new MediaStream([feed.track]);
        this.overlays.set(feed.mid, o);
        this.el.appendChild(video);
      } else if (o.track !== feed.track) {
        o.track = feed.track;
        o.video.srcObject = new MediaStream([feed.track]);
      }
      o.canvas = feed.canvas;
      o.video.dataset["canvas"] = String(feed.canvas);
    }
    const shown = player !== null && this.overlays.size > 0;
    this.el.hidden = !shown;
    if (shown && this.frame === 0) this.tick();
    if (!shown && this.frame !== 0) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
  }

  private tick(): void {
    this.position();
    this.frame = requestAnimationFrame(() => this.tick());
  }

  /** Puts every video over its canvas as the replay shows it now; hides those not on screen. */
  position(): void {
    const player = this.player;
    const win = player?.iframe?.contentWindow ?? null;
    if (player === null || win === null) {
      for (const o of this.overlays.values()) o.video.hidden = true;
      return;
    }
    const { placement, viewport } = player;
    place(this.el, viewportBox(placement, viewport));
    for (const o of this.overlays.values()) {
      const node = player.nodeById(o.canvas);
      // The id may name another tab's node, or (after a reload) not a canvas any more.
      let box: Rect | null = null;
      if (node !== null && node.nodeName === "CANVAS") {
        const canvas = node as Element;
        ensureCanvasSizing(canvas);
        box = canvasBox(canvas.getBoundingClientRect(), insetsOf(win.getComputedStyle(canvas)), placement.scale, viewport);
      }
      o.video.hidden = box === null;
      if (box !== null) place(o.video, box);
    }
  }

  destroy(): void {
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
    this.frame = 0;
    for (const o of this.overlays.values()) o.video.srcObject = null;
    this.overlays.clear();
    this.el.remove();
  }
}
