/**
 * The link to this session in the agent console (`sessionURL()`), for a site to put into a
 * support ticket: `<console>/#/sessions/<id>`, and with `atCurrentTime` the console's link to a
 * moment, `?t=<ms after the session's start>&tab=<this tab>` (agent-console/src/moment-link.ts).
 *
 * `t` counts from the session's start as the server saw it. The tracker learns the start from
 * the `welcome` that began the session (`resumed: false`) and keeps it with the session id in
 * `localStorage`, shared by the user's tabs; a duration measured on the user's clock from there
 * is the server's up to the connection's latency (tens of ms), whatever the clock says in
 * absolute terms. A page that joined a session it did not see start, with no note of it (storage
 * refused), gives the link without `t`.
 */

import { type StorageLike, readJson, writeJson } from "./storage";

interface StoredStart {
  session: string;
  /** When the welcome that started it arrived, ms since the epoch on this browser's clock. */
  at: number;
}

export interface SessionLinkOptions {
  /** `localStorage`, shared by the user's tabs. */
  storage: StorageLike;
  /** Keys the note per project, as the session token is. */
  projectKey: string;
  /** The console's URL without the hash (the server's, unless the site says otherwise). */
  consoleUrl: string;
  tabId: string;
  now?: () => number;
}

export class SessionLink {
  private readonly options: SessionLinkOptions;
  private readonly key: string;
  private readonly now: () => number;
  private id: string | undefined;
  private startedAt: number | undefined;

  constructor(options: SessionLinkOptions) {
    this.options = options;
    this.key = `cobrowse.started.${options.projectKey}`;
    this.now = options.now ?? Date.now;
  }

  /** The session this page's connection belongs to; undefined until its first `welcome`. */
  get sessionId(): string | undefined {
    return this.id;
  }

  /** A `welcome`: the session id, and whether it continued a session or started one. */
  welcome(sessionId: string, resumed: boolean): void {
    this.id = sessionId;
    if (!resumed) {
      this.startedAt = this.now();
      writeJson(this.options.storage, this.key, { session: sessionId, at: this.startedAt } satisfies StoredStart);
      return;
    }
    const stored = readJson(this.options.storage, this.key) as Partial<StoredStart> | null;
    this.startedAt =
      stored?.session === sessionId && typeof stored.at === "number" && Number.isFinite(stored.at) ? stored.at : undefined;
  }

  /** The console link; undefined before the first `welcome`. */
  url(options: { atCurrentTime?: boolean } = {}): string | undefined {
    if (this.id === undefined) return undefined;
    const base = `${this.options.consoleUrl.replace(/#.*$/, "").replace(/\/+$/, "")}/#/sessions/${this.id}`;
    if (options.atCurrentTime !== true) return base;
    const params = new URLSearchParams();
    if (this.startedAt !== undefined) params.set("t", String(Math.max(0, Math.round(this.now() - this.startedAt))));
    params.set("tab", this.options.tabId);
    return `${base}?${params.toString()}`;
  }
}
