/**
 * The tracker's WebSocket to the server (`/api/v1/track`): handshake, batching, acks, resending
 * and reconnecting. It reads events from the {@link EventBuffer} and never owns them: an event
 * leaves the buffer only when an `ack` covers it or the server `rejected` it.
 *
 * Lifecycle:
 * 1. open the socket and send `hello` (with the stored session token, if any);
 * 2. on `welcome`: store the new token and send every unacknowledged event in `seq` order, then
 *    new events in batches: while an agent watches, at once when no batch awaits its ack and
 *    otherwise as soon as the ack comes (so an idle server sees each event at once and a busy
 *    one gets fewer, larger appends); while the server says nobody watches, every
 *    {@link UNWATCHED_BATCH_DELAY_MS} ms; always at once when {@link BATCH_MAX_EVENTS} are
 *    waiting; at most {@link MAX_IN_FLIGHT} batches unacknowledged, paced below the session's
 *    `events_per_sec`;
 * 3. on close, by code: 4010 (ended), 4004 (no such session) and 4001 after presenting a token
 *    (bad or expired token) start a new session: the token and the old session's events are
 *    forgotten and a fresh full snapshot is taken. 4001 without a token (unknown project key)
 *    and 4003 (origin not allowed) are configuration errors: the tracker stops. 4002, 1007 and
 *    1009 mean this client sent something wrong: logged as errors, then reconnect. Everything
 *    else (1001, 1006, 1011, 4009, 4029, ...) reconnects with exponential backoff.
 *
 * Full snapshots serialise the whole page, and `resync` comes from agents, who may send it as
 * fast as the server lets them. So a `resync` is served by at most one snapshot a
 * {@link RESYNC_INTERVAL_MS} (see {@link SnapshotLimiter}); the snapshots the connection needs for
 * itself (a new session, events dropped) are taken at once and count as the latest. A snapshot
 * goes out as soon as it is taken, ahead of the batching rules above: an agent's view of the page
 * waits for it.
 *
 * Agents' signals (§9, §10: consent requests, grants, control input, strokes, call offers and
 * candidates) are handed to `onSignal` as they arrive; the answers (`consent`, `revoke`,
 * `refused`, `call_join`, `call_answer`, `call_candidate`, `hangup`) go out through
 * {@link TrackerConnection.sendSignal}. The connection only carries them: what they mean is the
 * business of the consent, control, annotation and call modules.
 */

import { Backoff } from "./backoff";
import type { EventBuffer } from "./buffer";
import type { Identity } from "./identity";
import { log } from "./log";
import {
  Close,
  DEFAULT_LIMITS,
  type Limits,
  type PageInfo,
  type PageSignal,
  PROTOCOL_VERSION,
  ProtocolError,
  type ServerMessage,
  type TrackerMessage,
  type TrackerSignal,
  decodeServerMessage,
  encodeTrackerMessage,
} from "./protocol";

/**
 * New events wait this long before they are sent while nobody watches: every batch is a write to
 * the store, most sessions are recorded with nobody watching, and then nobody waits for the
 * events. (While an agent watches, they go on the ack: docs/benchmarks.md, "When trackers send".)
 */
/**
 * What the page learns from a `welcome`: the session, whether this connection began it, and the
 * session's `view` mode (absent from an older server).
 */
export interface WelcomeInfo {
  sessionId: string;
  resumed: boolean;
  view?: "silent" | "notify" | "ask";
}

export const UNWATCHED_BATCH_DELAY_MS = 1_000;
/** A batch holds at most this many events; this many waiting are sent at once. */
export const BATCH_MAX_EVENTS = 64;
/** Batches sent and not yet acknowledged (the server stops reading beyond 64). */
export const MAX_IN_FLIGHT = 64;
/** Data bytes per batch (one larger event goes alone). */
export const BATCH_MAX_BYTES = 1024 * 1024;
/** A connection that has not received `welcome` by then is dropped and retried. */
export const HANDSHAKE_TIMEOUT_MS = 15_000;
/** A `resync` is served by at most one full snapshot this often. */
export const RESYNC_INTERVAL_MS = 1_000;

