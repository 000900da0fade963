// A link to a moment of a session: `#/sessions/<id>?t=<ms>&tab=<tab>`. `t` is the timeline
// position, ms after the session's start (server time, what the timeline slider counts), so a link
// means the same moment for every agent whatever their clock; `tab` is the tab to show. Both are
// optional: without them the link opens the session as before (live, or its replay from 0).
// Pure: the router and the "Copy link" button meet here.

export interface Moment {
  /** The session id, lower case. */
  session: string;
  /** Timeline position, ms after the session's start; null when the link names none. */
  t: number | null;
  /** The tab to show; null when the link names none. */
  tab: string | null;
}

const SESSION_PATH = /^\/sessions\/([0-9a-fA-F-]{36})(?:\?(.*))?$/;

/**
 * The moment a location hash names, or null when it is not a session link. A `t` that is not a
 * whole number of ms ≥ 0 is ignored (the session still opens), as is an empty `tab`.
 */
export function parseMomentHash(hash: string): Moment | null {
  const m = SESSION_PATH.exec(hash.replace(/^#/, ""));
  if (!m?.[1]) return null;
  const params = new URLSearchParams(m[2] ?? "");
  const rawT = params.get("t");
  const t = rawT !== null && /^\d{1,15}$/.test(rawT) ? Number(rawT) : null;
  const tab = params.get("tab") || null;
  return { session: m[1].toLowerCase(), t, tab };
}

/** The hash of a link to `moment` (what `parseMomentHash` reads back). */
export function momentHash(moment: Moment): string {
  const params = new URLSearchParams();
  if (moment.t !== null) params.set("t", String(Math.max(0, Math.round(moment.t))));
  if (moment.tab !== null && moment.tab !== "") params.set("tab", moment.tab);
  const query = params.toString();
  return `#/sessions/${moment.session}${query ? `?${query}` : ""}`;
}

/** The full URL of a link to `moment` on the console at `base` (its URL without the hash). */
export function momentUrl(base: string, moment: Moment): string {
  return `${base.replace(/#.*$/, "")}${momentHash(moment)}`;
}

/** What the session view shows, for the address bar to follow. */
export interface ShownMoment {
  session: string;
  /** Live (the timeline pinned to now) rather than a moment of the past. */
  live: boolean;
  /** The timeline position on screen, ms after the session's start. */
  t: number;
  /** The tab on screen. */
  tab: string | null;
  /** The agent picked the tab (live: rather than following the user's active tab). */
  pinned: boolean;
}

/**
 * The hash the address bar shows for what is on screen, so a copied URL opens the same moment:
 * while live, no `t` (the link opens live) and the tab only when the agent picked it; in the past,
 * the moment and its tab.
 */
export function shownHash(shown: ShownMoment): string {
  if (shown.live) return momentHash({ session: shown.session, t: null, tab: shown.pinned ? shown.tab : null });
  return momentHash({ session: shown.session, t: shown.t, tab: shown.tab });
}
