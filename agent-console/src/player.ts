// rrweb's `Replayer`, in the two ways the console uses it, each scaled to fit its box:
// - `LiveTabPlayer`: live mode, one per tab of a session, fed that tab's events as they arrive.
// - `PastPlayer`: a non-live replayer over a tab's recorded events, for time travel and
//   recordings, positioned with `pause(offset)`.

import { Replayer, type eventWithTime } from "rrweb";
import { CanvasPictureLayer } from "./canvas-picture-layer";
import type { Placement, Point, Size } from "./coords";
import { h } from "./dom";
import { EventType, playTimeOf, type RrwebEvent } from "./rrweb-events";
import { fitInto, type ReplaySpan } from "./timeline";

/** A box that holds a replayer and scales the recorded page to fit it. */
export class ScaledView {
  readonly el: HTMLDivElement;
  /** The replayer's root: rrweb puts its `.replayer-wrapper` (and the iframe) in here. */
  readonly root: HTMLDivElement;
  private width = 0;
  private height = 0;
  /** Where the page sits in the box since the last `fit()`. */
  placement: Placement = { scale: 1, left: 0, top: 0 };
  private readonly observer: ResizeObserver;

  constructor(parent: HTMLElement, className: string) {
    this.root = h("div", { class: "player-root" });
    this.el = h("div", { class: `player ${className}` }, this.root);
    parent.appendChild(this.el);
    this.observer = new ResizeObserver(() => this.fit());
    this.observer.observe(this.el);
  }

  /** The recorded page's size (from its Meta event or a viewport resize). */
  setContentSize(width: number, height: number): void {
    this.width = width;
    this.height = height;
    this.el.dataset["width"] = String(width);
    this.el.dataset["height"] = String(height);
    this.fit();
  }

  /** The recorded page's size. */
  get contentSize(): Size {
    return { width: this.width, height: this.height };
  }

  fit(): void {
    const { scale, left, top } = fitInto(this.width, this.height, this.el.clientWidth, this.el.clientHeight);
    this.placement = { scale, left, top };
    this.root.style.width = `${this.width}px`;
    this.root.style.height = `${this.height}px`;
    this.root.style.transform = `translate(${left}px, ${top}px) scale(${scale})`;
    this.el.dataset["scale"] = scale.toFixed(3);
  }

  destroy(): void {
    this.observer.disconnect();
    this.el.remove();
  }
}

const quietLogger = {
  log: () => {},
  warn: (...args: unknown[]) => {
    if (import.meta.env.DEV) console.warn(...args);
  },
};

/** What remote control and drawing need of the live replay of the tab on screen. */
export interface ReplayTarget {
  /** How the user's viewport sits on the stage. */
  readonly placement: Placement;
  /** The user's viewport size. */
  readonly viewport: Size;
  /** The replayed document, once the page arrived. */
  readonly document: Document | null;
  /** The replayed document's scroll offset (as the user's page was last seen scrolled). */
  readonly scroll: Point;
  /** rrweb's id of a node of the replayed document (what `control` inputs name); null if unknown. */
  nodeId(node: Node): number | null;
}

/**
 * A live replayer for one tab. It starts at the tab's first Meta event (events before it cannot
 * be shown: there is no page yet) and then shows every event as soon as it arrives.
 *
 * rrweb's live mode plays an event when its own clock (started by `startLive(baseline)`) reaches
 * `timestamp - baseline`. Any baseline puts a fixed delay on some events, since the first event
 * we see arrived late by an unknown amount. So each arriving event moves that clock forward to the
 * event's start (never back): nothing waits, and a batch of mouse positions still plays out over
 * the time the user took to move.
 */
export class LiveTabPlayer implements ReplayTarget {
  readonly view: ScaledView;
  private replayer: Replayer | null = null;
  private baseline = 0;
  /** The recorded pictures of the page's canvases (a site with `canvasRecording`). */
  private readonly pictures = new CanvasPictureLayer();

  constructor(
    parent: HTMLElement,
    readonly tab: string,
  ) {
    this.view = new ScaledView(parent, "live-player");
    this.view.el.dataset["tab"] = tab;
  }

  /** Whether the tab's page has arrived, so the player shows something. */
  get ready(): boolean {
    return this.replayer !== null;
  }

  add(event: RrwebEvent): void {
    if (this.replayer === null) {
      if (event.type !== EventType.Meta) return;
      this.replayer = new Replayer([], {
        root: this.view.root,
        liveMode: true,
        mouseTail: false,
        showWarning: false,
        triggerFocus: false,
        // Events are applied one by one as they arrive; nothing to batch.
        useVirtualDom: false,
        logger: quietLogger,
        plugins: [this.pictures.plugin],
      });
      this.pictures.attach(this.replayer);
      this.replayer.on("resize", (d) => {
        const { width, height } = d as { width: number; height: number };
        this.view.setContentSize(width, height);
      });
      // A minute of margin: an event stamped before the baseline would be applied "synchronously"
      // (rrweb's fast-forward path), which skips mouse movement.
      this.baseline = event.timestamp - 60_000;
      this.replayer.startLive(this.baseline);
    }
    this.replayer.addEvent(event as unknown as eventWithTime);
    const timer = this.replayer.timer;
    timer.updateLiveTime();
    const due = playTimeOf(event) - this.baseline;
    if (timer.timeOffset < due) timer.timeOffset = due;
  }

  get iframe(): HTMLIFrameElement | null {
    return this.replayer?.iframe ?? null;
  }

  get placement(): Placement {
    return this.view.placement;
  }

  get viewport(): Size {
    return this.view.contentSize;
  }

  get document(): Document | null {
    return this.replayer?.iframe.contentDocument ?? null;
  }

