// Remote control from the agent's side: a transparent layer over the live player that takes the
// agent's mouse, wheel and keyboard and turns them into `control` inputs (protocol.md §9.2) for the
// tab on screen. A position on the layer is mapped through the player's scaling into the user's
// viewport (coords.ts); the element there in the replay gives the rrweb node id the page knows the
// target by. The replay shows the result only once the user's page did it and recorded it, so
// the agent sees what the user sees.
//
// Shown only while the agent holds a control grant and looks at the live view; the session view
// decides that (`setActive`).

import { rounded, scrolledBy, stageToViewport, wheelPixels, type Point } from "./coords";
import { h } from "./dom";
import { sendableKey } from "./keys";
import type { ReplayTarget } from "./player";
import type { ControlInput } from "./protocol";
import { throttle, type Throttled } from "./throttle";

/** Pointer moves and scrolls sent at most every this many ms (~15 a second). */
const INPUT_INTERVAL_MS = 66;
/**
 * For this long after a scroll was sent, the next wheel step builds on the position sent rather
 * than on the replay's, which moves only once the page scrolled and recorded it.
 */
const SCROLL_SETTLE_MS = 600;

export interface ControlLayerOptions {
  /** The tab on screen and its live replay; null while it has no page. */
  target(): { tab: string; replay: ReplayTarget } | null;
  /** Sends one input for `tab`; false when it could not be sent. */
  send(tab: string, input: ControlInput): boolean;
}

/** What is under the agent's pointer, in the replay of the user's page. */
interface Hit {
  tab: string;
  replay: ReplayTarget;
  /** Viewport coordinates of the user's page. */
  point: Point;
  /** Layer coordinates (for placing the `<select>` picker). */
  local: Point;
  element: Element | null;
  id: number | null;
}

export class ControlLayer {
  readonly el: HTMLDivElement;
  private active = false;
  private picker: HTMLElement | null = null;
  private lastScroll: { tab: string; id: number | null; at: number; pos: Point } | null = null;
  private readonly sendMove: Throttled<[string, Point]>;
  private readonly sendScroll: Throttled<[string, number | null, Point]>;

  constructor(private readonly opts: ControlLayerOptions) {
    this.el = h("div", {
      class: "control-layer",
      "data-testid": "control-layer",
      tabindex: 0,
      hidden: true,
      "aria-label": "Remote control: your mouse and keyboard act on the user's page",
    });
    this.sendMove = throttle((tab: string, p: Point) => this.opts.send(tab, { action: "move", ...rounded(p) }), INPUT_INTERVAL_MS);
    this.sendScroll = throttle(
      (tab: string, id: number | null, p: Point) => this.opts.send(tab, { action: "scroll", id, x: p.x, y: p.y }),
      INPUT_INTERVAL_MS,
    );
    this.el.addEventListener("mousedown", (e) => {
      // Keep the console from selecting text; take the keyboard.
      e.preventDefault();
      this.el.focus({ preventScroll: true });
    });
    this.el.addEventListener("pointermove", (e) => this.onMove(e));
    this.el.addEventListener("click", (e) => this.onClick(e));
    this.el.addEventListener("dblclick", (e) => this.onDoubleClick(e));
    this.el.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    this.el.addEventListener("keydown", (e) => this.onKey(e));
  }

  /** Shows the layer and captures input (true), or hides it and drops anything pending. */
  setActive(on: boolean): void {
    if (on === this.active) return;
    this.active = on;
    this.el.hidden = !on;
    if (!on) {
      this.sendMove.cancel();
      this.sendScroll.cancel();
      this.closePicker();
      this.lastScroll = null;
    }
  }

  private hit(e: MouseEvent): Hit | null {
    const target = this.opts.target();
    if (!target) return null;
    const rect = this.el.getBoundingClientRect();
    const local = { x: e.clientX - rect.left, y: e.clientY - rect.top };
    const point = stageToViewport(local, target.replay.placement, target.replay.viewport);
    if (!point) return null;
    const element = target.replay.document?.elementFromPoint(point.x, point.y) ?? null;
    return { ...target, point, local, element, id: element ? target.replay.nodeId(element) : null };
  }

  private onMove(e: PointerEvent): void {
    const hit = this.hit(e);
    if (hit) this.sendMove(hit.tab, hit.point);
  }

  private onClick(e: MouseEvent): void {
    // The second click of a double click is part of the `dblclick` input.
    if (e.detail >= 2 || e.button !== 0) return;
    const hit = this.hit(e);
    if (!hit || hit.id === null) return;
    const select = hit.element?.closest("select");
    if (select) {
      const id = hit.replay.nodeId(select);
      // A page cannot open a native dropdown for someone else: pick the option here instead.
      if (id !== null) this.openPicker(hit.tab, select, id, hit.local);
      return;
    }
    this.closePicker();
    this.opts.send(hit.tab, { action: "click", id: hit.id, ...rounded(hit.point) });
  }

