/**
 * The page's network requests as the session records them: one entry per `fetch` or
 * `XMLHttpRequest` call that finished (with a response, an error, an abort or a timeout), sent as
 * an rrweb Plugin event (type 6) whose `data.plugin` is {@link NETWORK_PLUGIN}, so replays and
 * the agent console find it beside rrweb's own console plugin. network-patch.ts sees the calls;
 * this module decides what of them is recorded, with the same defaults as the rest of the
 * tracker: the URL without credentials, query string and fragment (unless `recordQuery`), no headers and
 * no bodies unless the site turns them on (and then secret-looking values redacted, see
 * network-privacy.ts), every field bounded, the site's `sanitize` hook last, and at most a
 * bounded number of requests in flight and per second, so a page that polls cannot crowd the
 * session's events out. Requests to the cobrowse server's API are never recorded.
 */

import { bounded, MAX_BODY_CHARS, recordedBody, recordedHeaders, SecretValues } from "./network-privacy";
import { recordedUrl } from "./page-url";

/** The `data.plugin` of the tracker's network events; `@1` is the payload's version. */
export const NETWORK_PLUGIN = "cobrowse/network@1";
/** Requests followed at once; more go unrecorded (counted in the next entry's `dropped`). */
export const MAX_IN_FLIGHT = 100;
/** Entries recorded in a burst, and per second after it. */
export const BURST_ENTRIES = 50;
export const ENTRIES_PER_SEC = 10;
/** Characters of a recorded URL. */
export const MAX_URL_CHARS = 2048;

/** One finished request, as recorded (and as a site's `sanitize` hook sees it). */
export interface NetworkEntry {
  /** What made the request. */
  type: "fetch" | "xhr";
  /** Upper-case HTTP method. */
  method: string;
  /** Absolute URL; without query string and fragment unless the site set `recordQuery`. */
  url: string;
  /** HTTP status; 0 when there was no response (see `error`) or it was opaque (`no-cors`). */
  status: number;
  /** When the request was made (the page's clock, ms since the epoch). */
  startedAt: number;
  /** Until the response arrived (fetch: its headers; XHR: its whole body) or the request failed, ms. */
  duration: number;
  /** Bytes of the request body, when known. */
  requestSize: number | null;
  /** Bytes of the response body, when known (fetch: its `Content-Length`). */
  responseSize: number | null;
  /** Why there is no response: the network failed, the page aborted it, or it timed out. */
  error?: "network" | "aborted" | "timeout";
  /** Status ≥ 400 or an `error`: what the agent console highlights. */
  failed: boolean;
  /** With `headers: true`: the request's headers the page set, secret-looking ones redacted. */
  requestHeaders?: Record<string, string>;
  /** With `headers: true`: the response's headers the page may read, secret-looking ones redacted. */
  responseHeaders?: Record<string, string>;
  /** With `body: true`: the request body as text, secret-looking values redacted, bounded. */
  requestBody?: string;
  /** With `body: true`: a textual response body, secret-looking values redacted, bounded. */
  responseBody?: string;
  /** Requests left unrecorded since the previous entry (too many at once). */
  dropped?: number;
}

/** The `network` start option in its object form. */
export interface NetworkOptions {
  /** Record request and response headers (default `false`); secret-looking ones are redacted. */
  headers?: boolean;
  /** Record textual request and response bodies (default `false`); secret-looking values are redacted. */
  body?: boolean;
  /**
   * Sees every entry before it is recorded, as it would be recorded; returns it (changed or not)
   * to record it, or `null` to leave it out. Anything else (also a throw) leaves it out.
   */
  sanitize?: (entry: NetworkEntry) => NetworkEntry | null;
  /** Requests not to record: a URL starting with a string, or matching a RegExp (full URL). */
  ignoreUrls?: ReadonlyArray<string | RegExp>;
}

/** What the recorder does, resolved from the start options. */
export interface NetworkSettings {
  headers: boolean;
  body: boolean;
  recordQuery: boolean;
  sanitize: ((entry: NetworkEntry) => NetworkEntry | null) | undefined;
  /** Whether a request to this absolute URL goes unrecorded. */
  ignores(url: string): boolean;
  /**
   * The page's hidden values now (page-secrets.ts): redacted wherever they occur in recorded
   * headers and bodies. Read once per request, and only when headers or bodies are recorded.
   */
  pageValues: () => Iterable<string>;
}

/**
 * The settings for `network` (default `true`: method, URL, status, timing and sizes), or `null`
 * when it is `false`. `server` is the tracker's server: its API is never recorded. `pageValues`
 * gives the page's hidden values (see {@link NetworkSettings.pageValues}).
 */