/** The part of the browser `WebSocket` this module uses. */
export interface WebSocketLike {
  binaryType: BinaryType;
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

/** What `hello` says about the page and the user; read on every (re)connect. */
export interface HelloInfo {
  page: PageInfo;
  user_id?: string;
  metadata: Record<string, string>;
  /** The site's `view` option; left out when it is the default (`notify`). */
  view?: "silent" | "ask";
}

export interface ConnectionOptions {
  /** `ws(s)://host/api/v1/track`. */
  url: string;
  projectKey: string;
  /** The tab id, and the session token to present (the delivery worker's stands in for the page's). */
  identity: SessionIdentity;
  buffer: EventBuffer;
  hello: () => HelloInfo;
  /**
   * Called before each connection attempt; the socket is opened once `ready` is called. The
   * delivery worker asks the page for `hello`'s page info and the stored token here, as it cannot
   * read them itself. Without it the socket opens at once.
   */
  prepare?: (ready: () => void) => void;
  /** Take a full snapshot now (an agent joined, or events were dropped). */
  takeFullSnapshot: () => void;
  /**
   * `welcome` arrived: the connection is open and {@link TrackerConnection.sendSignal} works.
   * Called before anything else is sent on this connection.
   */
  onWelcome?: (welcome: WelcomeInfo) => void;
  /** The socket closed after `welcome` (signals cannot be sent until the next `welcome`). */
  onClosed?: () => void;
  /**
   * An agent's signal arrived: a consent request or cancel, the grants, control input, a stroke,
   * or a message of a call.
   */
  onSignal: (signal: PageSignal) => void;
  /** The tracker gave up for good (configuration error, or the session was ended). */
  onStopped?: (reason: string) => void;
  webSocket?: WebSocketFactory;
  backoff?: Backoff;
  now?: () => number;
}

/** What the connection needs of the tab's {@link Identity}. */
export type SessionIdentity = Pick<Identity, "tabId" | "sessionToken" | "storeToken" | "forgetToken">;

type State = "idle" | "handshake" | "open" | "waiting" | "stopped";

const OPEN = 1;

export class TrackerConnection {
  private readonly options: ConnectionOptions;
  private readonly backoff: Backoff;
  private readonly openSocket: WebSocketFactory;
  private readonly now: () => number;
  private state: State = "idle";
  private ws: WebSocketLike | null = null;
  /** The token presented in this connection's `hello` (or received in its `welcome`). */
  private token: string | undefined;
  private limitsValue: Limits = { ...DEFAULT_LIMITS };
  private helpCodesValue = false;
  /** Highest `seq` sent on this connection. */
  private sentSeq = 0;
  /** Last `seq` of each batch sent and not yet acknowledged, oldest first. */
  private inFlight: number[] = [];
  private pacer = new Pacer(DEFAULT_LIMITS.events_per_sec);
  private readonly snapshots: SnapshotLimiter;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether an agent watches; until the server says, batch as if one did. */
  private watched = true;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  private endReason: string | undefined;
  private ending = false;
  private endSent = false;
  /** Connection attempts made; a `prepare` that answers late for an old one is ignored. */
  private attempts = 0;

  constructor(options: ConnectionOptions) {
    this.options = options;
    this.backoff = options.backoff ?? new Backoff();
    this.openSocket = options.webSocket ?? ((url) => new WebSocket(url));
    this.now = options.now ?? Date.now;
    this.snapshots = new SnapshotLimiter(() => {
      options.takeFullSnapshot();
      // Someone waits for it (an agent who joined, or the server for a new session): send it
      // now, not with the ack of a batch in flight, nor after the unwatched delay.
      this.flush();
    }, this.now);
  }

  /** Limits announced by the server (its defaults until the first `welcome`). */
  get limits(): Limits {
    return this.limitsValue;
  }

  /** Whether the last `welcome` said the server answers `help_request` (an older one does not). */
  get helpCodes(): boolean {
    return this.helpCodesValue;
  }

  /** Whether `welcome` was received on the current socket. */
  get connected(): boolean {
    return this.state === "open";
  }

  get stopped(): boolean {
    return this.state === "stopped";
  }

  start(): void {
    if (this.state === "idle") this.connect();
  }

