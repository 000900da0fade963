/**
 * Who this tracker is: the browser session it belongs to, the tab it runs in, and the tab's
 * sequence numbers.
 *
 * - **Session token** (`localStorage`, per project key): shared by all tabs of the user on this
 *   site and kept across navigations. It is forgotten after {@link SESSION_IDLE_MS} without any
 *   recorded event in any tab, so the next page starts a new session.
 * - **Tab id** (`sessionStorage`): one per tab, kept across reloads and navigations of that tab.
 *   A browser copies `sessionStorage` when a tab is duplicated, which would give two tabs one id
 *   (and make the server drop one tab's events as duplicates). So the id is *checked out*: it is
 *   removed from storage while a page holds it and written back on `pagehide`. A duplicated tab
 *   finds no id and makes its own.
 * - **Sequence numbers**: per tab, starting at 1, strictly increasing and contiguous across
 *   reloads: the next value is written to `sessionStorage` when the page hands the tab id back
 *   ({@link Identity.release}, on `pagehide`), so the tab's next page continues exactly where this
 *   one stopped. Only a page holding the tab id hands out its numbers, and a page that dies
 *   without `pagehide` never hands the id back (its tab's next page makes a new one), so writing
 *   on release is enough; writing on every event cost the page a storage write per event
 *   (docs/benchmarks.md, "Tracker main-thread cost"). With no gaps of its own, a gap in a tab's
 *   stored sequence means a lost event.
 */

import { type StorageLike, readJson, removeItem, writeJson } from "./storage";

/** A session expires after this long without activity in any of the user's tabs. */
export const SESSION_IDLE_MS = 30 * 60 * 1000;
/** Activity is written to storage at most this often. */
const TOUCH_INTERVAL_MS = 5_000;

const TAB_KEY = "cobrowse.tab";
const TAB_ID = /^[A-Za-z0-9_-]{1,64}$/;

interface StoredSession {
  token: string;
  /** Last activity, ms since the epoch. */
  touched: number;
}

export interface IdentityOptions {
  projectKey: string;
  /** Shared by the user's tabs (`localStorage`). */
  local: StorageLike;
  /** This tab's (`sessionStorage`). */
  tab: StorageLike;
  now?: () => number;
  idleMs?: number;
}

export class Identity {
  readonly tabId: string;
  private readonly local: StorageLike;
  private readonly tab: StorageLike;
  private readonly sessionKey: string;
  private readonly seqKey: string;
  private readonly now: () => number;
  private readonly idleMs: number;
  private nextSeqValue: number;
  private lastTouch = Number.NEGATIVE_INFINITY;

  constructor(options: IdentityOptions) {
    this.local = options.local;
    this.tab = options.tab;
    this.now = options.now ?? Date.now;
    this.idleMs = options.idleMs ?? SESSION_IDLE_MS;
    this.sessionKey = `cobrowse.session.${options.projectKey}`;

    let stored: string | null = null;
    try {
      stored = this.tab.getItem(TAB_KEY);
    } catch {
      stored = null;
    }
    this.tabId = stored !== null && TAB_ID.test(stored) ? stored : newTabId();
    removeItem(this.tab, TAB_KEY);

    this.seqKey = `cobrowse.seq.${this.tabId}`;
    this.nextSeqValue = this.storedNextSeq() ?? 1;
  }

  /** The next sequence number of this tab (starts at 1, +1 each call, across reloads). */
  nextSeq(): number {
    return this.nextSeqValue++;
  }

  /** The session token to resume with, or `undefined` if there is none or it went idle. */
  sessionToken(): string | undefined {
    const stored = this.readSession();
    if (stored === null) return undefined;
    if (this.now() - stored.touched > this.idleMs) {
      removeItem(this.local, this.sessionKey);
      return undefined;
    }
    return stored.token;
  }

  /** Keeps the newest token from a `welcome`. */
  storeToken(token: string): void {
    const now = this.now();
    writeJson(this.local, this.sessionKey, { token, touched: now } satisfies StoredSession);
    this.lastTouch = now;
  }

  /**
   * Forgets the session token `token` (the session ended or the token is no longer valid). A
   * newer token another tab stored meanwhile is kept.
   */
  forgetToken(token: string | undefined): void {
    const stored = this.readSession();
    if (stored !== null && (token === undefined || stored.token === token)) {
      removeItem(this.local, this.sessionKey);
    }
  }

  /** Records activity, keeping the session alive (throttled; an expired session stays expired). */
  touch(): void {
    const now = this.now();
    if (now - this.lastTouch < TOUCH_INTERVAL_MS) return;
    this.lastTouch = now;
    const stored = this.readSession();
    if (stored === null || now - stored.touched > this.idleMs) return;
    writeJson(this.local, this.sessionKey, { token: stored.token, touched: now } satisfies StoredSession);
  }

  /**
   * Hands the tab id back to the tab's storage, with the next sequence number, so the next page
   * of this tab takes both over.
   */
  release(): void {
    writeJson(this.tab, this.seqKey, this.nextSeqValue);
    try {
      this.tab.setItem(TAB_KEY, this.tabId);
    } catch {
      // The next page makes a new tab id; its events still reach the same session.
    }
  }

  /**
   * Takes the tab id again after {@link release}, when a page comes back from the bfcache. Pages
   * of this tab may have used sequence numbers meanwhile: continue after theirs.
   */
  reclaim(): void {
    try {
      if (this.tab.getItem(TAB_KEY) === this.tabId) this.tab.removeItem(TAB_KEY);
    } catch {
      // See release().
    }
    this.nextSeqValue = Math.max(this.nextSeqValue, this.storedNextSeq() ?? 1);
  }

  private storedNextSeq(): number | null {
    const v = readJson(this.tab, this.seqKey);
    return typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : null;
  }

  private readSession(): StoredSession | null {
    const v = readJson(this.local, this.sessionKey);
    if (typeof v !== "object" || v === null) return null;
    const { token, touched } = v as Partial<StoredSession>;
    if (typeof token !== "string" || token === "" || typeof touched !== "number") return null;
    return { token, touched };
  }
}

/** A new random tab id such as `t-3f9a0c1b7e2d4a58`. */
export function newTabId(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return `t-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
