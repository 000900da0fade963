import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { LASER_LIFETIME_MS, STROKE_LIFETIME_MS } from "../src/annotations";
import type { Stroke } from "../src/protocol";
import { alice, bob, find, findAll, setupSignals, TAB } from "./page";

type Setup = ReturnType<typeof setupSignals>;

describe("annotation overlay", () => {
  let t: Setup;
  const draw = (stroke: Partial<Stroke>, agentId = alice.id): void =>
    t.receive({
      type: "stroke",
      agent_id: agentId,
      tab: TAB,
      stroke: { id: "s1", tool: "pen", color: "#ff0000", points: [[10, 20], [30, 40], [50, 20]], ...stroke },
    });

  beforeEach(() => {
    vi.useFakeTimers();
    document.body.innerHTML = "";
    t = setupSignals();
    t.grant({ kind: "annotate", agent: alice });
  });
  afterEach(() => {
    t.signals.stop();
    vi.useRealTimers();
  });

  it("draws a stroke on an overlay that takes no pointer events, then fades and removes it", () => {
    draw({});
    const overlay = find("annotation-overlay")!;
    expect(overlay.tagName.toLowerCase()).toBe("svg");
    expect(overlay.style.pointerEvents).toBe("none");
    const stroke = find("stroke")!;
    expect(stroke.dataset["tool"]).toBe("pen");
    expect(stroke.querySelector("polyline")!.getAttribute("points")).toBe("10,20 30,40 50,20");
    expect(stroke.querySelector("polyline")!.getAttribute("stroke")).toBe("#ff0000");

    vi.advanceTimersByTime(STROKE_LIFETIME_MS - 1);
    expect(stroke.style.opacity).toBe("0"); // fading
    expect(stroke.isConnected).toBe(true);
    vi.advanceTimersByTime(1);
    expect(stroke.isConnected).toBe(false);
    expect(find("annotation-overlay")).toBeNull();
  });

  it("draws each tool, and a laser goes after about a second", () => {
    draw({ id: "a", tool: "arrow", points: [[0, 0], [100, 0]] });
    draw({ id: "r", tool: "rect", points: [[50, 60], [10, 20]] });
    draw({ id: "l", tool: "laser", points: [[5, 5], [6, 6]] });
    expect(findAll("stroke").map((s) => s.dataset["tool"])).toEqual(["arrow", "rect", "laser"]);
    const arrow = find("stroke", '[data-tool="arrow"]')!;
    expect(arrow.querySelector("line")).not.toBeNull();
    expect(arrow.querySelector("polygon")).not.toBeNull(); // the head
    const rect = find("stroke", '[data-tool="rect"]')!.querySelector("rect")!;
    expect([rect.getAttribute("x"), rect.getAttribute("y"), rect.getAttribute("width"), rect.getAttribute("height")]).toEqual(["10", "20", "40", "40"]);
    expect(Number(rect.getAttribute("fill-opacity"))).toBeLessThan(1);
    vi.advanceTimersByTime(LASER_LIFETIME_MS);
    expect(findAll("stroke").map((s) => s.dataset["tool"])).toEqual(["arrow", "rect"]);
  });

  it("replaces a stroke sent again with the same id", () => {
    draw({ points: [[0, 0], [1, 1]] });
    vi.advanceTimersByTime(STROKE_LIFETIME_MS - 500);
    draw({ points: [[0, 0], [1, 1], [2, 2]] });
    expect(findAll("stroke")).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    expect(find("stroke")!.querySelector("polyline")!.getAttribute("points")).toBe("0,0 1,1 2,2");
  });

  it("keeps strokes on the page content when the window scrolls", () => {
    draw({});
    Object.defineProperty(window, "scrollY", { configurable: true, value: 300 });
    window.dispatchEvent(new Event("scroll"));
    const layer = find("annotation-overlay")!.querySelector("g")!;
    expect(layer.getAttribute("transform")).toBe("translate(0 -300)");
    Object.defineProperty(window, "scrollY", { configurable: true, value: 0 });
  });

  it("draws nothing without an annotate grant, and clears an agent's strokes when its grant ends", () => {
    draw({}, bob.id);
    draw({ tool: "rect" }, alice.id);
    t.receive({ type: "stroke", agent_id: alice.id, tab: "other-tab", stroke: { id: "x", tool: "pen", color: "#000000", points: [[0, 0]] } });
    expect(findAll("stroke").map((s) => s.dataset["agentId"])).toEqual([alice.id]);
    t.grant();
    expect(find("stroke")).toBeNull();
  });
});
