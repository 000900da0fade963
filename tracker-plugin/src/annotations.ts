/**
 * Agents' annotation strokes, drawn over the page.
 *
 * One fixed SVG covers the viewport and takes no pointer events, so the page stays usable under
 * a drawing. Strokes arrive in page coordinates; they sit in a group shifted by the window's
 * scroll offset, kept current on every scroll, so a stroke stays on what it marks. Each stroke
 * fades after {@link STROKE_LIFETIME_MS} (a laser after {@link LASER_LIFETIME_MS}) and is then
 * removed. A stroke sent again with the same id (an agent drawing a line as it goes) replaces the
 * earlier one and starts its time afresh.
 */

import { type PageUi, UI_ATTRIBUTE } from "./page-ui";
import type { Stroke } from "./protocol";

/** How long a pen, arrow or rect stroke stays, fade included. */
export const STROKE_LIFETIME_MS = 4000;
/** How long a laser stays, fade included. */
export const LASER_LIFETIME_MS = 1000;
/** The last part of a stroke's life, during which it fades out. */
const FADE_MS = { stroke: 600, laser: 300 };

const SVG = "http://www.w3.org/2000/svg";
const ARROW_HEAD = { length: 16, angle: Math.PI / 7 };

const OVERLAY_CSS = `
[${UI_ATTRIBUTE}="annotation-overlay"] {
  position: fixed; top: 0; left: 0; width: 100vw; height: 100vh; overflow: visible; z-index: 0;
}
[${UI_ATTRIBUTE}="stroke"] { transition: opacity ease-out; }
`;

interface Drawn {
  element: SVGGElement;
  timers: ReturnType<typeof setTimeout>[];
}

export class AnnotationOverlay {
  private readonly ui: PageUi;
  private readonly win: Window;
  private svg: SVGSVGElement | null = null;
  private layer: SVGGElement | null = null;
  /** Keyed by agent id and stroke id. */
  private readonly drawn = new Map<string, Drawn>();
  private readonly onScroll = (): void => this.follow();

  constructor(ui: PageUi, win: Window = window) {
    this.ui = ui;
    this.win = win;
  }

  /** Draws `stroke` of agent `agentId`. */
  draw(agentId: string, stroke: Stroke): void {
    const key = `${agentId} ${stroke.id}`;
    this.erase(key);
    const element = strokeElement(this.ui.document, stroke);
    element.dataset["agentId"] = agentId;
    this.ensureLayer().append(element);
    const lifetime = stroke.tool === "laser" ? LASER_LIFETIME_MS : STROKE_LIFETIME_MS;
    const fade = stroke.tool === "laser" ? FADE_MS.laser : FADE_MS.stroke;
    const timers = [
      setTimeout(() => {
        element.style.transitionDuration = `${fade}ms`;
        element.style.opacity = "0";
      }, lifetime - fade),
      setTimeout(() => this.erase(key), lifetime),
    ];
    this.drawn.set(key, { element, timers });
  }

  /** Removes the strokes of `agentId` (its grant ended). */
  clear(agentId: string): void {
    for (const [key, drawn] of this.drawn) {
      if (drawn.element.dataset["agentId"] === agentId) this.erase(key);
    }
  }

  /** Removes every stroke and the overlay itself. */
  remove(): void {
    for (const key of [...this.drawn.keys()]) this.erase(key);
  }

  private erase(key: string): void {
    const drawn = this.drawn.get(key);
    if (drawn === undefined) return;
    drawn.timers.forEach(clearTimeout);
    drawn.element.remove();
    this.drawn.delete(key);
    if (this.drawn.size === 0) {
      this.win.removeEventListener("scroll", this.onScroll);
      this.svg?.remove();
      this.svg = null;
      this.layer = null;
    }
  }

  private ensureLayer(): SVGGElement {
    if (this.svg === null || this.layer === null || !this.svg.isConnected) {
      const doc = this.ui.document;
      this.svg = doc.createElementNS(SVG, "svg");
      this.svg.setAttribute(UI_ATTRIBUTE, "annotation-overlay");
      this.svg.setAttribute("aria-hidden", "true");
      // Clicks, taps and scrolls go through to the page under a drawing.
      this.svg.style.pointerEvents = "none";
      this.layer = doc.createElementNS(SVG, "g");
      this.svg.append(this.layer);
      this.ui.mount(this.svg, OVERLAY_CSS);
      this.win.addEventListener("scroll", this.onScroll, { passive: true });
    }
    this.follow();
    return this.layer;
  }

  /** Moves page coordinates to where the page now is in the viewport. */
  private follow(): void {
    this.layer?.setAttribute("transform", `translate(${-this.win.scrollX} ${-this.win.scrollY})`);
  }
}

/** The SVG of one stroke, in page coordinates. */
function strokeElement(doc: Document, stroke: Stroke): SVGGElement {
  const g = doc.createElementNS(SVG, "g");
  g.setAttribute(UI_ATTRIBUTE, "stroke");
  g.dataset["tool"] = stroke.tool;
  g.dataset["id"] = stroke.id;
  const { points, color } = stroke;
  const [x0, y0] = points[0]!;
  const [x1, y1] = points[points.length - 1]!;
  const shape = (tag: string, attrs: Record<string, string | number>): SVGElement => {
    const el = doc.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
    return el;
  };
  const line = { fill: "none", stroke: color, "stroke-width": 4, "stroke-linecap": "round", "stroke-linejoin": "round" };
  switch (stroke.tool) {
    case "pen":
      g.append(
        points.length === 1
          ? shape("circle", { cx: x0, cy: y0, r: 3, fill: color })
          : shape("polyline", { points: polyline(points), ...line }),
      );
      break;
    case "arrow": {
      const angle = Math.atan2(y1 - y0, x1 - x0);
      const barb = (side: number): string => {
        const a = angle + Math.PI + side * ARROW_HEAD.angle;
        return `${x1 + ARROW_HEAD.length * Math.cos(a)},${y1 + ARROW_HEAD.length * Math.sin(a)}`;
      };
      g.append(
        shape("line", { x1: x0, y1: y0, x2: x1, y2: y1, ...line }),
        shape("polygon", { points: `${x1},${y1} ${barb(1)} ${barb(-1)}`, fill: color, stroke: color, "stroke-width": 2 }),
      );
      break;
    }
    case "rect":
      g.append(
        shape("rect", {
          x: Math.min(x0, x1),
          y: Math.min(y0, y1),
          width: Math.abs(x1 - x0),
          height: Math.abs(y1 - y0),
          rx: 4,
          fill: color,
          "fill-opacity": 0.18,
          stroke: color,
          "stroke-width": 3,
        }),
      );
      break;
    case "laser":
      // A fading trail of where the pointer went, and a glowing dot where it is.
      if (points.length > 1) g.append(shape("polyline", { points: polyline(points), ...line, "stroke-opacity": 0.45 }));
      g.append(
        shape("circle", { cx: x1, cy: y1, r: 10, fill: color, "fill-opacity": 0.3 }),
        shape("circle", { cx: x1, cy: y1, r: 5, fill: color }),
      );
      break;
  }
  return g;
}

function polyline(points: [number, number][]): string {
  return points.map(([x, y]) => `${x},${y}`).join(" ");
}
