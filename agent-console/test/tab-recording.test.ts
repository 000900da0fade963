import { describe, expect, it } from "vitest";
import type { RrwebEvent } from "../src/rrweb-events";
import { emptyRecording, extendRecording, recordingCovers, tabRecording, viewportAt } from "../src/tab-recording";

const meta = (timestamp: number, width: number, height: number): RrwebEvent => ({
  type: 4,
  data: { href: "https://shop.example/", width, height },
  timestamp,
});
const resize = (timestamp: number, width: number, height: number): RrwebEvent => ({
  type: 3,
  data: { source: 4, width, height },
  timestamp,
});
const log = (timestamp: number, text: string): RrwebEvent => ({
  type: 6,
  data: { plugin: "rrweb/console@1", payload: { level: "log", payload: [JSON.stringify(text)], trace: [] } },
  timestamp,
});

describe("tabRecording", () => {
  it("knows the last page the tab loaded", () => {
    const second: RrwebEvent = { type: 4, data: { href: "https://shop.example/cart", width: 1, height: 1 }, timestamp: 400 };
    expect(tabRecording("t1", [second, meta(100, 1280, 720), log(500, "x")], 5000).href).toBe("https://shop.example/cart");
    expect(tabRecording("t1", [log(500, "x")], 5000).href).toBeNull();
  });
  it("puts fetched events in time order and picks out console lines and viewport changes", () => {
    const r = tabRecording("t1", [log(300, "later"), resize(200, 800, 600), meta(100, 1280, 720), log(150, "first")], 5000);
    expect(r.events.map((e) => e.timestamp)).toEqual([100, 150, 200, 300]);
    expect(r.console.map((c) => [c.text, c.tab])).toEqual([
      ["first", "t1"],
      ["later", "t1"],
    ]);
    expect(r.viewports).toEqual([
      { ts: 100, viewport: { width: 1280, height: 720 } },
      { ts: 200, viewport: { width: 800, height: 600 } },
    ]);
  });
});

describe("viewportAt", () => {
  const r = tabRecording("t1", [meta(100, 1280, 720), resize(200, 800, 600)], 5000);

  it("is the last viewport change at or before the replayed moment", () => {
    expect(viewportAt(r, 150)).toEqual({ width: 1280, height: 720 });
    expect(viewportAt(r, 200)).toEqual({ width: 800, height: 600 });
    expect(viewportAt(r, 10_000)).toEqual({ width: 800, height: 600 });
  });

  it("is unknown before the page announced one", () => {
    expect(viewportAt(r, 50)).toBeNull();
  });
});

describe("recordingCovers", () => {
  const start = 1_000_000;
  const r = tabRecording("t1", [], start + 30_000);

  it("covers a live session only up to when it was fetched", () => {
    expect(recordingCovers(r, false, start, 30_000)).toBe(true);
    expect(recordingCovers(r, false, start, 30_001)).toBe(false);
  });

  it("covers all of a session that was over when fetched", () => {
    expect(recordingCovers(r, true, start, 90_000)).toBe(true);
  });
});

describe("a recording that fills up as it downloads", () => {
  it("ends up the same as one fetched whole, however the events were split into chunks", () => {
    const events = [meta(100, 1280, 720), log(150, "first"), resize(200, 800, 600), log(300, "later")];
    const whole = tabRecording("t1", events, 5000);
    for (let size = 1; size <= events.length; size++) {
      const r = emptyRecording("t1", 5000);
      for (let i = 0; i < events.length; i += size) extendRecording(r, events.slice(i, i + size));
      r.loaded = true;
      expect(r).toEqual(whole);
    }
  });

  it("keeps time order when an event arrives late, and the page of the newest Meta", () => {
    const r = emptyRecording("t1", 5000);
    extendRecording(r, [meta(100, 1280, 720), log(300, "later"), { type: 4, data: { href: "https://shop.example/b", width: 1, height: 1 }, timestamp: 400 }]);
    extendRecording(r, [log(200, "late"), resize(250, 800, 600), { type: 4, data: { href: "https://shop.example/old", width: 1, height: 1 }, timestamp: 350 }]);
    expect(r.events.map((e) => e.timestamp)).toEqual([100, 200, 250, 300, 350, 400]);
    expect(r.console.map((c) => c.text)).toEqual(["late", "later"]);
    expect(r.viewports.map((v) => v.ts)).toEqual([100, 250, 350, 400]);
    expect(r.href).toBe("https://shop.example/b");
    expect(r.lastTs).toBe(400);
  });

  it("covers only up to its newest event until the download finished", () => {
    const start = 1_000_000;
    const r = emptyRecording("t1", start + 60_000);
    expect(recordingCovers(r, true, start, 0)).toBe(false);
    extendRecording(r, [meta(start + 1000, 800, 600), resize(start + 20_000, 800, 600)]);
    expect(recordingCovers(r, true, start, 20_000)).toBe(true);
    expect(recordingCovers(r, true, start, 20_001)).toBe(false);
    // The tracker's clock runs 500 ms behind the server's: its event at 20 000 is 20 500 on the timeline.
    expect(recordingCovers(r, true, start, 20_500, 500)).toBe(true);
    expect(recordingCovers(r, true, start, 20_501, 500)).toBe(false);
    r.loaded = true;
    expect(recordingCovers(r, true, start, 90_000)).toBe(true);
    expect(recordingCovers(r, false, start, 60_001)).toBe(false);
  });
});
