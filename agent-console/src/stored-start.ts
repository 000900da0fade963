// Where a live view starts, so that it can show the page at once: the stored state (a tab's
// latest full snapshot and what followed it, read from the stream) while the fresh snapshot the
// join asks for is on its way (docs/architecture.md, "Joining"). Pure: time and records in,
// decisions out.
//
// The stream has a full snapshot of every tab at least this often:
// - the tracker takes one every `checkoutEveryNms` (60 s) while the page records anything;
// - and one on every `resync`, which every agent's join sends (protocol.md §2.2), right after
//   the `joined` record of that join.
// So the view starts at the later of "a checkout interval ago" and "the latest join": the
// shortest read that still holds a full snapshot of each tab that was recording.

import { parseAgentRecord } from "./agent-records";
import type { StartPoint } from "./protocol";
import { EventType, type RrwebEvent } from "./rrweb-events";

/** The tracker's full-snapshot interval (its `checkoutEveryNms` default). */
export const CHECKOUT_INTERVAL_MS = 60_000;
/**
 * Added to the interval: `now` is the agent's clock and `from_ts` the server's, and a snapshot
 * takes a moment to be stored after it is due.
 */
export const CLOCK_MARGIN_MS = 5_000;

/**
 * The start of a live view opened at `agentNow`, knowing the session's `agent` records up to now
 * (`history`, server times; undefined when not read).
 */
export function storedStart(agentNow: number, history?: readonly { ts: number; record: unknown }[]): StartPoint {
  let from = agentNow - CHECKOUT_INTERVAL_MS - CLOCK_MARGIN_MS;
  for (const item of history ?? []) {
    if (item.ts > from && parseAgentRecord(item.record)?.action === "joined") from = item.ts;
  }
  return { from_ts: Math.max(0, from) };
}

/**
 * The stored events of each tab, collected while the subscription catches up, kept from the
 * tab's latest Meta event on (what came before it is a page the view will never show). Tabs not
 * in `tabs` (closed before the view opened) are left out.
 */
export class StoredState {
  private readonly runs = new Map<string, RrwebEvent[]>();

  constructor(private readonly tabs: ReadonlySet<string>) {}

  /** Whether events of `tab` belong to the view. */
  wants(tab: string): boolean {
    return this.tabs.has(tab);
  }

  add(tab: string, event: RrwebEvent): void {
    if (!this.tabs.has(tab)) return;
    if (event.type === EventType.Meta) {
      this.runs.set(tab, [event]);
      return;
    }
    this.runs.get(tab)?.push(event);
  }

  /** Each tab's events from its latest Meta on, in stream order; tabs without one are absent. */
  take(): Map<string, RrwebEvent[]> {
    const runs = new Map(this.runs);
    this.runs.clear();
    return runs;
  }
}
