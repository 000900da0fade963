import { describe, expect, it } from "vitest";
import { liveQuery } from "../src/protocol";
import type { RrwebEvent } from "../src/rrweb-events";
import { CHECKOUT_INTERVAL_MS, CLOCK_MARGIN_MS, StoredState, storedStart } from "../src/stored-start";

const alice = { id: "a1", name: "alice" };
const joined = (ts: number) => ({ ts, record: { action: "joined", agent: alice, watchers: [alice] } });
const left = (ts: number) => ({ ts, record: { action: "left", agent: alice, reason: "closed", watchers: [] } });

const NOW = 10_000_000;
const WINDOW = CHECKOUT_INTERVAL_MS + CLOCK_MARGIN_MS;

describe("where a live view starts", () => {
  it("starts a checkout interval (and a margin) ago when nobody joined since", () => {
    expect(storedStart(NOW)).toEqual({ from_ts: NOW - WINDOW });
    expect(storedStart(NOW, [joined(NOW - WINDOW - 1)])).toEqual({ from_ts: NOW - WINDOW });
  });

  it("starts at the latest join, whose resync put a full snapshot right after it", () => {
    expect(storedStart(NOW, [joined(NOW - 30_000), joined(NOW - 2_000), left(NOW - 1_000)])).toEqual({
      from_ts: NOW - 2_000,
    });
  });

  it("ignores records that are not joins, and bodies it cannot read", () => {
    expect(storedStart(NOW, [left(NOW - 1_000), { ts: NOW - 500, record: { action: "joined" } }])).toEqual({
      from_ts: NOW - WINDOW,
    });
  });

  it("never asks for a negative time, and says from_ts on the wire", () => {
    expect(storedStart(1_000)).toEqual({ from_ts: 0 });
    expect(liveQuery({ from_ts: 1234.7 }, "tk")).toBe("ticket=tk&from_ts=1234");
  });
});

const meta = (t: number): RrwebEvent => ({ type: 4, data: { href: "https://shop.test/", width: 800, height: 600 }, timestamp: t });
const full = (t: number): RrwebEvent => ({ type: 2, data: { node: {}, initialOffset: { top: 0, left: 0 } }, timestamp: t });
const change = (t: number): RrwebEvent => ({ type: 3, data: { source: 0 }, timestamp: t });

describe("the stored state of each tab", () => {
  it("keeps each tab's events from its latest Meta on", () => {
    const s = new StoredState(new Set(["a", "b"]));
    for (const e of [change(1), meta(2), full(3), change(4), meta(5), full(6), change(7)]) s.add("a", e);
    s.add("b", change(8));
    s.add("b", meta(9));
    const runs = s.take();
    expect(runs.get("a")?.map((e) => e.timestamp)).toEqual([5, 6, 7]);
    // A Meta whose snapshot is still on its way: the snapshot follows live.
    expect(runs.get("b")?.map((e) => e.timestamp)).toEqual([9]);
  });

  it("leaves out tabs without a Meta and tabs the view does not show", () => {
    const s = new StoredState(new Set(["a"]));
    s.add("a", change(1));
    s.add("closed", meta(2));
    expect(s.wants("closed")).toBe(false);
    expect([...s.take().keys()]).toEqual([]);
  });

  it("hands its runs over once", () => {
    const s = new StoredState(new Set(["a"]));
    s.add("a", meta(1));
    expect(s.take().size).toBe(1);
    expect(s.take().size).toBe(0);
  });
});