  /**
   * New events are in the buffer: while an agent watches, send them now unless a batch awaits its
   * ack (they go with the ack); while nobody watches, within {@link UNWATCHED_BATCH_DELAY_MS}.
   */
  notify(): void {
    if (this.state !== "open") return;
    const waiting = this.options.buffer.countAfter(this.sentSeq);
    if (waiting >= BATCH_MAX_EVENTS || (this.watched && this.inFlight.length === 0)) {
      this.flush();
    } else if (!this.watched && this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush(), UNWATCHED_BATCH_DELAY_MS);
    }
  }

  /** Sends everything that may be sent now (the page is being hidden or unloaded). */
  flushNow(): void {
    if (this.state === "open") this.flush();
  }

  /**
   * Sends a consent answer, revoke, refusal or call message now, if the connection is open
   * (after `welcome`), and says whether it did. Nothing is queued: an answer given while offline
   * would be stale by the time it arrived (the server times requests out and drops grants of a
   * moved tracker, and a call is joined again after the next `welcome`).
   */
  sendSignal(signal: TrackerSignal): boolean {
    return this.state === "open" && this.send(signal);
  }

  /** Reconnects at once if waiting to retry (the browser came back online). */
  retryNow(): void {
    if (this.state !== "waiting") return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  /** Ends the session for good once everything recorded is sent. */
  end(reason?: string): void {
    if (this.state === "stopped" || this.ending) return;
    this.ending = true;
    this.endReason = reason;
    this.flushNow();
  }

  /** Closes the connection and stops reconnecting; the session itself stays open. */
  stop(): void {
    this.shutdown();
    this.ws?.close(Close.NORMAL, "tracker stopped");
    this.ws = null;
  }

  private shutdown(): void {
    this.state = "stopped";
    clearTimeout(this.flushTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.handshakeTimer);
    this.flushTimer = undefined;
    this.snapshots.cancel();
  }

  private connect(): void {
    this.state = "handshake";
    this.watched = true;
    this.sentSeq = 0;
    this.inFlight = [];
    this.endSent = false;
    const prepare = this.options.prepare;
    if (prepare === undefined) {
      this.open();
      return;
    }
    const attempt = ++this.attempts;
    prepare(() => {
      if (this.state === "handshake" && this.attempts === attempt && this.ws === null) this.open();
    });
  }

  private open(): void {
    let ws: WebSocketLike;
    try {
      ws = this.openSocket(this.options.url);
    } catch (error) {
      // An invalid URL, or a page policy (CSP) that forbids the connection.
      log.error(`cannot open ${this.options.url}:`, error);
      this.retryLater();
      return;
    }
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      if (this.ws === ws) this.sendHello();
    };
    ws.onmessage = (event) => {
      if (this.ws === ws) this.receive(event.data);
    };
    ws.onclose = (event) => {
      if (this.ws === ws) this.closed(event.code, event.reason);
    };
    ws.onerror = () => {
      // A close event follows with the details that exist (usually 1006).
    };
    this.handshakeTimer = setTimeout(() => {
      if (this.ws !== ws || this.state !== "handshake") return;
      log.warn(`no welcome from ${this.options.url} within ${HANDSHAKE_TIMEOUT_MS} ms; retrying`);
      this.ws = null;
      ws.close();
      this.retryLater();
    }, HANDSHAKE_TIMEOUT_MS);
  }

  private sendHello(): void {
    const info = this.options.hello();
    this.token = this.options.identity.sessionToken();
    this.send({
      type: "hello",
      protocol: PROTOCOL_VERSION,
      project_key: this.options.projectKey,
      session_token: this.token,
      tab: this.options.identity.tabId,
      page: info.page,
      user_id: info.user_id,
      metadata: info.metadata,
      ...(info.view === undefined ? {} : { view: info.view }),
    });
  }

