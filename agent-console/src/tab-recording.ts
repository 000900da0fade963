// A tab's recorded events as time travel uses them: fetched once, in time order, with the console
// output and the viewport changes picked out, and the server time of the fetch, which says how far
// into a live session the copy reaches. Pure, so what a replay shows at a moment is a unit test.

import { consoleEntries, type ConsoleEntry } from "./console-log";
import { hrefOf, viewportOf, type RrwebEvent, type Viewport } from "./rrweb-events";

export interface TabRecording {
  tab: string;
  events: RrwebEvent[];
  console: ConsoleEntry[];
  /** Viewport changes in time order (tracker time). */
  viewports: Array<{ ts: number; viewport: Viewport }>;
  /** The last page the tab loaded in the recording (its latest Meta event), if any. */
  href: string | null;
  /** The server time when the fetch started: the recording covers everything before it. */
  fetchedAt: number;
}

/** The recording of `tab` from its fetched `events` (sorted in place). */
export function tabRecording(tab: string, events: RrwebEvent[], fetchedAt: number): TabRecording {
  events.sort((a, b) => a.timestamp - b.timestamp);
  const viewports: TabRecording["viewports"] = [];
  let href: string | null = null;
  for (const e of events) {
    const v = viewportOf(e);
    if (v) viewports.push({ ts: e.timestamp, viewport: v });
    href = hrefOf(e) ?? href;
  }
  return { tab, events, console: consoleEntries(events, tab), viewports, href, fetchedAt };
}

/**
 * Whether the recording shows timeline position `offset` (ms after `startMs`, server time). A
 * session that was over when fetched is complete; a live one only up to the fetch.
 */
export function recordingCovers(recording: TabRecording, complete: boolean, startMs: number, offset: number): boolean {
  return complete || startMs + offset <= recording.fetchedAt;
}

/** The viewport at tracker time `ts`: the last change at or before it; null before the first. */
export function viewportAt(recording: TabRecording, ts: number): Viewport | null {
  let found: Viewport | null = null;
  for (const v of recording.viewports) {
    if (v.ts > ts) break;
    found = v.viewport;
  }
  return found;
}