  private onDoubleClick(e: MouseEvent): void {
    const hit = this.hit(e);
    if (!hit || hit.id === null || hit.element?.closest("select")) return;
    this.opts.send(hit.tab, { action: "dblclick", id: hit.id, ...rounded(hit.point) });
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const hit = this.hit(e);
    const doc = hit?.replay.document;
    if (!hit || !doc) return;
    const delta = wheelPixels({ x: e.deltaX, y: e.deltaY }, e.deltaMode, hit.replay.viewport);
    const scroller = scrollerFor(hit.element, delta, doc);
    const id = scroller === null ? null : hit.replay.nodeId(scroller);
    if (scroller !== null && id === null) return;
    const root = doc.scrollingElement ?? doc.documentElement;
    const current = scroller === null ? hit.replay.scroll : { x: scroller.scrollLeft, y: scroller.scrollTop };
    const box = scroller ?? root;
    const max = { x: box.scrollWidth - box.clientWidth, y: box.scrollHeight - box.clientHeight };
    const now = Date.now();
    const recent = this.lastScroll;
    const base = recent && recent.tab === hit.tab && recent.id === id && now - recent.at < SCROLL_SETTLE_MS ? recent.pos : current;
    const pos = scrolledBy(base, delta, max);
    this.lastScroll = { tab: hit.tab, id, at: now, pos };
    this.sendScroll(hit.tab, id, pos);
  }

  private onKey(e: KeyboardEvent): void {
    const key = sendableKey(e);
    const target = this.opts.target();
    if (key === null || !target) return;
    // The console must not act on it (Tab moving focus, Backspace, arrows scrolling).
    e.preventDefault();
    e.stopPropagation();
    if (key === "Escape" && this.picker) {
      this.closePicker();
      return;
    }
    this.opts.send(target.tab, { action: "key", key });
  }

  /** A small list of a `<select>`'s options at `at`; picking one sends `select`. */
  private openPicker(tab: string, select: HTMLSelectElement, id: number, at: Point): void {
    this.closePicker();
    const options = Array.from(select.options);
    const picker = h(
      "div",
      { class: "select-picker", "data-testid": "select-picker", role: "listbox", "aria-label": "Options of the list on the page" },
      ...options.map((o) =>
        h(
          "button",
          {
            type: "button",
            class: "select-option",
            role: "option",
            "data-testid": "select-option",
            "data-value": o.value,
            "aria-selected": o.value === select.value ? "true" : "false",
          },
          o.text.trim() || o.value || "(empty)",
        ),
      ),
    );
    picker.style.left = `${Math.min(at.x, Math.max(0, this.el.clientWidth - 220))}px`;
    picker.style.top = `${Math.min(at.y, Math.max(0, this.el.clientHeight - 240))}px`;
    // Clicks and wheel turns inside the picker are for the picker, not the page.
    for (const type of ["mousedown", "click", "dblclick", "pointermove", "wheel"]) {
      picker.addEventListener(type, (e) => e.stopPropagation());
    }
    picker.addEventListener("click", (e) => {
      const value = (e.target as HTMLElement).closest<HTMLElement>(".select-option")?.dataset["value"];
      if (value === undefined) return;
      this.opts.send(tab, { action: "select", id, value });
      this.closePicker();
      // The picked button is gone with the picker; the keyboard goes back to the page.
      this.el.focus({ preventScroll: true });
    });
    this.el.appendChild(picker);
    this.picker = picker;
  }

  private closePicker(): void {
    this.picker?.remove();
    this.picker = null;
  }

  destroy(): void {
    this.setActive(false);
    this.el.remove();
  }
}

/**
 * The element a wheel turn over `start` scrolls: the nearest ancestor that scrolls (overflow
 * auto/scroll) and can still move that way; null for the window.
 */
function scrollerFor(start: Element | null, delta: Point, doc: Document): Element | null {
  const root = doc.scrollingElement ?? doc.documentElement;
  const view = doc.defaultView;
  for (let el = start; el && el !== root && el !== doc.body; el = el.parentElement) {
    const style = view?.getComputedStyle(el);
    const scrolls = (v: string | undefined) => v === "auto" || v === "scroll" || v === "overlay";
    const canY =
      scrolls(style?.overflowY) &&
      el.scrollHeight > el.clientHeight &&
      (delta.y > 0 ? el.scrollTop < el.scrollHeight - el.clientHeight : delta.y < 0 && el.scrollTop > 0);
    const canX =
      scrolls(style?.overflowX) &&
      el.scrollWidth > el.clientWidth &&
      (delta.x > 0 ? el.scrollLeft < el.scrollWidth - el.clientWidth : delta.x < 0 && el.scrollLeft > 0);
    if (canY || canX) return el;
  }
  return null;
}