export function networkSettings(
  option: boolean | NetworkOptions | undefined,
  recordQuery: boolean,
  server: string,
  pageValues: () => Iterable<string> = () => [],
): NetworkSettings | null {
  if (option === false) return null;
  const options: NetworkOptions = option === true || option === undefined ? {} : option;
  const api = serverApiPrefix(server);
  // A RegExp with the `g` or `y` flag keeps a `lastIndex` that `test` moves: the same URL would
  // match every other time. A copy without those flags always tests the whole URL.
  const ignoreUrls = (options.ignoreUrls ?? []).map((rule) =>
    typeof rule === "string" ? rule : new RegExp(rule.source, rule.flags.replace(/[gy]/g, "")),
  );
  return {
    headers: options.headers === true,
    body: options.body === true,
    recordQuery,
    sanitize: options.sanitize,
    pageValues,
    ignores: (url) =>
      (api !== null && url.startsWith(api)) ||
      ignoreUrls.some((rule) => (typeof rule === "string" ? url.startsWith(rule) : rule.test(url))),
  };
}

/** `https://cobrowse.example/prefix/api/`: where the tracker's own requests go. */
function serverApiPrefix(server: string): string | null {
  try {
    const url = new URL(server);
    return `${url.origin}${url.pathname.replace(/\/+$/, "")}/api/`;
  } catch {
    return null;
  }
}

/** A request as it went out. */
export interface OutgoingRequest {
  type: NetworkEntry["type"];
  method: string;
  /** As the page gave it (may be relative). */
  url: string;
  headers?: Iterable<[string, string]>;
  /** The body: its size when known, and its text when it is text (or a form). */
  body?: { size: number | null; text?: string } | null;
}

/** How a request ended. */
export interface RequestOutcome {
  status: number;
  responseSize: number | null;
  error?: NetworkEntry["error"];
  headers?: Iterable<[string, string]>;
  /** The response body as text, when recorded and textual. */
  body?: string;
  /** When the response arrived (see {@link NetworkLog.time}); now when absent. */
  endedAt?: number;
}

/** A request being followed: what the recorder needs when it ends. */
export interface PendingRequest {
  readonly entry: NetworkEntry;
  /** The page's hidden values when the request went out, for its response too. */
  readonly secrets: SecretValues | null;
  done: boolean;
}

/**
 * Turns requests into entries within the bounds: {@link begin} when one goes out, {@link finish}
 * when it ends. Time is an input (`now`), so the bounds are unit tests.
 */
export class NetworkLog {
  private inFlight = 0;
  private dropped = 0;
  private tokens = BURST_ENTRIES;
  private refilledAt: number;

  constructor(
    readonly settings: NetworkSettings,
    private readonly emit: (entry: NetworkEntry, timestamp: number) => void,
    private readonly now: () => number = Date.now,
    private readonly base: () => string = () => document.baseURI,
  ) {
    this.refilledAt = now();
  }

  /** Whether bodies are recorded (the patches read response bodies only then). */
  get recordsBodies(): boolean {
    return this.settings.body;
  }

  /** Whether headers are recorded (the patches read response headers only then). */
  get recordsHeaders(): boolean {
    return this.settings.headers;
  }

  /** The recorder's clock, for {@link RequestOutcome.endedAt}. */
  time(): number {
    return this.now();
  }

