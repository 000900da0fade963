/**
 * cobrowse tracker: records the page with rrweb and streams it to a cobrowse server.
 *
 * ```js
 * const tracker = Cobrowse.start({ server: "https://cobrowse.example", projectKey: "shop" });
 * tracker.identify("user-42");
 * ```
 *
 * How the parts fit: {@link startRecording} (rrweb with privacy defaults) emits events; each is
 * turned into JSON text and handed to the {@link Delivery}, which gives it the tab's next `seq`
 * from {@link Identity}, keeps it in the tab's buffer, sends it and trims the buffer as the server
 * acknowledges: from a Web Worker where the page allows one, else from the page (delivery.ts).
 * What is unacknowledged is saved to `sessionStorage` when the page goes away and picked up by the
 * tab's next page.
 *
 * Agents' signals (consent requests, grants, remote control, annotations, calls) arrive on the
 * same connection and go to {@link PageSignals}, which shows the prompts, the grant indicator and
 * the call window and performs what the user allowed; see the README for what the user sees.
 */

import type { LogLevel } from "@rrweb/rrweb-plugin-console-record";
import { EventType, type eventWithTime } from "rrweb";

import type { CanvasPolicy } from "./canvas-consent";
import {
  type CanvasRecordingOptions,
  CanvasFrames,
  canvasFrameOf,
  canvasRecordingSettings,
} from "./canvas-recording";
import { keepAuthoredCss } from "./authored-css";
import { trackUrl } from "./connection";
import { type Delivery, type DeliveryOptions, startDelivery } from "./delivery";
import { Identity } from "./identity";
import { log } from "./log";
import { recordedEvent, recordedUrl } from "./page-url";
import type { EventKind, PageInfo } from "./protocol";
import { type PrivacyOptions, type Recorder, recordedCanvasId, recordedNode, startRecording } from "./record";
import { PageSignals } from "./signals";
import { browserStorage, removeItem } from "./storage";
import { PageCopy } from "./worker-protocol";

export type { PrivacyOptions } from "./record";
export type { CanvasPolicy } from "./canvas-consent";
export type { CanvasRecordingOptions } from "./canvas-recording";
export type { LogLevel } from "@rrweb/rrweb-plugin-console-record";

export interface StartOptions {
  /** The cobrowse server's http(s) origin, e.g. `https://cobrowse.example` (a path prefix is kept). */
  server: string;
  /** One of the server's project keys. */
  projectKey: string;
  /** The signed-in user, if known (see also {@link Tracker.identify}). */
  userId?: string;
  /** Custom key/values shown to agents; non-string values are sent as their JSON text. */
  metadata?: Record<string, unknown>;
  /** Privacy settings; the defaults mask all inputs and never record passwords. */
  privacy?: PrivacyOptions;
  /**
   * Record the page's console messages (default `false`): they often hold what inputs are masked
   * for (user data, tokens in logged URLs or responses), so a site turns them on knowingly.
   */
  console?: boolean;
  /** With `console: true`, the levels to record (default log, info, warn, error, assert). */
  consoleLevels?: LogLevel[] | false;
  /**
   * Record URLs with their query string and fragment (default `false`: the page's address, its
   * referrer and rrweb's Meta `href` are recorded as origin and path only; see page-url.ts).
   */
  recordQuery?: boolean;
  /**
   * Whether agents may see the page's `<canvas>` elements as video (rrweb does not record their
   * content): `"ask"` (default) asks the user first, `"never"` refuses, `"always"` streams to any
   * agent who asks. Canvases that are blocked or masked, or inside such an element, never stream.
   */
  canvas?: CanvasPolicy;
  /**
   * Record what the page's canvases show into the session (default `false`), so time travel and
   * ended sessions show them: WebP snapshots of each changed canvas, 2 a second by default, within
   * a byte budget of their own (see README). Canvases blocked or masked, or inside such an
   * element, are never recorded.
   */
  canvasRecording?: boolean | CanvasRecordingOptions;
  /** Full snapshot interval in ms (default 60 000); 0 turns periodic snapshots off. */
  checkoutEveryNms?: number;
  /**
   * Send from a Web Worker (default `true`): batching, encoding and the socket then stay off the
   * page's main thread. The tracker falls back to sending from the page by itself where no worker
   * can start (a Content-Security-Policy without `worker-src blob:`); `false` skips the attempt.
   */
  worker?: boolean;
}

/** A running tracker. */
export interface Tracker {
  /** This tab's id. */
  readonly tabId: string;
  /** Where events are sent from: a Web Worker, or the page's main thread (see `worker`). */
  readonly delivery: "worker" | "main";
  /** Stops recording and disconnects; the session stays open for the user's other tabs and pages. */
  stop(): void;
  /** Ends the session for good after sending what was recorded; the next page starts a new one. */
  end(reason?: string): void;
  /** Records who the user is. */
  identify(userId: string): void;
  /** Records custom key/values (merged into the ones set before). */
  setMetadata(metadata: Record<string, unknown>): void;
}

let current: Tracker | null = null;

// From the moment the tracker loads: components build their stylesheets once, maybe before start().
keepAuthoredCss(globalThis);

