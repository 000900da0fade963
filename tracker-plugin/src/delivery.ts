/**
 * Delivery: how recorded events reach the server. The page hands each event over as its JSON
 * text; a {@link Delivery} gives it the tab's next `seq`, keeps it until the server acknowledges
 * it, and saves what is unacknowledged when the page goes away.
 *
 * Two kinds, one behaviour:
 * - **worker** (the default): the buffer and the connection run in a Web Worker started from a
 *   `blob:` URL (delivery-worker.ts), so the page's main thread only stringifies and posts each
 *   event. The page keeps a {@link PageCopy} of what the worker has not yet seen acknowledged, to
 *   save on `pagehide`.
 * - **main**: the buffer and the connection on the page itself. Used where no worker can start:
 *   no `Worker` (old browsers, some embedded views), a Content-Security-Policy whose `worker-src`
 *   (or `script-src`) refuses `blob:`, or `start({ worker: false })`. A worker that fails after
 *   it started (an `error` on it) is replaced by this too, from the page's copy, so nothing
 *   unacknowledged is lost; what the worker had sent is sent again and the server drops the
 *   duplicates by `seq`.
 */

import { EventBuffer } from "./buffer";
import { type HelloInfo, TrackerConnection, type WebSocketFactory, type WelcomeInfo } from "./connection";
import type { Identity } from "./identity";
import { log } from "./log";
import { DEFAULT_LIMITS, type EventKind, type Limits, type PageSignal, type TrackerSignal } from "./protocol";
import type { StorageLike } from "./storage";
import { type FromWorker, PageCopy, type PageEvent, type ToWorker } from "./worker-protocol";
import DeliveryWorker from "./worker-entry?worker&inline";

export interface Delivery {
  /** Where events are sent from now: `"main"` after a fallback. */
  readonly kind: "worker" | "main";
  /** Limits announced by the server (its defaults until the first `welcome`). */
  readonly limits: Limits;
  /** Bytes of events handed over and not yet acknowledged (what may defer waits on it). */
  readonly backlogBytes: number;
  /** Whether the server answers `help_request` (its last `welcome` said so). */
  readonly helpCodes: boolean;
  start(): void;
  /** Takes the tab's next `seq` for an event and sends it; `false` if it is too big to send. */
  add(kind: EventKind, json: string, ts: number, keep: boolean): boolean;
  /** Sends what may be sent now (the page is being hidden). */
  flushNow(): void;
  /** Reconnects now if waiting to (the browser came back online, the page came back). */
  retryNow(): void;
  /** Sends a signal if connected; says whether it went out (see TrackerConnection.sendSignal). */
  sendSignal(signal: TrackerSignal): boolean;
  /** Ends the session once everything recorded is sent. */
  end(reason?: string): void;
  /** Disconnects for good; the session stays open. */
  stop(): void;
  /** Saves what is unacknowledged for the tab's next page. */
  save(storage: StorageLike, key: string): void;
}

/** The part of a `Worker` this module uses. */
export interface WorkerLike {
  postMessage(message: ToWorker): void;
  onmessage: ((event: MessageEvent<FromWorker>) => void) | null;
  onerror: ((event: Event) => void) | null;
  terminate(): void;
}

export interface DeliveryOptions {
  url: string;
  projectKey: string;
  identity: Identity;
  /** What a previous page of the tab left unacknowledged. */
  saved: PageCopy;
  hello: () => HelloInfo;
  takeFullSnapshot: () => void;
  onSignal: (signal: PageSignal) => void;
  onWelcome: (welcome: WelcomeInfo) => void;
  onStopped: (reason: string) => void;
  /** Start a worker; `null` if none can start. Default: the built-in one from a `blob:` URL. */
  worker?: (() => WorkerLike | null) | false;
  /** For tests of the main-thread kind. */
  webSocket?: WebSocketFactory;
}