  /** A request goes out: its pending entry, or null when it is not recorded. */
  begin(request: OutgoingRequest): PendingRequest | null {
    let absolute: string;
    try {
      absolute = new URL(request.url, this.base()).href;
    } catch {
      absolute = String(request.url);
    }
    if (this.settings.ignores(absolute)) return null;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.dropped++;
      return null;
    }
    this.inFlight++;
    const body = request.body ?? null;
    const entry: NetworkEntry = {
      type: request.type,
      method: bounded(String(request.method || "GET").toUpperCase(), 16),
      url: recordedRequestUrl(absolute, this.settings.recordQuery),
      status: 0,
      startedAt: this.now(),
      duration: 0,
      requestSize: body?.size ?? null,
      responseSize: null,
      failed: false,
    };
    const secrets = this.settings.headers || this.settings.body ? new SecretValues(this.settings.pageValues()) : null;
    if (secrets !== null && this.settings.headers) entry.requestHeaders = recordedHeaders(request.headers ?? [], secrets);
    if (secrets !== null && this.settings.body && body?.text !== undefined) entry.requestBody = recordedBody(body.text, secrets);
    return { entry, secrets, done: false };
  }

  /** The request ended: its entry is recorded (sanitized, within the rate) once. */
  finish(pending: PendingRequest, outcome: RequestOutcome): void {
    if (pending.done) return;
    pending.done = true;
    this.inFlight--;
    const now = this.now();
    const entry = pending.entry;
    entry.duration = Math.max(0, (outcome.endedAt ?? now) - entry.startedAt);
    entry.status = Number.isInteger(outcome.status) ? outcome.status : 0;
    entry.responseSize = outcome.responseSize;
    if (outcome.error !== undefined) entry.error = outcome.error;
    entry.failed = outcome.error !== undefined || entry.status >= 400;
    const secrets = pending.secrets ?? undefined;
    if (this.settings.headers) entry.responseHeaders = recordedHeaders(outcome.headers ?? [], secrets);
    if (this.settings.body && outcome.body !== undefined) entry.responseBody = recordedBody(outcome.body, secrets);
    if (!this.takeToken(now)) {
      this.dropped++;
      return;
    }
    const kept = this.sanitized(entry);
    if (kept === null) return;
    if (this.dropped > 0) kept.dropped = this.dropped;
    this.dropped = 0;
    this.emit(kept, now);
  }

  /** The request never went out (the call threw): it is forgotten. */
  cancel(pending: PendingRequest): void {
    if (pending.done) return;
    pending.done = true;
    this.inFlight--;
  }

  /** The site's hook, then the bounds again (a hook may add anything). */
  private sanitized(entry: NetworkEntry): NetworkEntry | null {
    const sanitize = this.settings.sanitize;
    if (sanitize === undefined) return entry;
    let result: unknown;
    try {
      result = sanitize(copyEntry(entry));
    } catch {
      return null;
    }
    if (result === null || typeof result !== "object") return null;
    return boundedEntry(result as Partial<NetworkEntry>, entry);
  }

  private takeToken(now: number): boolean {
    const elapsed = Math.max(0, now - this.refilledAt);
    this.tokens = Math.min(BURST_ENTRIES, this.tokens + (elapsed * ENTRIES_PER_SEC) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * A request's URL as recorded: never with credentials (`https://user:password@…`, which
 * `xhr.open` takes), without query and fragment unless asked, a `data:` URL cut to its type.
 */
export function recordedRequestUrl(url: string, recordQuery: boolean): string {
  if (url.startsWith("data:")) return `data:${url.slice(5).split(/[;,]/, 1)[0] ?? ""}`;
  return bounded(recordedUrl(url, recordQuery), MAX_URL_CHARS);
}

function copyEntry(entry: NetworkEntry): NetworkEntry {
  const copy: NetworkEntry = { ...entry };
  if (entry.requestHeaders) copy.requestHeaders = { ...entry.requestHeaders };
  if (entry.responseHeaders) copy.responseHeaders = { ...entry.responseHeaders };
  return copy;
}

/**
 * What a sanitizer returned, kept to the entry's shape and bounds: unknown fields are dropped,
 * missing or mistyped ones fall back to the original's, text is cut. Headers and bodies stay only
 * if the site records them (a hook cannot add what the options leave out).
 */
function boundedEntry(value: Partial<NetworkEntry>, original: NetworkEntry): NetworkEntry {
  const text = (v: unknown, fallback: string, max: number): string => (typeof v === "string" ? bounded(v, max) : fallback);
  const num = (v: unknown, fallback: number): number => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
  const size = (v: unknown, fallback: number | null): number | null => (v === null ? null : num(v, fallback ?? 0));
  const entry: NetworkEntry = {
    type: value.type === "fetch" || value.type === "xhr" ? value.type : original.type,
    method: text(value.method, original.method, 16),
    url: text(value.url, original.url, MAX_URL_CHARS),
    status: num(value.status, original.status),
    startedAt: num(value.startedAt, original.startedAt),
    duration: num(value.duration, original.duration),
    requestSize: size(value.requestSize, original.requestSize),
    responseSize: size(value.responseSize, original.responseSize),
    failed: typeof value.failed === "boolean" ? value.failed : original.failed,
  };
  const error = "error" in value ? value.error : original.error;
  if (error === "network" || error === "aborted" || error === "timeout") entry.error = error;
  if (original.requestHeaders && value.requestHeaders) entry.requestHeaders = recordedHeaders(Object.entries(value.requestHeaders));
  if (original.responseHeaders && value.responseHeaders) entry.responseHeaders = recordedHeaders(Object.entries(value.responseHeaders));
  if ("requestBody" in original && typeof value.requestBody === "string") entry.requestBody = bounded(value.requestBody, MAX_BODY_CHARS);
  if ("responseBody" in original && typeof value.responseBody === "string") entry.responseBody = bounded(value.responseBody, MAX_BODY_CHARS);
  return entry;
}
