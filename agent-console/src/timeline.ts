// Time math for the timeline and the players. Three clocks meet here:
// - the server's: `started_ms` of a session and `ts` of delivered events (S2's store time);
// - the tracker's: rrweb timestamps and `client_ts`, from the user's machine;
// - the agent's: `Date.now()` in this browser.
// The timeline is in server time: its value is the offset in ms from the session's start. A
// non-live rrweb Replayer counts from its first event, in tracker time. The estimates below bridge
// them; on one machine all three agree and every correction is 0.

/** Estimates clock differences from delivered events. */
export class ClockEstimator {
  private serverAhead: number | null = null;
  private trackerBehind: number | null = null;

  /**
   * One delivered event (`ts` server time, `client_ts` tracker time) that arrived at `receivedAt`
   * (agent time). Sending takes time, so `ts - receivedAt` is at most the true server-minus-agent
   * difference (keep the largest), and `ts - client_ts` at least the true server-minus-tracker
   * difference (keep the smallest). Server records (`tab` "") carry the server's own clock in
   * `client_ts` and say nothing about the tracker.
   */
  observe(event: { ts: number; client_ts: number; tab: string }, receivedAt: number): void {
    const ahead = event.ts - receivedAt;
    if (this.serverAhead === null || ahead > this.serverAhead) this.serverAhead = ahead;
    if (event.tab !== "") {
      const behind = event.ts - event.client_ts;
      if (this.trackerBehind === null || behind < this.trackerBehind) this.trackerBehind = behind;
    }
  }

  /** Server time minus agent time (0 until an event arrived). */
  get serverMinusAgent(): number {
    return this.serverAhead ?? 0;
  }

  /** Server time minus tracker time (0 until a tracker event arrived). */
  get serverMinusTracker(): number {
    return this.trackerBehind ?? 0;
  }

  /** The server's time now, by the agent's clock. */
  serverNow(agentNow: number): number {
    return agentNow + this.serverMinusAgent;
  }
}

/** The timeline's end, ms from the session's start: now while live, the end once it ended. */
export function timelineEnd(
  session: { started_ms: number; last_activity_ms: number; ended_ms: number | null; live: boolean },
  serverNow: number,
): number {
  const end = session.ended_ms ?? (session.live ? Math.max(serverNow, session.last_activity_ms) : session.last_activity_ms);
  return Math.max(0, end - session.started_ms);
}

/** Where a non-live replayer built from `firstEventTs…lastEventTs` (tracker time) stands. */
export interface ReplaySpan {
  /** Timestamp of the replayer's first event (the smallest), tracker time. */
  firstEventTs: number;
  /** Timestamp of its last event (the largest), tracker time. */
  lastEventTs: number;
}

/**
 * The replayer offset (ms after its first event) that shows timeline position `offset` (ms after
 * the session's start, server time). Clamped to the recording: before the first event shows the
 * first one, after the last shows the last.
 */
export function replayerOffset(
  offset: number,
  sessionStartMs: number,
  span: ReplaySpan,
  serverMinusTracker: number,
): number {
  const trackerTime = sessionStartMs + offset - serverMinusTracker;
  const total = Math.max(0, span.lastEventTs - span.firstEventTs);
  return Math.min(total, Math.max(0, trackerTime - span.firstEventTs));
}

/** The inverse of `replayerOffset`: the timeline position a replayer offset stands for. */
export function timelineOffset(
  replayerTime: number,
  sessionStartMs: number,
  span: ReplaySpan,
  serverMinusTracker: number,
): number {
  return Math.max(0, span.firstEventTs + replayerTime + serverMinusTracker - sessionStartMs);
}

/** The tracker-clock time a timeline position stands for (for the console panel's cut-off). */
export function trackerTimeAt(offset: number, sessionStartMs: number, serverMinusTracker: number): number {
  return sessionStartMs + offset - serverMinusTracker;
}

/**
 * The timeline position of tracker-clock time `ts` (a console message's), the inverse of
 * `trackerTimeAt`; never before the start.
 */
export function offsetOfTrackerTime(ts: number, sessionStartMs: number, serverMinusTracker: number): number {
  return Math.max(0, ts + serverMinusTracker - sessionStartMs);
}

/**
 * How much to scale a `width`×`height` page so that it fits a `boxWidth`×`boxHeight` box, and
 * where to put it to center it. Never scales up beyond `maxScale`.
 */
export function fitInto(
  width: number,
  height: number,
  boxWidth: number,
  boxHeight: number,
  maxScale = 1,
): { scale: number; left: number; top: number } {
  if (width <= 0 || height <= 0 || boxWidth <= 0 || boxHeight <= 0) return { scale: 1, left: 0, top: 0 };
  const scale = Math.min(maxScale, boxWidth / width, boxHeight / height);
  return {
    scale,
    left: Math.max(0, (boxWidth - width * scale) / 2),
    top: Math.max(0, (boxHeight - height * scale) / 2),
  };
}
