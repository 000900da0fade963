import { describe, expect, it } from "vitest";

import { Backoff } from "../src/backoff";

describe("backoff", () => {
  it("grows exponentially up to the cap", () => {
    const b = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.999999 });
    const delays = Array.from({ length: 7 }, () => b.next());
    expect(delays).toEqual([99, 199, 399, 799, 999, 999, 999]);
  });

  it("draws each delay uniformly from [0, ceiling) (full jitter)", () => {
    const low = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0 });
    expect([low.next(), low.next(), low.next()]).toEqual([0, 0, 0]);

    const mid = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.5 });
    expect([mid.next(), mid.next(), mid.next()]).toEqual([50, 100, 200]);
  });

  it("stays within bounds with the real random source", () => {
    const b = new Backoff({ baseMs: 500, capMs: 30_000 });
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const ceiling = b.ceiling();
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(ceiling);
      expect(d).toBeLessThan(30_000);
      seen.add(d);
    }
    expect(seen.size).toBeGreaterThan(100); // jitter: not a fixed schedule
  });

  it("does not overflow after many failures", () => {
    const b = new Backoff({ baseMs: 500, capMs: 30_000, random: () => 0.5 });
    for (let i = 0; i < 5000; i++) b.next();
    expect(b.next()).toBe(15_000);
  });

  it("starts over after reset", () => {
    const b = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.5 });
    b.next();
    b.next();
    b.next();
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(50);
  });
});
