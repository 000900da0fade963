import { describe, expect, it } from "vitest";
import {
  ClockEstimator,
  fitInto,
  offsetOfTrackerTime,
  replayerOffset,
  timelineEnd,
  timelineOffset,
  trackerTimeAt,
} from "../src/timeline";

describe("timeline offsets", () => {
  const start = 1_700_000_000_000;
  const span = { firstEventTs: start + 500, lastEventTs: start + 60_500 };

  it("maps a timeline position to the replayer's offset from its first event", () => {
    expect(replayerOffset(10_500, start, span, 0)).toBe(10_000);
  });

  it("clamps before the first event and after the last", () => {
    expect(replayerOffset(0, start, span, 0)).toBe(0);
    expect(replayerOffset(120_000, start, span, 0)).toBe(60_000);
  });

  it("corrects for a tracker clock that differs from the server's", () => {
    // The tracker's clock is 2 s behind the server's: server time T shows tracker time T - 2000.
    expect(replayerOffset(10_500, start, span, 2000)).toBe(8000);
    expect(trackerTimeAt(10_500, start, 2000)).toBe(start + 8500);
  });

  it("inverts: a replayer offset maps back to the same timeline position", () => {
    for (const skew of [0, 2000, -1500]) {
      const pos = 30_000;
      const off = replayerOffset(pos, start, span, skew);
      expect(timelineOffset(off, start, span, skew)).toBe(pos);
    }
  });

  it("ends now while live and at the end once ended", () => {
    const s = { started_ms: start, last_activity_ms: start + 5000, ended_ms: null, live: true };
    expect(timelineEnd(s, start + 90_000)).toBe(90_000);
    expect(timelineEnd({ ...s, ended_ms: start + 42_000 }, start + 90_000)).toBe(42_000);
    expect(timelineEnd({ ...s, live: false }, start + 90_000)).toBe(5000);
    // An agent clock behind the server never shows a negative length.
    expect(timelineEnd(s, start - 10_000)).toBe(5000);
  });
});

describe("ClockEstimator", () => {
  it("is 0 before any event", () => {
    const c = new ClockEstimator();
    expect(c.serverMinusAgent).toBe(0);
    expect(c.serverMinusTracker).toBe(0);
    expect(c.serverNow(1234)).toBe(1234);
  });

  it("keeps the tightest bounds", () => {
    const c = new ClockEstimator();
    // Server 1 s ahead of the agent; tracker 3 s behind the server; latencies vary.
    c.observe({ ts: 10_000, client_ts: 6_900, tab: "t" }, 9_100); // 100 ms tracker→server, 100 ms server→agent
    c.observe({ ts: 20_000, client_ts: 16_990, tab: "t" }, 19_020); // 10 ms, 20 ms
    c.observe({ ts: 30_000, client_ts: 26_500, tab: "t" }, 29_500); // slow ones
    expect(c.serverMinusAgent).toBe(980);
    expect(c.serverMinusTracker).toBe(3010);
    expect(c.serverNow(50_000)).toBe(50_980);
  });

  it("learns nothing about the tracker from server records", () => {
    const c = new ClockEstimator();
    c.observe({ ts: 10_000, client_ts: 10_000, tab: "" }, 10_050);
    expect(c.serverMinusTracker).toBe(0);
    expect(c.serverMinusAgent).toBe(-50);
  });
});

describe("fitInto", () => {
  it("scales down to fit and centers", () => {
    expect(fitInto(1280, 720, 640, 720)).toEqual({ scale: 0.5, left: 0, top: 180 });
    expect(fitInto(1000, 1000, 800, 400)).toEqual({ scale: 0.4, left: 200, top: 0 });
  });
  it("never scales up past 1 by default", () => {
    expect(fitInto(400, 300, 800, 600)).toEqual({ scale: 1, left: 200, top: 150 });
    expect(fitInto(400, 300, 800, 600, 2).scale).toBe(2);
  });
  it("copes with unknown sizes", () => {
    expect(fitInto(0, 0, 800, 600)).toEqual({ scale: 1, left: 0, top: 0 });
    expect(fitInto(800, 600, 0, 0)).toEqual({ scale: 1, left: 0, top: 0 });
  });
});

describe("offsetOfTrackerTime", () => {
  const start = 1_700_000_000_000;

  it("is the timeline position a console message's time stands for", () => {
    expect(offsetOfTrackerTime(start + 4_000, start, 0)).toBe(4_000);
    // The tracker's clock is 2 s behind the server's.
    expect(offsetOfTrackerTime(start + 4_000, start, 2_000)).toBe(6_000);
    expect(offsetOfTrackerTime(trackerTimeAt(7_500, start, -300), start, -300)).toBe(7_500);
  });

  it("is never before the start", () => {
    expect(offsetOfTrackerTime(start - 5_000, start, 0)).toBe(0);
  });
});
