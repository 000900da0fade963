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
import { type HelpCode, HelpDesk } from "./help";
import { HelpWidget } from "./help-widget";
import { Identity } from "./identity";
import { resolveLabels } from "./labels";
import { log } from "./log";
import { NETWORK_PLUGIN, NetworkLog, type NetworkEntry, type NetworkOptions, networkSettings } from "./network";
import { type NetworkRecording, startNetworkRecording } from "./network-patch";
import { PageEvents } from "./page-events";
import { pageSecretValues } from "./page-secrets";
import { recordedEvent, recordedUrl } from "./page-url";
import type { EventKind, PageInfo } from "./protocol";
import { type PrivacyOptions, type Recorder, recordedCanvasId, recordedNode, startRecording } from "./record";
import { SessionLink } from "./session-link";
import { PageSignals } from "./signals";
import type { SessionLinks, SessionURLOptions, SiteOptions } from "./site-api";
import { browserStorage, removeItem } from "./storage";
import { type ViewMode, viewMode } from "./watch-indicator";
import { PageCopy } from "./worker-protocol";

export type { PrivacyOptions } from "./record";
export type { CanvasPolicy } from "./canvas-consent";
export type { CanvasRecordingOptions } from "./canvas-recording";
export type { LogLevel } from "@rrweb/rrweb-plugin-console-record";
export type { NetworkEntry, NetworkOptions } from "./network";
export type * from "./site-api";
export { LOCALES } from "./labels";
export type { ViewMode } from "./watch-indicator";
export type { HelpCode } from "./help";

/** What `start()` takes: recording options here, the site's integration in {@link SiteOptions}. */
export interface StartOptions extends SiteOptions {
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
   * Record the page's `fetch` and `XMLHttpRequest` calls (default `true`): method, URL (without
   * its query string unless `recordQuery`), status, timing and sizes, for the agent console's
   * network panel. Headers and bodies only with `{ headers: true }` / `{ body: true }` (secret-looking
   * values redacted); `sanitize` changes or drops entries; `ignoreUrls` leaves requests out.
   * Requests to the cobrowse server are never recorded. See README.
   */
  network?: boolean | NetworkOptions;
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
  /**
   * What the user knows of agents watching (default `"notify"`): `"notify"` shows who watches,
   * `"ask"` asks the user first (the server sends an agent nothing of the page until they accept),
   * `"silent"` shows nothing. The session keeps its first page's choice.
   */
  view?: ViewMode;
  /**
   * Show the built-in "Get help" button (default `false`): it asks for a help code and shows it
   * to the user to read out to an agent. A site with its own button calls
   * {@link Tracker.requestHelp} instead.
   */
  helpButton?: boolean;
}

/** A running tracker. */
export interface Tracker extends SessionLinks {
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
  /**
   * Asks the server for a help code for this tab: six digits the user reads out to an agent,
   * who then lands in this session. Asking again while the code is valid gives the same code.
   */
  requestHelp(): Promise<HelpCode>;
}

let current: Tracker | null = null;

