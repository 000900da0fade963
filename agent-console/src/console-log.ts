// The user's browser console, as rrweb's console plugin records it: Plugin events (type 6) whose
// `data.plugin` is "rrweb/console@1" and whose `data.payload` is
// `{level, payload: string[], trace: string[]}`, each payload item a value serialized to text
// (strings arrive JSON-quoted).

import { EventType, isRrwebEvent } from "./rrweb-events";

export const CONSOLE_PLUGIN = "rrweb/console@1";

export interface ConsoleEntry {
  /** `log`, `info`, `warn`, `error`, `debug`, `assert`, `trace`, … as the page called it. */
  level: string;
  /** The arguments as one line of text. */
  text: string;
  /** When the user's page logged it (the tracker's clock), ms. */
  timestamp: number;
  /** Where it was logged, when the recorder captured a stack. */
  trace: string[];
  /** The tab it came from, when known. */
  tab: string | null;
}

/** One console argument as the agent should read it: strings unquoted, the rest as recorded. */
function argumentText(item: unknown): string {
  if (typeof item !== "string") {
    try {
      return JSON.stringify(item) ?? String(item);
    } catch {
      return String(item);
    }
  }
  if (item.startsWith('"') && item.endsWith('"') && item.length >= 2) {
    try {
      const parsed: unknown = JSON.parse(item);
      if (typeof parsed === "string") return parsed;
    } catch {
      // Not a JSON string after all; show it as recorded.
    }
  }
  return item;
}

/** The payload of one console call as a line of text. */
export function formatConsolePayload(payload: unknown): string {
  if (!Array.isArray(payload)) return payload === undefined ? "" : argumentText(payload);
  return payload.map(argumentText).join(" ");
}

/** The console entry an rrweb event carries, or null for any other event. */
export function consoleEntryOf(event: unknown, tab: string | null = null): ConsoleEntry | null {
  if (!isRrwebEvent(event) || event.type !== EventType.Plugin) return null;
  const data = event.data as Record<string, unknown> | null;
  if (!data || data["plugin"] !== CONSOLE_PLUGIN) return null;
  const p = data["payload"] as Record<string, unknown> | null | undefined;
  if (!p || typeof p !== "object") return null;
  const level = typeof p["level"] === "string" ? p["level"] : "log";
  const trace = Array.isArray(p["trace"]) ? p["trace"].filter((t): t is string => typeof t === "string") : [];
  return { level, text: formatConsolePayload(p["payload"]), timestamp: event.timestamp, trace, tab };
}

/** Every console entry of a list of rrweb events, in order. */
export function consoleEntries(events: readonly unknown[], tab: string | null = null): ConsoleEntry[] {
  const out: ConsoleEntry[] = [];
  for (const e of events) {
    const entry = consoleEntryOf(e, tab);
    if (entry) out.push(entry);
  }
  return out;
}

/** Whether an entry is an error to highlight (`console.error`, a failed `console.assert`). */
export function isError(entry: Pick<ConsoleEntry, "level">): boolean {
  return entry.level === "error" || entry.level === "assert";
}

/** The choices of the console panel's level filter. */
export const LEVEL_FILTERS = ["all", "error", "warn", "info", "log", "debug"] as const;
export type LevelFilter = (typeof LEVEL_FILTERS)[number];

/**
 * Entries a level filter shows: `all` shows everything; `error` errors and failed assertions;
 * `warn` warnings and errors (what needs attention); the others exactly their level (`log`
 * includes `trace`, `table`, `dir` and other calls that print like a log).
 */
export function matchesLevel(entry: Pick<ConsoleEntry, "level">, filter: LevelFilter): boolean {
  switch (filter) {
    case "all":
      return true;
    case "error":
      return isError(entry);
    case "warn":
      return entry.level === "warn" || isError(entry);
    case "info":
    case "debug":
      return entry.level === filter;
    case "log":
      return !["error", "assert", "warn", "info", "debug"].includes(entry.level);
  }
}

/**
 * How many of `entries` (sorted by timestamp) happened at or before `timestamp`: the prefix the
 * console panel shows while the agent looks at the past.
 */
export function countUpTo(entries: readonly Pick<ConsoleEntry, "timestamp">[], timestamp: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.timestamp <= timestamp) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
