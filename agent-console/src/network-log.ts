// The user's page's network requests, as the tracker records them: Plugin events (type 6) whose
// `data.plugin` is "cobrowse/network@1" and whose `data.payload` is one finished fetch or
// XMLHttpRequest call (docs/protocol.md, "Network requests"). The event's timestamp is when the
// request ended. Parsed here, once, with every field checked (the page is untrusted input), and
// filtered by status class, type and text for the network panel. Pure.

import { formatBytes } from "./format";
import { EventType, isRrwebEvent } from "./rrweb-events";

export const NETWORK_PLUGIN = "cobrowse/network@1";

export interface NetworkRequest {
  type: "fetch" | "xhr";
  method: string;
  url: string;
  /** HTTP status; 0 without a response (see `error`) or for an opaque one. */
  status: number;
  /** "network", "aborted", "timeout", when the request got no response. */
  error: string | null;
  /** Status ≥ 400 or an error. */
  failed: boolean;
  /** How long it took, ms. */
  duration: number;
  requestSize: number | null;
  responseSize: number | null;
  /** When the request ended (the tracker's clock), ms: where the replay seeks to. */
  timestamp: number;
  /** When it was made (the tracker's clock), ms. */
  startedAt: number;
  /** Requests the tracker left out just before this one (too many at once). */
  dropped: number;
  /** Headers and bodies, when the site records them. */
  requestHeaders: Record<string, string> | null;
  responseHeaders: Record<string, string> | null;
  requestBody: string | null;
  responseBody: string | null;
  /** The tab it came from, when known. */
  tab: string | null;
}

const text = (v: unknown, max: number): string | null => (typeof v === "string" ? v.slice(0, max) : null);
const count = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : null);

function headers(v: unknown): Record<string, string> | null {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return null;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(v as Record<string, unknown>).slice(0, 100)) {
    if (typeof value === "string") out[name.slice(0, 128)] = value.slice(0, 2048);
  }
  return out;
}

/** The request an rrweb event carries, or null for any other event. */
export function networkRequestOf(event: unknown, tab: string | null = null): NetworkRequest | null {
  if (!isRrwebEvent(event) || event.type !== EventType.Plugin) return null;
  const data = event.data as Record<string, unknown> | null;
  if (!data || data["plugin"] !== NETWORK_PLUGIN) return null;
  const p = data["payload"] as Record<string, unknown> | null | undefined;
  if (!p || typeof p !== "object") return null;
  const url = text(p["url"], 4096);
  if (url === null) return null;
  const status = count(p["status"]) ?? 0;
  const error = text(p["error"], 32);
  return {
    type: p["type"] === "xhr" ? "xhr" : "fetch",
    method: (text(p["method"], 16) ?? "GET").toUpperCase(),
    url,
    status,
    error,
    failed: p["failed"] === true || error !== null || status >= 400,
    duration: count(p["duration"]) ?? 0,
    requestSize: count(p["requestSize"]),
    responseSize: count(p["responseSize"]),
    timestamp: event.timestamp,
    startedAt: count(p["startedAt"]) ?? event.timestamp,
    dropped: count(p["dropped"]) ?? 0,
    requestHeaders: headers(p["requestHeaders"]),
    responseHeaders: headers(p["responseHeaders"]),
    requestBody: text(p["requestBody"], 20_000),
    responseBody: text(p["responseBody"], 20_000),
    tab,
  };
}

/** Every request of a list of rrweb events, in order. */
export function networkRequests(events: readonly unknown[], tab: string | null = null): NetworkRequest[] {
  const out: NetworkRequest[] = [];
  for (const e of events) {
    const request = networkRequestOf(e, tab);
    if (request) out.push(request);
  }
  return out;
}

/** The choices of the panel's status filter. */
export const STATUS_FILTERS = ["all", "2xx", "3xx", "4xx", "5xx", "failed"] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];
/** The choices of the panel's type filter. */
export const TYPE_FILTERS = ["all", "fetch", "xhr"] as const;
export type TypeFilter = (typeof TYPE_FILTERS)[number];

export interface NetworkFilter {
  status: StatusFilter;
  type: TypeFilter;
  /** Words that must all appear in the method, URL or status (any case); "" matches all. */
  text: string;
}

export const NO_FILTER: NetworkFilter = { status: "all", type: "all", text: "" };

/**
 * Whether the panel shows `request` under `filter`: a status class counts the responses with a
 * status in it (`4xx`: 400–499); `failed` is status ≥ 400 or no response at all (a network
 * error, an abort, a timeout).
 */
export function matchesFilter(request: NetworkRequest, filter: NetworkFilter): boolean {
  if (filter.type !== "all" && request.type !== filter.type) return false;
  if (!matchesStatus(request, filter.status)) return false;
  const words = filter.text.toLowerCase().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return true;
  const haystack = `${request.method} ${request.url} ${statusLabel(request)}`.toLowerCase();
  return words.every((w) => haystack.includes(w));
}

function matchesStatus(request: NetworkRequest, filter: StatusFilter): boolean {
  switch (filter) {
    case "all":
      return true;
    case "failed":
      return request.failed;
    default: {
      const first = Number(filter[0]) * 100;
      return request.status >= first && request.status < first + 100;
    }
  }
}

/** What the status column says: the status, or why there is none. */
export function statusLabel(request: Pick<NetworkRequest, "status" | "error">): string {
  if (request.error === "network") return "failed";
  if (request.error !== null) return request.error;
  return request.status === 0 ? "opaque" : String(request.status);
}

/** A byte count as format.ts writes sizes; "–" when unknown. */
export function formatSize(bytes: number | null): string {
  return bytes === null ? "–" : formatBytes(bytes);
}

/** A request's duration as "85 ms", "1.24 s", "12.3 s". */
export function formatRequestDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The URL as the list shows it: its path (and query, when recorded) in front, where the list has
 * room, and its host apart; a URL that cannot be read is all path.
 */
export function displayUrl(url: string): { path: string; host: string } {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") {
      return { path: `${parsed.pathname}${parsed.search}${parsed.hash}`, host: parsed.host };
    }
  } catch {
    // Shown as recorded.
  }
  return { path: url, host: "" };
}