/** A worker delivery where a worker starts, else the main-thread one. */
export function startDelivery(options: DeliveryOptions): Delivery {
  const worker = options.worker === false ? null : (options.worker ?? startBuiltInWorker)();
  return worker === null ? new MainThreadDelivery(options, options.saved) : new WorkerDelivery(worker, options);
}

/** The built-in delivery worker, or `null` where this page cannot start one at all. */
function startBuiltInWorker(): WorkerLike | null {
  if (typeof Worker === "undefined" || typeof Blob === "undefined" || typeof URL.createObjectURL !== "function") {
    return null;
  }
  try {
    return new DeliveryWorker() as WorkerLike;
  } catch (error) {
    log.debug("cannot start the delivery worker; sending from the page", error);
    return null;
  }
}

const encoder = new TextEncoder();

/** Buffer and connection on the page's main thread. */
export class MainThreadDelivery implements Delivery {
  readonly kind = "main";
  private readonly identity: Identity;
  private readonly buffer = new EventBuffer();
  private readonly connection: TrackerConnection;

  constructor(options: DeliveryOptions, copy: PageCopy) {
    this.identity = options.identity;
    for (const e of copy.all()) {
      if (e.seq <= this.buffer.lastSeq) continue;
      this.buffer.push({ seq: e.seq, ts: e.ts, kind: e.kind, data: encoder.encode(e.json), keep: e.keep });
    }
    this.buffer.snapshotNeeded ||= copy.snapshotNeeded;
    this.connection = new TrackerConnection({
      url: options.url,
      projectKey: options.projectKey,
      identity: options.identity,
      buffer: this.buffer,
      hello: options.hello,
      takeFullSnapshot: options.takeFullSnapshot,
      onSignal: options.onSignal,
      onWelcome: options.onWelcome,
      onStopped: options.onStopped,
      webSocket: options.webSocket,
    });
  }

  get limits(): Limits {
    return this.connection.limits;
  }

  get helpCodes(): boolean {
    return this.connection.helpCodes;
  }

  get backlogBytes(): number {
    return this.buffer.bytes;
  }

  start(): void {
    this.connection.start();
  }

  add(kind: EventKind, json: string, ts: number, keep: boolean): boolean {
    const data = encoder.encode(json);
    if (data.byteLength > this.connection.limits.max_event_bytes) {
      log.warn(`not sending a ${kind} event of ${data.byteLength} bytes: over the server's limit`);
      return false;
    }
    this.buffer.push({ seq: this.identity.nextSeq(), ts, kind, data, keep });
    this.connection.notify();
    return true;
  }

  flushNow(): void {
    this.connection.flushNow();
  }

  retryNow(): void {
    this.connection.retryNow();
  }

  sendSignal(signal: TrackerSignal): boolean {
    return this.connection.sendSignal(signal);
  }

  end(reason?: string): void {
    this.connection.end(reason);
  }

  stop(): void {
    this.connection.stop();
  }

  save(storage: StorageLike, key: string): void {
    this.buffer.save(storage, key);
  }
}

/** Buffer and connection in a worker; the page keeps a copy of what is unacknowledged. */
export class WorkerDelivery implements Delivery {
  private readonly options: DeliveryOptions;
  private readonly copy: PageCopy;
  private worker: WorkerLike | null;
  /** The main-thread delivery that took over from a failed worker. */
  private fallback: MainThreadDelivery | null = null;
  private limitsValue: Limits = { ...DEFAULT_LIMITS };
  private helpCodesValue = false;
  /** Whether the worker said `welcome` and not `closed` since. */
  private connected = false;
  private started = false;
  private stopped = false;
  private ending: { reason: string | undefined } | null = null;

  constructor(worker: WorkerLike, options: DeliveryOptions) {
    this.options = options;
    this.copy = options.saved;
    this.worker = worker;
    worker.onmessage = (event) => this.receive(event.data);
    worker.onerror = (event) => {
      // Before `ready`: the worker never ran (a CSP refusing blob: workers reports it this way).
      event.preventDefault?.();
      this.fallBack();
    };
    worker.postMessage({
      type: "init",
      url: options.url,
      projectKey: options.projectKey,
      tabId: options.identity.tabId,
      events: [...this.copy.all()],
      snapshotNeeded: this.copy.snapshotNeeded,
    });
  }