  private receive(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      log.warn("ignoring a text frame from the server");
      return;
    }
    let message: ServerMessage | null;
    try {
      message = decodeServerMessage(data);
    } catch (error) {
      log.error(error instanceof ProtocolError ? error.message : error);
      return;
    }
    if (message === null) return; // A message type newer than this tracker.
    switch (message.type) {
      case "welcome":
        this.helpCodesValue = message.help_codes === true;
        this.welcome(message.session_token, message.limits, {
          sessionId: message.session_id,
          resumed: message.resumed,
          ...(message.view === undefined ? {} : { view: message.view }),
        });
        break;
      case "ack":
        this.acked(message.seq);
        break;
      case "rejected":
        log.warn(`event ${message.seq} was rejected: ${message.reason}`);
        this.options.buffer.remove(message.seq);
        break;
      case "resync":
        this.snapshots.request();
        break;
      case "watching":
        this.setWatched(message.agents > 0);
        // The page tells the site who watches (page-events.ts).
        this.options.onSignal(message);
        break;
      default:
        this.options.onSignal(message);
    }
  }

  /** An agent started watching: what waits goes now, and from then on with each ack. */
  private setWatched(watched: boolean): void {
    const started = watched && !this.watched;
    this.watched = watched;
    if (started && this.flushTimer !== undefined) this.flush();
  }

  private welcome(token: string, limits: Limits, info: WelcomeInfo): void {
    if (this.state !== "handshake") return;
    clearTimeout(this.handshakeTimer);
    this.state = "open";
    this.token = token;
    this.options.identity.storeToken(token);
    this.limitsValue = limits;
    this.pacer = new Pacer(limits.events_per_sec);
    this.backoff.reset();
    this.options.onWelcome?.(info);
    if (this.options.buffer.snapshotNeeded) {
      this.options.buffer.snapshotNeeded = false;
      this.snapshots.takeNow();
    }
    this.flush();
  }

  private acked(seq: number): void {
    this.options.buffer.ack(seq);
    while (this.inFlight.length > 0 && this.inFlight[0]! <= seq) this.inFlight.shift();
    if (this.ending || (this.watched && this.options.buffer.countAfter(this.sentSeq) > 0)) {
      this.flush();
    } else {
      this.notify();
    }
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.state !== "open") return;
    const buffer = this.options.buffer;
    const maxBytes = Math.min(BATCH_MAX_BYTES, this.limitsValue.max_frame_bytes / 2);
    while (this.inFlight.length < MAX_IN_FLIGHT) {
      const batch = buffer.batchAfter(this.sentSeq, BATCH_MAX_EVENTS, maxBytes);
      if (batch.length === 0) break;
      const tooBig = batch.find((e) => e.data.byteLength > this.limitsValue.max_event_bytes);
      if (tooBig !== undefined) {
        // The server would refuse it, and one over max_frame_bytes would drop the connection.
        log.warn(`dropping event ${tooBig.seq}: ${tooBig.data.byteLength} bytes is over the server's limit`);
        buffer.remove(tooBig.seq);
        continue;
      }
      const wait = this.pacer.take(batch.length, this.now());
      if (wait > 0) {
        this.flushTimer = setTimeout(() => this.flush(), wait);
        return;
      }
      this.send({
        type: "events",
        events: batch.map(({ seq, ts, kind, data }) => ({ seq, ts, kind, data })),
      });
      const last = batch[batch.length - 1]!.seq;
      this.sentSeq = last;
      this.inFlight.push(last);
    }
    if (this.ending && !this.endSent && buffer.countAfter(this.sentSeq) === 0) {
      this.endSent = true;
      this.send({ type: "end", reason: this.endReason });
    }
  }

  /** Whether the message was handed to the socket. */
  private send(message: TrackerMessage): boolean {
    const ws = this.ws;
    if (ws === null || ws.readyState !== OPEN) return false;
    try {
      ws.send(encodeTrackerMessage(message));
      return true;
    } catch (error) {
      log.warn("send failed; the connection will be retried", error);
      return false;
    }
  }

  private closed(code: number, reason: string): void {
    const wasOpen = this.state === "open";
    this.ws = null;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (wasOpen) this.options.onClosed?.();
    if (this.state === "stopped") return;
    const why = reason === "" ? `close ${code}` : `close ${code}: ${reason}`;

    if (code === Close.NORMAL && this.endSent) {
      this.options.identity.forgetToken(this.token);
      this.options.buffer.clear();
      this.stopFor("the session was ended");
      return;
    }
    switch (code) {
      case Close.ENDED:
      case Close.NOT_FOUND:
        log.debug(`session is over (${why}); starting a new session`);
        this.newSession();
        return;
      case Close.UNAUTHORIZED:
        if (this.token !== undefined) {
          log.debug(`session token refused (${why}); starting a new session`);
          this.newSession();
        } else {
          log.error(`the server refused project key '${this.options.projectKey}' (${why}); tracking stopped`);
          this.stopFor(why);
        }
        return;
      case Close.FORBIDDEN_ORIGIN:
        log.error(`this page's origin is not allowed for project '${this.options.projectKey}' (${why}); tracking stopped`);
        this.stopFor(why);
        return;
      case Close.PROTOCOL:
      case Close.INVALID_FRAME:
      case Close.TOO_BIG:
        log.error(`the server refused a message of this tracker (${why}); reconnecting`);
        this.retryLater();
        return;
      default:
        log.debug(`connection lost (${why}); reconnecting`);
        this.retryLater();
    }
  }

  /** Forgets the old session and its unsent events, records a fresh snapshot, reconnects. */
  private newSession(): void {
    this.options.identity.forgetToken(this.token);
    this.token = undefined;
    this.options.buffer.clear();
    this.options.buffer.snapshotNeeded = false;
    if (this.ending) {
      // The session being ended is over already.
      this.stopFor("the session was ended");
      return;
    }
    this.snapshots.takeNow();
    this.retryLater();
  }

  private retryLater(): void {
    if (this.state === "stopped") return;
    this.state = "waiting";
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private stopFor(reason: string): void {
    this.shutdown();
    this.options.onStopped?.(reason);
  }
}

