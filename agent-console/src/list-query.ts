// What the agent asks of the session list — search text and filters — and the two places it is
// written down: the API's query string (the list and its watch take the same one) and the
// console's URL hash (`#/sessions?q=alice&status=live`), so a link shares the search and opening
// it restores it. Pure.

export type StatusFilter = "any" | "live" | "ended";

/** The browser families the server tells apart (`SessionSummary.browser`). */
export const BROWSERS = ["chrome", "edge", "firefox", "safari", "opera", "other"] as const;
export type BrowserFilter = (typeof BROWSERS)[number];

export interface ListQuery {
  /** Substring of the user id, a metadata value, a visited URL or the session id; "" for all. */
  q: string;
  status: StatusFilter;
  browser: BrowserFilter | null;
  /** Only sessions whose page logged a console error. */
  errors: boolean;
  /** Started at or after, ms since the epoch. */
  from: number | null;
  /** Started at or before, ms since the epoch. */
  to: number | null;
}

export const EMPTY_QUERY: ListQuery = { q: "", status: "any", browser: null, errors: false, from: null, to: null };

/** Whether the query narrows the list at all. */
export function isFiltered(query: ListQuery): boolean {
  return queryParams(query).toString() !== "";
}

/**
 * The query as URL parameters, the same for the API and the hash; defaults are left out. A
 * blank search is no search.
 */
export function queryParams(query: ListQuery): URLSearchParams {
  const params = new URLSearchParams();
  const q = query.q.trim();
  if (q !== "") params.set("q", q);
  if (query.status !== "any") params.set("status", query.status);
  if (query.browser !== null) params.set("browser", query.browser);
  if (query.errors) params.set("errors", "true");
  if (query.from !== null) params.set("from", String(query.from));
  if (query.to !== null) params.set("to", String(query.to));
  return params;
}

/**
 * Reads a query back from URL parameters (a shared link's, so anything may be there): unknown
 * values fall back to the default rather than failing the list.
 */
export function parseQuery(params: URLSearchParams): ListQuery {
  const status = params.get("status");
  const browser = params.get("browser")?.toLowerCase() ?? "";
  const errors = params.get("errors");
  return {
    q: params.get("q") ?? "",
    status: status === "live" || status === "ended" ? status : params.get("live") === "true" ? "live" : "any",
    browser: (BROWSERS as readonly string[]).includes(browser) ? (browser as BrowserFilter) : null,
    errors: errors === "true" || errors === "1",
    from: parseMs(params.get("from")),
    to: parseMs(params.get("to")),
  };
}

function parseMs(value: string | null): number | null {
  if (value === null || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

/** The console's hash for the list under `query`: `#/` when nothing is filtered. */
export function listHash(query: ListQuery): string {
  const params = queryParams(query).toString();
  return params === "" ? "#/" : `#/sessions?${params}`;
}

/**
 * The list's query when `hash` is a route of the list (`#/`, `#/sessions`, `#/sessions?…`), else
 * null (another view's route).
 */
export function queryOfHash(hash: string): ListQuery | null {
  const path = hash.replace(/^#/, "");
  const question = path.indexOf("?");
  const route = question < 0 ? path : path.slice(0, question);
  if (route !== "" && route !== "/" && route !== "/sessions" && route !== "/sessions/") return null;
  return parseQuery(new URLSearchParams(question < 0 ? "" : path.slice(question + 1)));
}

/** A `datetime-local` input's value ("2026-12-07T10:30") in the agent's time zone as ms; null when blank or invalid. */
export function fromLocalInput(value: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value)) return null;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** Ms since the epoch as a `datetime-local` value in the agent's time zone, to the minute. */
export function toLocalInput(ms: number | null): string {
  if (ms === null) return "";
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