  get scroll(): Point {
    const win = this.replayer?.iframe.contentWindow;
    return win ? { x: win.scrollX, y: win.scrollY } : { x: 0, y: 0 };
  }

  nodeId(node: Node): number | null {
    const id = this.replayer?.getMirror().getId(node) ?? -1;
    return id >= 0 ? id : null;
  }

  /** The replayed node with rrweb id `id` (a canvas to lay its video over), if the replay has it. */
  nodeById(id: number): Node | null {
    return this.replayer?.getMirror().getNode(id) ?? null;
  }

  destroy(): void {
    try {
      this.replayer?.destroy();
    } catch {
      // A replayer that never rendered has nothing to tear down.
    }
    this.replayer = null;
    this.view.destroy();
  }
}

/** The recorded span of a list of rrweb events. */
export function spanOf(events: readonly RrwebEvent[]): ReplaySpan {
  let first = Infinity;
  let last = -Infinity;
  for (const e of events) {
    if (e.timestamp < first) first = e.timestamp;
    if (e.timestamp > last) last = e.timestamp;
  }
  return { firstEventTs: first, lastEventTs: last };
}

/** Whether a list of events can be replayed: rrweb needs a Meta and a FullSnapshot. */
export function replayable(events: readonly RrwebEvent[]): boolean {
  return (
    events.length >= 2 &&
    events.some((e) => e.type === EventType.Meta) &&
    events.some((e) => e.type === EventType.FullSnapshot)
  );
}

/**
 * A non-live replayer over recorded events. Offsets are ms after its first event. It can start
 * with the first part of a recording and take the rest as it downloads (`add`): rrweb's
 * `addEvent` puts each event in time order and, while playing, schedules it.
 */
export class PastPlayer {
  readonly view: ScaledView;
  /** The events it holds so far. */
  span: ReplaySpan;
  private readonly replayer: Replayer;
  private readonly pictures = new CanvasPictureLayer();
  private playing = false;
  /**
   * The replayer reached the last event it holds; `wasPlaying` says whether it played there (a
   * seek to the end while paused reaches it too).
   */
  onFinish: (wasPlaying: boolean) => void = () => {};

  constructor(parent: HTMLElement, events: RrwebEvent[], speed: number, skipInactive: boolean) {
    this.view = new ScaledView(parent, "past-player");
    this.span = spanOf(events);
    this.replayer = new Replayer(events as unknown as eventWithTime[], {
      root: this.view.root,
      speed,
      mouseTail: false,
      showWarning: false,
      triggerFocus: false,
      // rrweb speeds through stretches where the user did nothing, when the agent asks.
      skipInactive,
      logger: quietLogger,
      plugins: [this.pictures.plugin],
    });
    this.pictures.attach(this.replayer);
    this.replayer.on("resize", (d) => {
      const { width, height } = d as { width: number; height: number };
      this.view.setContentSize(width, height);
    });
    this.replayer.on("finish", () => {
      const wasPlaying = this.playing;
      this.playing = false;
      this.onFinish(wasPlaying);
    });
  }

  /**
   * More of the recording, downloaded after the replayer was built; rrweb holds it on return.
   * Not through `Replayer.addEvent`, which hands each event over in a later microtask: a seek or
   * a resume right after would stand on events rrweb does not hold yet, and it would then apply
   * them as a fast-forward into its virtual DOM, which only the next seek writes to the page
   * (the changes of a replay that played on were missing until one).
   */
  add(events: readonly RrwebEvent[]): void {
    if (events.length === 0) return;
    const { baselineTime } = this.replayer.service.state.context;
    for (const e of events) this.replayer.service.send({ type: "ADD_EVENT", payload: { event: e as unknown as eventWithTime } });
    const more = spanOf(events);
    this.span = {
      firstEventTs: Math.min(this.span.firstEventTs, more.firstEventTs),
      lastEventTs: Math.max(this.span.lastEventTs, more.lastEventTs),
    };
    // rrweb applies an event stamped before where it last started at once, into its virtual DOM
    // (as above): standing again where it is writes that to the page.
    if (events.some((e) => e.timestamp < baselineTime)) this.seek(this.currentTime());
  }

  get duration(): number {
    return Math.max(0, this.span.lastEventTs - this.span.firstEventTs);
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  /** Shows the page as it was `offset` ms after the first event; keeps playing if it was. */
  seek(offset: number): void {
    // rrweb applies the events strictly before the position; +1 includes an event exactly at it
    // (the last event, when seeking to the end).
    const t = Math.min(this.duration, Math.max(0, offset)) + 1;
    if (this.playing) this.replayer.play(t);
    else this.replayer.pause(t);
  }

  play(): void {
    let t = this.currentTime();
    if (t >= this.duration) t = 0;
    this.playing = true;
    this.replayer.play(t);
  }

  /**
   * Plays on from where it stopped, after more of the recording arrived. Unlike `play`, never
   * from the start: rrweb's clock may stand past the last event it held (it ticks once a frame,
   * times the speed), even past the first of the events that just arrived.
   */
  resume(): void {
    this.playing = true;
    this.replayer.play(this.currentTime());
  }

  pause(): void {
    this.playing = false;
    this.replayer.pause();
  }

  setSpeed(speed: number): void {
    this.replayer.setConfig({ speed });
  }

  setSkipInactive(skipInactive: boolean): void {
    this.replayer.setConfig({ skipInactive });
  }

  /** Where the replayer is, ms after the first event. */
  currentTime(): number {
    return Math.min(this.duration, Math.max(0, this.replayer.getCurrentTime()));
  }

  destroy(): void {
    try {
      this.replayer.destroy();
    } catch {
      // Already torn down.
    }
    this.view.destroy();
  }
}