/** `ws(s)://<server>/api/v1/track` for an http(s) server origin. */
export function trackUrl(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new TypeError(`cobrowse: \`server\` must be an http(s) URL, got '${String(server)}'`);
  }
  if (url.protocol === "https:" || url.protocol === "wss:") url.protocol = "wss:";
  else if (url.protocol === "http:" || url.protocol === "ws:") url.protocol = "ws:";
  else throw new TypeError(`cobrowse: \`server\` must be an http(s) URL, got '${server}'`);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/api/v1/track`;
  url.search = "";
  url.hash = "";
  return url.toString();
}

/**
 * Spaces out the full snapshots taken for `resync`: the first request is served at once; one
 * within {@link RESYNC_INTERVAL_MS} of the last snapshot waits for the rest of that interval, and
 * requests while it waits add nothing, since the one snapshot then taken comes after all of them.
 * A snapshot taken for another reason ({@link takeNow}) is never delayed, counts as the last, and
 * serves a request that was waiting.
 */
class SnapshotLimiter {
  private readonly take: () => void;
  private readonly now: () => number;
  private last = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(take: () => void, now: () => number) {
    this.take = take;
    this.now = now;
  }

  /** An agent asked for a snapshot. */
  request(): void {
    if (this.timer !== undefined) return;
    // At most a whole interval, should the clock have gone back.
    const wait = Math.min(RESYNC_INTERVAL_MS, this.last + RESYNC_INTERVAL_MS - this.now());
    if (wait <= 0) {
      this.takeNow();
    } else {
      this.timer = setTimeout(() => this.takeNow(), wait);
    }
  }

  /** Takes a snapshot now. */
  takeNow(): void {
    this.cancel();
    this.last = this.now();
    this.take();
  }

  /** Forgets a waiting request (the tracker stopped). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * A token bucket that keeps one tab below the session's rate limit: it holds twice
 * `events_per_sec` (the server's holds four times, shared by all the session's tabs).
 */
class Pacer {
  private readonly rate: number;
  private readonly capacity: number;
  private tokens: number;
  private last = Number.NaN;

  constructor(eventsPerSec: number) {
    this.rate = Math.max(1, eventsPerSec) / 1000;
    this.capacity = Math.max(BATCH_MAX_EVENTS, 2 * eventsPerSec);
    this.tokens = this.capacity;
  }

  /** Takes `n` tokens and returns 0, or returns how many ms to wait until they are there. */
  take(n: number, now: number): number {
    if (!Number.isNaN(this.last)) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.rate);
    }
    this.last = now;
    if (this.tokens >= n) {
      this.tokens -= n;
      return 0;
    }
    return Math.ceil((n - this.tokens) / this.rate);
  }
}
