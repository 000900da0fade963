// A tab's recorded events as time travel uses them: in time order, with the console output, the
// network requests and the viewport changes picked out, and the server time of the fetch, which
// says how far into a live session the copy reaches. A recording fills up while it downloads
// (`extendRecording` per chunk) and covers only what has arrived until it is `loaded`. Pure, so
// what a replay shows at a moment is a unit test.

import { consoleEntryOf, type ConsoleEntry } from "./console-log";
import { networkRequestOf, type NetworkRequest } from "./network-log";
import { hrefOf, viewportOf, type RrwebEvent, type Viewport } from "./rrweb-events";

export interface TabRecording {
  tab: string;
  events: RrwebEvent[];
  console: ConsoleEntry[];
  /** The tab's requests, in the order they ended. */
  network: NetworkRequest[];
  /** Viewport changes in time order (tracker time). */
  viewports: Array<{ ts: number; viewport: Viewport }>;
  /** The last page the tab loaded in the recording (its latest Meta event), if any. */
  href: string | null;
  /** The server time when the fetch started: the recording covers everything before it. */
  fetchedAt: number;
  /** The newest event's timestamp so far (tracker time); -Infinity while there is none. */
  lastTs: number;
  /** The download finished: every event before `fetchedAt` is in. */
  loaded: boolean;
}

/** A recording of `tab` whose download started at `fetchedAt` (server time), nothing in yet. */
export function emptyRecording(tab: string, fetchedAt: number): TabRecording {
  return { tab, events: [], console: [], network: [], viewports: [], href: null, fetchedAt, lastTs: -Infinity, loaded: false };
}

const byTime = (a: { timestamp: number }, b: { timestamp: number }) => a.timestamp - b.timestamp;

/**
 * Adds the next downloaded `events` (in stream order, which is nearly time order: a tab's events
 * come in the order its tracker sent them). Everything stays in time order.
 */
export function extendRecording(recording: TabRecording, events: readonly RrwebEvent[]): void {
  let outOfOrder = false;
  for (const e of events) {
    if (e.timestamp < recording.lastTs) outOfOrder = true;
    recording.events.push(e);
    const v = viewportOf(e);
    if (v) recording.viewports.push({ ts: e.timestamp, viewport: v });
    const entry = consoleEntryOf(e, recording.tab);
    if (entry) recording.console.push(entry);
    const request = networkRequestOf(e, recording.tab);
    if (request) recording.network.push(request);
    const href = hrefOf(e);
    if (href !== null && e.timestamp >= recording.lastTs) recording.href = href;
    recording.lastTs = Math.max(recording.lastTs, e.timestamp);
  }
  if (outOfOrder) {
    recording.events.sort(byTime);
    recording.console.sort(byTime);
    recording.network.sort(byTime);
    recording.viewports.sort((a, b) => a.ts - b.ts);
  }
}

/** The whole recording of `tab` from its fetched `events`. */
export function tabRecording(tab: string, events: readonly RrwebEvent[], fetchedAt: number): TabRecording {
  const recording = emptyRecording(tab, fetchedAt);
  extendRecording(recording, [...events].sort(byTime));
  recording.loaded = true;
  return recording;
}

/**
 * Whether the recording shows timeline position `offset` (ms after `startMs`, server time). While
 * it downloads, up to its newest event; then, a session that was over when fetched is complete,
 * and a live one reaches up to the fetch.
 */
export function recordingCovers(
  recording: TabRecording,
  complete: boolean,
  startMs: number,
  offset: number,
  serverMinusTracker = 0,
): boolean {
  if (!recording.loaded) return startMs + offset - serverMinusTracker <= recording.lastTs;
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