/** Starts recording this page and streaming it to `options.server`. */
export function start(options: StartOptions): Tracker {
  const url = trackUrl(options.server);
  if (typeof options.projectKey !== "string" || options.projectKey === "") {
    throw new TypeError("cobrowse: `projectKey` is required");
  }
  const view = viewMode(options.view);
  if (current !== null) {
    log.warn("start() called again; stopping the previous tracker");
    current.stop();
  }
  // Constructed stylesheets' text, from now on (the script-tag bundle does it when it loads,
  // global.ts; importing the module must change nothing, so the module does it here).
  keepAuthoredCss(globalThis);

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
  let network: NetworkRecording | null = null;
  let stopped = false;
  // Between pagehide and a return from the bfcache nothing is recorded: the buffer was saved for
  // the tab's next page, and an event taken now would use a seq that page never sees.
  let hidden = false;

  const link = new SessionLink({
    storage: local,
    projectKey: options.projectKey,
    consoleUrl: options.consoleUrl ?? options.server,
    tabId: identity.tabId,
  });
  const events = new PageEvents(options);
  const signals = new PageSignals({
    tabId: identity.tabId,
    send: (signal) => delivery.sendSignal(signal),
    nodeById: recordedNode,
    canvasId: (canvas) => recordedCanvasId(canvas, options.privacy),
    canvas: options.canvas ?? "ask",
    storage: tabStorage,
    labels: resolveLabels(options.locale, options.labels, document),
    nonce: options.nonce,
    onConsentRequest: options.onConsentRequest,
    onGrants: (grants) => events.grantsChanged(grants),
    onWatching: (watching) => events.watchingChanged(watching),
    view,
  });
  // Only to a server whose `welcome` said it answers: an older one closes on an unknown type.
  const help = new HelpDesk((signal) => delivery.helpCodes && delivery.sendSignal(signal));
  const helpWidget = options.helpButton === true ? new HelpWidget(signals.pageUi, () => help.request()) : null;
  const deliveryOptions: DeliveryOptions = {
    url,
    projectKey: options.projectKey,
    identity,
    saved,
    hello: () => ({
      page: pageInfo(options.recordQuery === true),
      user_id: userId,
      metadata,
      ...(view === "notify" ? {} : { view }),
    }),
    takeFullSnapshot: () => {
      recorder?.takeFullSnapshot();
    },
    onSignal: (signal) => {
      if (!help.receive(signal)) signals.receive(signal);
    },
    onWelcome: (welcome) => {
      link.welcome(welcome.sessionId, welcome.resumed);
      signals.connected(welcome.view);
      help.connected();
    },
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

  // Network entries are rrweb Plugin events of the tracker's own, recorded from start() (rrweb
  // starts at DOMContentLoaded, after a page's first requests), in the order requests end.
  const onRequest = (entry: NetworkEntry, timestamp: number): void => {
    add("rrweb", { type: EventType.Plugin, data: { plugin: NETWORK_PLUGIN, payload: entry }, timestamp }, timestamp, false);
  };

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
    network?.stop();
    network = null;
    signals.stop();
    events.stopped();
    help.stop();
    helpWidget?.remove();
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
      network?.stop();
      network = null;
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
    sessionId: () => link.sessionId,
    sessionURL: (urlOptions?: SessionURLOptions) => link.url(urlOptions),
    requestHelp() {
      return help.request();
    },
  };
  current = tracker;

  delivery.start();
  const networkOptions = networkSettings(options.network, options.recordQuery === true, options.server, () =>
    pageSecretValues(document, options.privacy),
  );
  if (networkOptions !== null) network = startNetworkRecording(window, new NetworkLog(networkOptions, onRequest));
  helpWidget?.show();
  recorder = startRecording(onRrweb, {
    privacy: options.privacy,
    consoleLevels: options.console === true ? options.consoleLevels : false,
    checkoutEveryNms: options.checkoutEveryNms,
    ...(canvasSettings === null ? {} : { canvas: canvasSettings }),
  });
  return tracker;
}

/*
 * The running tracker's handle as functions of the module, so that the script tag's global
 * (`Cobrowse.sessionURL()`) and the async snippet's queue reach it without keeping the handle.
 */

/** The running tracker's session id; undefined when none runs or before it connected. */
export function sessionId(): string | undefined {
  return current?.sessionId();
}

/** The running tracker's console link (see {@link Tracker.sessionURL}). */
export function sessionURL(options?: SessionURLOptions): string | undefined {
  return current?.sessionURL(options);
}

/** {@link Tracker.identify} on the running tracker. */
export function identify(userId: string): void {
  running("identify")?.identify(userId);
}

/** {@link Tracker.setMetadata} on the running tracker. */
export function setMetadata(metadata: Record<string, unknown>): void {
  running("setMetadata")?.setMetadata(metadata);
}

/** {@link Tracker.stop} on the running tracker. */
export function stop(): void {
  current?.stop();
}

/** {@link Tracker.end} on the running tracker. */
export function end(reason?: string): void {
  current?.end(reason);
}

function running(call: string): Tracker | null {
  if (current === null) log.warn(`${call}() called with no tracker running; call start() first`);
  return current;
}

/** {@link Tracker.requestHelp} of the running tracker, for a site's own "Get help" button. */
export function requestHelp(): Promise<HelpCode> {
  if (current === null) return Promise.reject(new Error("cobrowse: no tracker is running; call start() first"));
  return current.requestHelp();
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
