// The session view's two ways of looking, live and the past, and the timeline bar that moves
// between them: what dragging the timeline does and what the bar shows. Pure: mode and positions
// in, a decision or words out, so every switch between live and replay is a unit test.

import { formatOffset } from "./format";

/**
 * - `live`: the live players, the timeline pinned to its end;
 * - `past`: a live session looked at in the past (back to live is one click);
 * - `recorded`: a session that was over when the view opened: replay only.
 */
export type ViewMode = "live" | "past" | "recorded";

/** Dragging the timeline to within this much of its end (ms) still means live. */
const LIVE_EDGE_MS = 250;
/** Pausing the live view shows the page this long ago (ms), as a still. */
export const PAUSE_BACK_MS = 1000;

/**
 * What moving the timeline to `offset` (ms from the start; `end` is the timeline's end) does:
 * - `stay`: nothing (the end of a live timeline is still live; no tab to show);
 * - `seek`: move the replayer on screen, which already holds that moment of `tab`;
 * - `load`: build a replayer for `tab` at that moment (leaving live, if it was).
 */
export function scrubStep(
  mode: ViewMode,
  tab: string | null,
  offset: number,
  end: number,
  shownHoldsIt: boolean,
): "stay" | "seek" | "load" {
  if (tab === null) return "stay";
  if (mode === "live") return offset >= end - LIVE_EDGE_MS ? "stay" : "load";
  return shownHoldsIt ? "seek" : "load";
}

export interface TimelineBarInput {
  mode: ViewMode;
  /** The timeline's end, ms from the session's start. */
  end: number;
  /** Where the agent left the slider. */
  slider: number;
  /** Where the playing replayer is (ms from the start); null unless one plays. */
  playingAt: number | null;
  /** A replayer is on screen (in the past). */
  hasReplayer: boolean;
  /** The session is live, so there is a live view to go back to. */
  canGoLive: boolean;
}

export interface TimelineBarModel {
  max: number;
  value: number;
  /** The slider follows `value` (live, or playing) rather than staying where the agent put it. */
  moveSlider: boolean;
  label: string;
  /** What a screen reader says for the slider's position: "m:ss", and whether that is live. */
  valueText: string;
  playing: boolean;
  playText: string;
  playDisabled: boolean;
  backToLive: boolean;
}

export function timelineBarModel(input: TimelineBarInput): TimelineBarModel {
  const max = Math.round(input.end);
  const live = input.mode === "live";
  const playing = input.playingAt !== null;
  const moveSlider = live || playing;
  const wanted = live ? max : (input.playingAt ?? input.slider);
  const value = Math.min(max, Math.max(0, Math.round(wanted)));
  return {
    max,
    value,
    moveSlider,
    label: live ? `${formatOffset(max)} · live` : `${formatOffset(value)} / ${formatOffset(max)}`,
    valueText: live ? `${formatOffset(max)}, live` : formatOffset(value),
    playing,
    playText: live || playing ? "❚❚ Pause" : "▶ Play",
    playDisabled: !live && !input.hasReplayer,
    backToLive: input.canGoLive && input.mode === "past",
  };
}
