import { describe, expect, it } from "vitest";
import { arrowHead, makeStroke, MAX_POINTS, strokeColor, strokeOpacity, strokePoints } from "../src/strokes";

const path = [
  { x: 10.2, y: 20.7 },
  { x: 15, y: 25 },
  { x: 30, y: 40 },
];

describe("strokes", () => {
  it("sends the whole path for the pen and the laser, only the ends for arrow and rect", () => {
    expect(strokePoints("pen", path)).toEqual([[10, 21], [15, 25], [30, 40]]);
    expect(strokePoints("laser", path)).toEqual([[10, 21], [15, 25], [30, 40]]);
    expect(strokePoints("arrow", path)).toEqual([[10, 21], [30, 40]]);
    expect(strokePoints("rect", path)).toEqual([[10, 21], [30, 40]]);
  });

  it("keeps a long pen path within the 1000 points the server takes, ends included", () => {
    const long = Array.from({ length: 2500 }, (_, i) => ({ x: i, y: i }));
    const points = strokePoints("pen", long);
    expect(points).toHaveLength(MAX_POINTS);
    expect(points[0]).toEqual([0, 0]);
    expect(points[points.length - 1]).toEqual([2499, 2499]);
  });

  it("makes no stroke of nothing", () => {
    expect(makeStroke("pen", "#ff0000", [])).toBeNull();
    const s = makeStroke("arrow", "#ff0000", path);
    expect(s).toMatchObject({ tool: "arrow", color: "#ff0000", points: [[10, 21], [30, 40]] });
    expect(s!.id.length).toBeLessThanOrEqual(64);
    expect(makeStroke("arrow", "#ff0000", path)!.id).not.toBe(s!.id);
  });

  it("fades a stroke after a few seconds and the laser within one", () => {
    expect(strokeOpacity("pen", 0)).toBe(1);
    expect(strokeOpacity("pen", 3000)).toBe(1);
    expect(strokeOpacity("pen", 3500)).toBeCloseTo(0.5);
    expect(strokeOpacity("pen", 4000)).toBe(0);
    expect(strokeOpacity("laser", 500)).toBeCloseTo(0.5);
    expect(strokeOpacity("laser", 1000)).toBe(0);
  });

  it("accepts only #rrggbb colours", () => {
    expect(strokeColor("#00AAFF")).toBe("#00aaff");
    expect(strokeColor("red")).toBe("#e0353b");
  });

  it("puts an arrow's head at its end, pointing back along it", () => {
    const [a, b] = arrowHead({ x: 0, y: 0 }, { x: 100, y: 0 }, 10);
    expect(a.x).toBeLessThan(100);
    expect(b.x).toBeLessThan(100);
    expect(a.y).toBeCloseTo(-b.y);
  });
});
