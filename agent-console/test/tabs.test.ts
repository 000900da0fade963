import { describe, expect, it } from "vitest";
import type { DeliveredEvent } from "../src/protocol";
import { isUserActivity, playTimeOf, viewportOf } from "../src/rrweb-events";
import { tabLabel, TabTracker, tabOfEvent } from "../src/tabs";

let seq = 0;
function delivered(tab: string, json: unknown, kind = "rrweb"): [DeliveredEvent, unknown] {
  seq += 3;
  const ev: DeliveredEvent = {
    seq_num: seq,
    ts: 1000 + seq,
    kind,
    tab,
    client_seq: seq,
    client_ts: 1000 + seq,
    data: new TextEncoder().encode(JSON.stringify(json)),
  };
  return [ev, json];
}

const meta = (href: string, width = 1280, height = 720) => ({ type: 4, data: { href, width, height }, timestamp: 1 });
const mutation = { type: 3, data: { source: 0, adds: [], removes: [], texts: [], attributes: [] }, timestamp: 2 };
const click = { type: 3, data: { source: 2, type: 2, id: 5, x: 1, y: 1 }, timestamp: 3 };
const scroll = { type: 3, data: { source: 3, id: 1, x: 0, y: 200 }, timestamp: 4 };
const consoleLog = { type: 6, data: { plugin: "rrweb/console@1", payload: { level: "log", payload: ['"tick"'], trace: [] } }, timestamp: 5 };

function feed(tracker: TabTracker, ...pairs: Array<[DeliveredEvent, unknown]>) {
  for (const [ev, json] of pairs) tracker.observe(ev, json);
}

describe("TabTracker", () => {
  it("knows no active tab before any event", () => {
    expect(new TabTracker().active).toBeNull();
  });

  it("makes the tab with the most recent event active", () => {
    const t = new TabTracker();
    feed(t, delivered("a", mutation), delivered("b", mutation));
    expect(t.active).toBe("b");
    feed(t, delivered("a", mutation));
    expect(t.active).toBe("a");
  });

  it("prefers the user's interactions over a background tab's own changes", () => {
    const t = new TabTracker();
    feed(t, delivered("a", meta("https://x/a")), delivered("b", meta("https://x/b")), delivered("a", click));
    expect(t.active).toBe("a");
    // Tab b's timers keep mutating its page and logging; the user is still on a.
    feed(t, delivered("b", mutation), delivered("b", consoleLog));
    expect(t.active).toBe("a");
    // The user scrolls in b: now b is active.
    feed(t, delivered("b", scroll));
    expect(t.active).toBe("b");
  });

  it("counts a page load (Meta) and a tab (re)connecting as activity", () => {
    const t = new TabTracker();
    feed(t, delivered("a", click), delivered("b", meta("https://x/new")));
    expect(t.active).toBe("b");
    feed(t, delivered("", { tab: "a", page: { url: "https://x/a" }, node: "n1" }, "page"));
    expect(t.active).toBe("a");
  });

  it("ignores server records without a tab", () => {
    const t = new TabTracker();
    feed(t, delivered("a", mutation), delivered("", {}, "heartbeat"), delivered("", { reason: "idle" }, "end"));
    expect(t.list().map((x) => x.id)).toEqual(["a"]);
    expect(t.active).toBe("a");
  });

  it("labels a recorded session's known tab with the page its recording loaded, and no unknown one", () => {
    const t = new TabTracker();
    t.addKnown(["k1", "k2"]);
    t.noteHref("k2", "https://x/cart");
    t.noteHref("other", "https://x/elsewhere");
    expect(t.list().map((x) => tabLabel(x))).toEqual(["Tab 1", "Tab 2 · /cart"]);
  });

  it("lists tabs in the order first seen, known ones first, with href and viewport", () => {
    const t = new TabTracker();
    t.addKnown(["k"]);
    feed(t, delivered("b", meta("https://x/b?q=1", 800, 600)), delivered("k", mutation));
    const tabs = t.list();
    expect(tabs.map((x) => [x.id, x.number])).toEqual([
      ["k", 1],
      ["b", 2],
    ]);
    expect(tabs[1]!.href).toBe("https://x/b?q=1");
    expect(tabs[1]!.viewport).toEqual({ width: 800, height: 600 });
    feed(t, delivered("b", { type: 3, data: { source: 4, width: 400, height: 300 }, timestamp: 9 }));
    expect(t.get("b")!.viewport).toEqual({ width: 400, height: 300 });
    expect(tabLabel(tabs[1]!)).toBe("Tab 2 · /b?q=1");
    expect(tabLabel(tabs[0]!)).toBe("Tab 1");
  });

  it("finds the tab of a page record in its body", () => {
    const [ev, json] = delivered("", { tab: "t-9" }, "page");
    expect(tabOfEvent(ev, json)).toBe("t-9");
    const [hb, hbJson] = delivered("", {}, "heartbeat");
    expect(tabOfEvent(hb, hbJson)).toBeNull();
  });
});

describe("rrweb events", () => {
  it("tells user activity from page changes", () => {
    expect(isUserActivity({ type: 4, data: {}, timestamp: 0 })).toBe(true);
    expect(isUserActivity({ type: 2, data: {}, timestamp: 0 })).toBe(true);
    expect(isUserActivity(click)).toBe(true);
    expect(isUserActivity(mutation)).toBe(false);
    expect(isUserActivity(consoleLog)).toBe(false);
  });

  it("plays a batch of mouse positions from its first position", () => {
    const move = { type: 3, data: { source: 1, positions: [{ x: 1, y: 1, id: 1, timeOffset: -480 }, { x: 2, y: 2, id: 1, timeOffset: -10 }] }, timestamp: 10_000 };
    expect(playTimeOf(move)).toBe(9520);
    expect(playTimeOf(click)).toBe(3);
  });

  it("reads viewports only from Meta and viewport resizes", () => {
    expect(viewportOf(meta("x", 10, 20))).toEqual({ width: 10, height: 20 });
    expect(viewportOf({ type: 3, data: { source: 4, width: 3, height: 4 }, timestamp: 0 })).toEqual({ width: 3, height: 4 });
    expect(viewportOf(click)).toBeNull();
  });
});
