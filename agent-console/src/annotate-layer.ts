// Drawing on the user's page from the agent's side: a canvas over the live player. A drag with
// the pen, arrow or rectangle becomes one `stroke` (protocol.md §9.2) when the button comes up;
// the laser sends what it drew every 50 ms while the button is down, so the user sees it move.
// Points go out in page coordinates of the user's document (coords.ts), so a mark stays on what it
// marks when the page scrolls. The agent sees its own strokes here, fading as they do on the page
// (strokes.ts), and placed by the replay's current scroll.
//
// Shown only while the agent holds an annotate grant and looks at the live view; the session view
// decides that (`setActive`).

import { pageToStage, stageToViewport, viewportToPage, type Point } from "./coords";
import { h } from "./dom";
import type { ReplayTarget } from "./player";
import type { Stroke, StrokeTool } from "./protocol";
import { arrowHead, LASER_INTERVAL_MS, makeStroke, strokeOpacity } from "./strokes";

export interface AnnotateLayerOptions {
  /** The tab on screen and its live replay; null while it has no page. */
  target(): { tab: string; replay: ReplayTarget } | null;
  /** Sends one stroke for `tab`; false when it could not be sent. */
  send(tab: string, stroke: Stroke): boolean;
}

/** A drag in progress: its tab and its points in page coordinates. */
interface Drag {
  tab: string;
  path: Point[];
  /** Laser: how many points of `path` went out already. */
  sent: number;
}

export class AnnotateLayer {
  readonly el: HTMLCanvasElement;
  tool: StrokeTool = "pen";
  color = "#e0353b";
  private active = false;
  private drag: Drag | null = null;
  private laserTimer: ReturnType<typeof setInterval> | null = null;
  /** The agent's own strokes, with when they were drawn (agent time), for the local copy. */
  private drawn: Array<{ stroke: Stroke; at: number }> = [];
  private frame: number | null = null;

  constructor(private readonly opts: AnnotateLayerOptions) {
    this.el = h("canvas", {
      class: "annotate-layer",
      "data-testid": "annotate-layer",
      hidden: true,
      "aria-label": "Drawing: your strokes show on the user's page",
    });
    this.el.addEventListener("pointerdown", (e) => this.onDown(e));
    this.el.addEventListener("pointermove", (e) => this.onMove(e));
    this.el.addEventListener("pointerup", () => this.finish());
    this.el.addEventListener("pointercancel", () => this.finish());
  }

  /** Shows the canvas and takes the pointer (true), or hides it (a drag in progress is sent). */
  setActive(on: boolean): void {
    if (on === this.active) return;
    if (!on) this.finish();
    this.active = on;
    this.el.hidden = !on;
    if (on) this.redraw();
  }

  /** Where a pointer event is on the user's page, or null when outside it. */
  private pagePoint(e: PointerEvent, replay: ReplayTarget): Point | null {
    const rect = this.el.getBoundingClientRect();
    const p = stageToViewport({ x: e.clientX - rect.left, y: e.clientY - rect.top }, replay.placement, replay.viewport);
    return p && viewportToPage(p, replay.scroll);
  }

  private onDown(e: PointerEvent): void {
    if (e.button !== 0) return;
    const target = this.opts.target();
    if (!target) return;
    const p = this.pagePoint(e, target.replay);
    if (!p) return;
    e.preventDefault();
    this.el.setPointerCapture(e.pointerId);
    this.drag = { tab: target.tab, path: [p], sent: 0 };
    if (this.tool === "laser") this.laserTimer = setInterval(() => this.sendLaser(), LASER_INTERVAL_MS);
    this.redraw();
  }

  private onMove(e: PointerEvent): void {
    const target = this.opts.target();
    if (!this.drag || !target || target.tab !== this.drag.tab) return;
    const p = this.pagePoint(e, target.replay);
    if (p) this.drag.path.push(p);
  }

  /** The laser's points since its last send (joined to the previous piece), as one stroke. */
  private sendLaser(): void {
    const drag = this.drag;
    if (!drag || drag.path.length <= drag.sent) return;
    const piece = drag.path.slice(Math.max(0, drag.sent - 1));
    drag.sent = drag.path.length;
    this.emit(drag.tab, "laser", piece);
  }

  private finish(): void {
    const drag = this.drag;
    if (!drag) return;
    if (this.laserTimer !== null) clearInterval(this.laserTimer);
    this.laserTimer = null;
    if (this.tool === "laser") this.sendLaser();
    else this.emit(drag.tab, this.tool, drag.path);
    this.drag = null;
  }

  private emit(tab: string, tool: StrokeTool, path: readonly Point[]): void {
    const stroke = makeStroke(tool, this.color, path);
    if (!stroke) return;
    this.opts.send(tab, stroke);
    this.drawn.push({ stroke, at: Date.now() });
    this.redraw();
  }

  /** Draws until nothing is left to show. */
  private redraw(): void {
    if (this.frame === null) this.frame = requestAnimationFrame(() => this.paint());
  }

  private paint(): void {
    this.frame = null;
    const canvas = this.el;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(canvas.clientWidth * ratio);
    const height = Math.round(canvas.clientHeight * ratio);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
    const now = Date.now();
    this.drawn = this.drawn.filter((d) => strokeOpacity(d.stroke.tool, now - d.at) > 0);
    const replay = this.opts.target()?.replay;
    if (replay) {
      const toStage = (p: Point) => pageToStage(p, replay.scroll, replay.placement);
      for (const d of this.drawn) {
        const pts = d.stroke.points.map(([x, y]) => toStage({ x, y }));
        drawStroke(ctx, d.stroke.tool, d.stroke.color, pts, strokeOpacity(d.stroke.tool, now - d.at));
      }
      // The drag in progress, as it will look (the laser shows through its sent pieces).
      if (this.drag && this.tool !== "laser") drawStroke(ctx, this.tool, this.color, this.drag.path.map(toStage), 1);
    }
    if (this.drawn.length > 0 || this.drag) this.redraw();
  }

  destroy(): void {
    this.setActive(false);
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.frame = null;
    this.el.remove();
  }
}

function drawStroke(ctx: CanvasRenderingContext2D, tool: StrokeTool, color: string, pts: readonly Point[], opacity: number): void {
  const first = pts[0];
  const last = pts[pts.length - 1];
  if (!first || !last) return;
  ctx.save();
  ctx.globalAlpha = opacity;
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = tool === "laser" ? 4 : 3;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  if (tool === "laser") {
    ctx.shadowColor = color;
    ctx.shadowBlur = 8;
  }
  ctx.beginPath();
  if (tool === "rect") {
    const x = Math.min(first.x, last.x);
    const y = Math.min(first.y, last.y);
    const w = Math.abs(last.x - first.x);
    const hgt = Math.abs(last.y - first.y);
    ctx.globalAlpha = opacity * 0.18;
    ctx.fillRect(x, y, w, hgt);
    ctx.globalAlpha = opacity;
    ctx.strokeRect(x, y, w, hgt);
  } else if (tool === "arrow") {
    const [a, b] = arrowHead(first, last, 14);
    ctx.moveTo(first.x, first.y);
    ctx.lineTo(last.x, last.y);
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(last.x, last.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  } else {
    ctx.moveTo(first.x, first.y);
    for (const p of pts) ctx.lineTo(p.x, p.y);
    if (pts.length === 1) ctx.lineTo(first.x + 0.1, first.y);
    ctx.stroke();
  }
  ctx.restore();
}