/** Starts recording this page and streaming it to `options.server`. */
export function start(options: StartOptions): Tracker {
  const url = trackUrl(options.server);
  if (typeof options.projectKey !== "string" || options.projectKey === "") {
    throw new TypeError("cobrowse: `projectKey` is required");
  }
  if (current !== null) {
    log.warn("start() called again; stopping the previous tracker");
    current.stop();
  }

  const local = browserStorage("localStorage");
  const tabStorage = browserStorage("sessionStorage");
  const identity = new Identity({ projectKey: options.projectKey, local, tab: tabStorage });
  const bufferKey = `cobrowse.buffer.${identity.tabId}`;
  // Unsent events of the tab's previous page belong to its session; if that went idle, drop them.
  let saved: PageCopy;
  if (identity.sessionToken() !== undefined) {
    saved = PageCopy.load(tabStorage, bufferKey);
  } else {
    removeItem(tabStorage, bufferKey);
    saved = new PageCopy();
  }

  let userId = options.userId;
  let metadata = stringValues(options.metadata ?? {});
  let recorder: Recorder | null = null;
  let stopped = false;
  // Between pagehide and a return from the bfcache nothing is recorded: the buffer was saved for
  // the tab's next page, and an event taken now would use a seq that page never sees.
  let hidden = false;

  const signals = new PageSignals({
    tabId: identity.tabId,
    send: (signal) => delivery.sendSignal(signal),
    nodeById: recordedNode,
    canvasId: (canvas) => recordedCanvasId(canvas, options.privacy),
    canvas: options.canvas ?? "ask",
    storage: tabStorage,
  });
  const deliveryOptions: DeliveryOptions = {
    url,
    projectKey: options.projectKey,
    identity,
    saved,
    hello: () => ({ page: pageInfo(options.recordQuery === true), user_id: userId, metadata }),
    takeFullSnapshot: () => {
      recorder?.takeFullSnapshot();
    },
    onSignal: (signal) => signals.receive(signal),
    onWelcome: () => signals.connected(),
    onStopped: (reason) => {
      log.debug(`tracker stopped: ${reason}`);
      teardown();
    },
  };
  if (options.worker === false) deliveryOptions.worker = false;
  const delivery: Delivery = startDelivery(deliveryOptions);

  const add = (kind: EventKind, value: unknown, ts: number, keep: boolean): void => {
    if (stopped || hidden) return;
    if (delivery.add(kind, JSON.stringify(value), ts, keep)) identity.touch();
  };

  const canvasSettings = canvasRecordingSettings(options.canvasRecording);
  const canvasFrames =
    canvasSettings === null
      ? null
      : new CanvasFrames({
          settings: canvasSettings,
          rates: () => ({
            bytesPerSec: delivery.limits.bytes_per_sec,
            eventsPerSec: delivery.limits.events_per_sec,
          }),
          backlogBytes: () => delivery.backlogBytes,
          record: (event) => add("rrweb", event, event.timestamp, false),
        });

  const onRrweb = (event: eventWithTime): void => {
    const canvas = canvasFrames === null ? undefined : canvasFrameOf(event);
    if (canvas !== undefined) return canvasFrames?.offer(canvas, event);
    const keep = event.type === EventType.Meta || event.type === EventType.FullSnapshot;
    add("rrweb", recordedEvent(event, options.recordQuery === true), event.timestamp, keep);
  };

  const save = (): void => {
    delivery.flushNow();
    delivery.save(tabStorage, bufferKey);
  };
  const onPageHide = (): void => {
    save();
    hidden = true;
    identity.release();
  };
  const onPageShow = (event: PageTransitionEvent): void => {
    if (!event.persisted || !hidden) return;
    hidden = false;
    identity.reclaim();
    // The saved copy may have been taken by a page that ran in between; resending is harmless.
    removeItem(tabStorage, bufferKey);
    delivery.retryNow();
  };
  const onVisibility = (): void => {
    if (document.visibilityState === "hidden") save();
  };
  const onOnline = (): void => delivery.retryNow();
  window.addEventListener("pagehide", onPageHide);
  window.addEventListener("pageshow", onPageShow);
  window.addEventListener("online", onOnline);
  document.addEventListener("visibilitychange", onVisibility);

  function teardown(): void {
    if (stopped) return;
    stopped = true;
    canvasFrames?.stop();
    recorder?.stop();
    recorder = null;
    signals.stop();
    window.removeEventListener("pagehide", onPageHide);
    window.removeEventListener("pageshow", onPageShow);
    window.removeEventListener("online", onOnline);
    document.removeEventListener("visibilitychange", onVisibility);
    if (current === tracker) current = null;
  }

  const tracker: Tracker = {
    tabId: identity.tabId,
    get delivery() {
      return delivery.kind;
    },
    stop() {
      if (stopped) return;
      teardown();
      delivery.stop();
      delivery.save(tabStorage, bufferKey);
      identity.release();
    },
    end(reason?: string) {
      if (stopped) return;
      canvasFrames?.stop();
      recorder?.stop();
      recorder = null;
      signals.stop();
      delivery.end(reason);
    },
    identify(id: string) {
      if (typeof id !== "string" || id === "") throw new TypeError("cobrowse: identify() needs a user id");
      userId = id;
      add("identify", { user_id: id }, Date.now(), true);
    },
    setMetadata(values: Record<string, unknown>) {
      metadata = { ...metadata, ...stringValues(values) };
      add("metadata", { metadata: values }, Date.now(), true);
    },
  };
  current = tracker;

  delivery.start();
  recorder = startRecording(onRrweb, {
    privacy: options.privacy,
    consoleLevels: options.console === true ? options.consoleLevels : false,
    checkoutEveryNms: options.checkoutEveryNms,
    ...(canvasSettings === null ? {} : { canvas: canvasSettings }),
  });
  return tracker;
}

function pageInfo(recordQuery: boolean): PageInfo {
  return {
    url: recordedUrl(location.href, recordQuery),
    referrer: document.referrer === "" ? undefined : recordedUrl(document.referrer, recordQuery),
    title: document.title === "" ? undefined : document.title,
    user_agent: navigator.userAgent,
    viewport: {
      width: Math.max(0, Math.round(window.innerWidth)),
      height: Math.max(0, Math.round(window.innerHeight)),
    },
  };
}

/** `hello` carries string values only. */
function stringValues(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    out[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
}
