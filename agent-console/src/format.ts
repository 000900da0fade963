// Text the console shows: browser names, durations, times. Pure functions.

/**
 * "Chrome 120", "Firefox 121", "Safari 17", "Edge 120", … from a User-Agent string; "Unknown"
 * when nothing matches. Order matters: Edge and Opera also say "Chrome", Chrome also says
 * "Safari".
 */
export function browserName(userAgent: string): string {
  const ua = userAgent ?? "";
  const rules: Array<[RegExp, string]> = [
    [/Edg(?:e|A|iOS)?\/(\d+)/, "Edge"],
    [/(?:OPR|Opera)\/(\d+)/, "Opera"],
    [/SamsungBrowser\/(\d+)/, "Samsung Internet"],
    [/(?:Firefox|FxiOS)\/(\d+)/, "Firefox"],
    [/HeadlessChrome\/(\d+)/, "Headless Chrome"],
    [/(?:Chrome|CriOS|Chromium)\/(\d+)/, "Chrome"],
    [/Version\/(\d+)(?:[.\d]*)? (?:Mobile\/\S+ )?Safari\//, "Safari"],
  ];
  for (const [re, name] of rules) {
    const m = re.exec(ua);
    if (m) return `${name} ${m[1]}`;
  }
  if (/Safari\//.test(ua)) return "Safari";
  return "Unknown";
}

/** A duration as "0s", "45s", "3m 05s", "1h 02m". Negative durations count as 0. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

/** A position on a timeline as "m:ss" or "h:mm:ss". */
export function formatOffset(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** How long ago `thenMs` was at `nowMs`: "just now", "42 s ago", "3 min ago", "2 h ago", "5 d ago". */
export function formatAgo(thenMs: number, nowMs: number): string {
  const s = Math.floor((nowMs - thenMs) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A wall-clock time in the agent's time zone, with milliseconds: "14:03:07.123". */
export function formatClockTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A start time for the list: the time today, else the date and time. */
export function formatStarted(ms: number, nowMs: number): string {
  const d = new Date(ms);
  const now = new Date(nowMs);
  const time = d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (d.toDateString() === now.toDateString()) return time;
  return `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${time}`;
}

/** The fields of a session summary that the duration depends on. */
export interface SessionTimes {
  started_ms: number;
  last_activity_ms: number;
  live: boolean;
  ended_ms: number | null;
}

/** How long a session has lasted: until now when live, until its end (or last record) if not. */
export function sessionDuration(s: SessionTimes, nowMs: number): number {
  const end = s.live ? nowMs : (s.ended_ms ?? s.last_activity_ms);
  return Math.max(0, end - s.started_ms);
}

/** Who a session is: its user id, else a short form of its id. */
export function userLabel(s: { user_id: string | null; id: string }): string {
  return s.user_id && s.user_id.trim() !== "" ? s.user_id : `anonymous · ${s.id.slice(-6)}`;
}

/** A size as "812 B", "34.5 kB", "2.4 MB" (powers of 1000, as browsers show downloads). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${Math.max(0, Math.round(bytes))} B`;
  const units = ["kB", "MB", "GB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
