import { afterEach, describe, expect, it, vi } from "vitest";
import { sendableKey } from "../src/keys";
import { throttle } from "../src/throttle";

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  ...mods,
});

describe("sendableKey", () => {
  it("sends printable characters and the named keys the page performs", () => {
    for (const k of ["a", "Z", "5", " ", "é", "Enter", "Tab", "Backspace", "Delete", "Escape", "ArrowLeft", "ArrowDown"]) {
      expect(sendableKey(key(k))).toBe(k);
    }
  });

  it("keeps shortcuts and other keys for the agent's browser", () => {
    expect(sendableKey(key("c", { ctrlKey: true }))).toBeNull();
    expect(sendableKey(key("r", { metaKey: true }))).toBeNull();
    expect(sendableKey(key("Shift"))).toBeNull();
    expect(sendableKey(key("F5"))).toBeNull();
    expect(sendableKey(key("PageDown"))).toBeNull();
  });
});

describe("throttle", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs at once, then at most once per interval with the latest arguments", () => {
    vi.useFakeTimers();
    const calls: number[] = [];
    const t = throttle((n: number) => calls.push(n), 66, () => Date.now());
    t(1);
    expect(calls).toEqual([1]);
    t(2);
    t(3);
    expect(calls).toEqual([1]);
    vi.advanceTimersByTime(66);
    expect(calls).toEqual([1, 3]);
    vi.advanceTimersByTime(200);
    t(4);
    expect(calls).toEqual([1, 3, 4]);
  });

  it("drops a waiting call when cancelled", () => {
    vi.useFakeTimers();
    const calls: number[] = [];
    const t = throttle((n: number) => calls.push(n), 66, () => Date.now());
    t(1);
    t(2);
    t.cancel();
    vi.advanceTimersByTime(100);
    expect(calls).toEqual([1]);
  });
});
