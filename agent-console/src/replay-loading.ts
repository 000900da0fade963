// What the progress bar of a downloading recording says. The body's total size is not known
// ahead (the server streams the events as it reads them from S2, compressed, so there is no
// Content-Length), nor is the number of events; what is known is the session's timeline. So the
// bar measures time: how far into the session the newest downloaded event reaches, out of the
// recording's end, with the bytes and events read beside it. A tab closed before the session ended
// stops short of 100 % until its download ends. Pure.

import { formatBytes, formatOffset } from "./format";

export interface ReplayLoadingInput {
  /** Bytes read so far. */
  bytes: number;
  /** Events read so far. */
  events: number;
  /** Timeline position (ms from the session's start) the newest event reaches; null before any. */
  reachedMs: number | null;
  /** Timeline position the recording ends at (the session's end, or now while it is live). */
  endMs: number;
}

export interface ReplayLoadingModel {
  /** The bar's value out of `max`; null while nothing says how far (an indeterminate bar). */
  value: number | null;
  max: number;
  /** The line beside the bar. */
  text: string;
  /** What a screen reader says for the bar. */
  valueText: string;
}

export function replayLoadingModel(input: ReplayLoadingInput): ReplayLoadingModel {
  const count = `${input.events.toLocaleString("en-US")} ${input.events === 1 ? "event" : "events"}`;
  const size = `${formatBytes(input.bytes)}, ${count}`;
  if (input.reachedMs === null || input.endMs <= 0) {
    return { value: null, max: 100, text: `Loading the recording: ${size}`, valueText: `${size} loaded` };
  }
  const reached = Math.min(input.endMs, Math.max(0, input.reachedMs));
  // Never 100 % before the download ended: the last events of the moment may still be on the way.
  const percent = Math.min(99, Math.floor((reached / input.endMs) * 100));
  const span = `${formatOffset(reached)} of ${formatOffset(input.endMs)}`;
  return {
    value: percent,
    max: 100,
    text: `Loading the recording: ${size} · up to ${span} (${percent}%)`,
    valueText: `${percent}%: ${size}, up to ${span}`,
  };
}