  get kind(): "worker" | "main" {
    return this.fallback === null ? "worker" : "main";
  }

  get limits(): Limits {
    return this.fallback?.limits ?? this.limitsValue;
  }

  get helpCodes(): boolean {
    return this.fallback?.helpCodes ?? this.helpCodesValue;
  }

  get backlogBytes(): number {
    return this.fallback?.backlogBytes ?? this.copy.bytes;
  }

  start(): void {
    this.started = true;
    // The worker connects on `init`; starting is the page's cue only for a fallback.
    this.fallback?.start();
  }

  add(kind: EventKind, json: string, ts: number, keep: boolean): boolean {
    if (this.fallback !== null) return this.fallback.add(kind, json, ts, keep);
    // The exact size is the UTF-8 length, which the worker checks; a string longer in UTF-16 code
    // units than the limit is over it in UTF-8 bytes too.
    if (json.length > this.limitsValue.max_event_bytes) {
      log.warn(`not sending a ${kind} event of ${json.length} characters: over the server's limit`);
      return false;
    }
    const event: PageEvent = { seq: this.options.identity.nextSeq(), ts, kind, json, keep };
    this.copy.push(event);
    this.post({ type: "event", event });
    return true;
  }

  flushNow(): void {
    if (this.fallback !== null) this.fallback.flushNow();
    else this.post({ type: "flush" });
  }

  retryNow(): void {
    if (this.fallback !== null) this.fallback.retryNow();
    else this.post({ type: "retry" });
  }

  sendSignal(signal: TrackerSignal): boolean {
    if (this.fallback !== null) return this.fallback.sendSignal(signal);
    if (!this.connected) return false;
    this.post({ type: "signal", signal });
    return true;
  }

  end(reason?: string): void {
    this.ending = { reason };
    if (this.fallback !== null) this.fallback.end(reason);
    else this.post({ type: "end", reason });
  }

  stop(): void {
    this.stopped = true;
    if (this.fallback !== null) this.fallback.stop();
    else this.post({ type: "stop" });
  }

  save(storage: StorageLike, key: string): void {
    if (this.fallback !== null) this.fallback.save(storage, key);
    else this.copy.save(storage, key);
  }

  private post(message: ToWorker): void {
    this.worker?.postMessage(message);
  }

  private receive(message: FromWorker): void {
    if (this.fallback !== null) return;
    this.copy.apply(message);
    const { identity } = this.options;
    switch (message.type) {
      case "hello?":
        this.post({ type: "hello", info: this.options.hello(), token: identity.sessionToken() });
        break;
      case "welcome":
        this.limitsValue = message.limits;
        this.helpCodesValue = message.helpCodes;
        this.connected = true;
        this.options.onWelcome(message.welcome);
        break;
      case "closed":
        this.connected = false;
        break;
      case "snapshot":
        this.options.takeFullSnapshot();
        break;
      case "signal":
        this.options.onSignal(message.signal);
        break;
      case "store-token":
        identity.storeToken(message.token);
        break;
      case "forget-token":
        identity.forgetToken(message.token);
        break;
      case "stopped":
        this.connected = false;
        this.stopped = true;
        this.options.onStopped(message.reason);
        break;
    }
  }

  /** The worker failed: the page takes over from its copy of what is unacknowledged. */
  private fallBack(): void {
    if (this.fallback !== null || this.stopped) return;
    log.debug("the delivery worker could not run (a CSP without `worker-src blob:`?); sending from the page");
    this.worker?.terminate();
    this.worker = null;
    this.connected = false;
    this.fallback = new MainThreadDelivery(this.options, this.copy);
    if (this.started) this.fallback.start();
    if (this.ending !== null) this.fallback.end(this.ending.reason);
  }
}
