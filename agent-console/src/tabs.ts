// Which tabs a session has and which one the user is on. Tab ids come from the delivered
// events' `tab` field (and a `page` record's body, which names the tab that connected); the
// active tab is the one with the most recent sign of the user: a page load or an interaction.
// Until any tab showed one, the tab with the most recent event of any kind is active.

import type { DeliveredEvent } from "./protocol";
import { hrefOf, isRrwebEvent, isUserActivity, viewportOf, type Viewport } from "./rrweb-events";

export interface TabInfo {
  id: string;
  /** 1-based, in the order the tabs were first seen: "Tab 1", "Tab 2"… */
  number: number;
  /** The page the tab last loaded (its latest Meta event), if seen. */
  href: string | null;
  viewport: Viewport | null;
  /** `seq_num` of the tab's latest event. */
  lastSeq: number;
  /** `seq_num` of the tab's latest page load or interaction; -1 when none yet. */
  lastActivitySeq: number;
  /** Console errors seen in this tab. */
  errors: number;
}

/** The tab a delivered event belongs to, or null for server records about no tab. */
export function tabOfEvent(event: DeliveredEvent, json: unknown): string | null {
  if (event.tab !== "") return event.tab;
  if (event.kind === "page" && typeof json === "object" && json !== null) {
    const tab = (json as Record<string, unknown>)["tab"];
    if (typeof tab === "string" && tab !== "") return tab;
  }
  return null;
}

export class TabTracker {
  private readonly tabs = new Map<string, TabInfo>();

  /** Tabs known before any event (from the session summary), in the given order. */
  addKnown(ids: readonly string[]): void {
    for (const id of ids) this.ensure(id);
  }

  private ensure(id: string): TabInfo {
    let tab = this.tabs.get(id);
    if (!tab) {
      tab = {
        id,
        number: this.tabs.size + 1,
        href: null,
        viewport: null,
        lastSeq: -1,
        lastActivitySeq: -1,
        errors: 0,
      };
      this.tabs.set(id, tab);
    }
    return tab;
  }

  /**
   * Takes one delivered event (with its parsed `data`). Returns the tab it belongs to, or null.
   */
  observe(event: DeliveredEvent, json: unknown): string | null {
    const id = tabOfEvent(event, json);
    if (id === null) return null;
    const tab = this.ensure(id);
    tab.lastSeq = Math.max(tab.lastSeq, event.seq_num);
    // A tab (re)connecting is the user opening or reloading it.
    if (event.kind === "page") tab.lastActivitySeq = Math.max(tab.lastActivitySeq, event.seq_num);
    if (event.kind === "rrweb" && isRrwebEvent(json)) {
      if (isUserActivity(json)) tab.lastActivitySeq = Math.max(tab.lastActivitySeq, event.seq_num);
      const href = hrefOf(json);
      if (href !== null) tab.href = href;
      const viewport = viewportOf(json);
      if (viewport !== null) tab.viewport = viewport;
    }
    return id;
  }

  /** A known tab's page, learned from its recording (a recorded session has no live events). */
  noteHref(id: string, href: string): void {
    const tab = this.tabs.get(id);
    if (tab) tab.href = href;
  }

  countError(id: string): void {
    this.ensure(id).errors += 1;
  }

  /** The tab the user is on, or null when no tab is known. */
  get active(): string | null {
    let best: TabInfo | null = null;
    const anyActivity = [...this.tabs.values()].some((t) => t.lastActivitySeq >= 0);
    for (const tab of this.tabs.values()) {
      const key = anyActivity ? tab.lastActivitySeq : tab.lastSeq;
      const bestKey = best === null ? -Infinity : anyActivity ? best.lastActivitySeq : best.lastSeq;
      if (key > bestKey) best = tab;
    }
    return best?.id ?? null;
  }

  get(id: string): TabInfo | undefined {
    return this.tabs.get(id);
  }

  /** All tabs in the order they were first seen. */
  list(): TabInfo[] {
    return [...this.tabs.values()];
  }
}

/** A short label for a tab button: "Tab 2 · /checkout". */
export function tabLabel(tab: Pick<TabInfo, "number" | "href">): string {
  if (!tab.href) return `Tab ${tab.number}`;
  let path = tab.href;
  try {
    const u = new URL(tab.href);
    path = u.pathname + u.search;
  } catch {
    // Not a URL; show it as it is.
  }
  return `Tab ${tab.number} · ${path}`;
}
