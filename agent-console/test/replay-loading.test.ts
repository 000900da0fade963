import { describe, expect, it } from "vitest";
import { formatBytes } from "../src/format";
import { replayLoadingModel } from "../src/replay-loading";

describe("formatBytes", () => {
  it("counts in powers of 1000 with one decimal below 100", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1000)).toBe("1.0 kB");
    expect(formatBytes(34_567)).toBe("34.6 kB");
    expect(formatBytes(345_678)).toBe("346 kB");
    expect(formatBytes(2_400_000)).toBe("2.4 MB");
    expect(formatBytes(5e12)).toBe("5000 GB");
  });
});

describe("replayLoadingModel", () => {
  it("says how far into the session the download reaches, with bytes and events", () => {
    expect(replayLoadingModel({ bytes: 2_400_000, events: 12_345, reachedMs: 65_000, endMs: 250_000 })).toEqual({
      value: 26,
      max: 100,
      text: "Loading the recording: 2.4 MB, 12,345 events · up to 1:05 of 4:10 (26%)",
      valueText: "26%: 2.4 MB, 12,345 events, up to 1:05 of 4:10",
    });
  });

  it("is indeterminate before the first event, and for a session with no length", () => {
    const before = replayLoadingModel({ bytes: 1, events: 0, reachedMs: null, endMs: 10_000 });
    expect(before.value).toBeNull();
    expect(before.text).toBe("Loading the recording: 1 B, 0 events");
    expect(before.valueText).toBe("1 B, 0 events loaded");
    expect(replayLoadingModel({ bytes: 10, events: 1, reachedMs: 0, endMs: 0 }).text).toBe("Loading the recording: 10 B, 1 event");
  });

  it("stays under 100 % while downloading and inside the timeline when clocks disagree", () => {
    expect(replayLoadingModel({ bytes: 9, events: 9, reachedMs: 10_000, endMs: 10_000 }).value).toBe(99);
    expect(replayLoadingModel({ bytes: 9, events: 9, reachedMs: 12_000, endMs: 10_000 }).text).toContain("up to 0:10 of 0:10 (99%)");
    expect(replayLoadingModel({ bytes: 9, events: 9, reachedMs: -500, endMs: 10_000 }).value).toBe(0);
  });
});
