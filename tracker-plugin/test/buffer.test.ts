import { describe, expect, it } from "vitest";

import { type BufferedEvent, EventBuffer } from "../src/buffer";
import { jsonBytes } from "../src/protocol";
import { MemoryStorage } from "../src/storage";

function ev(seq: number, value: unknown = { type: 3, n: seq }, keep = false): BufferedEvent {
  return { seq, ts: 1_700_000_000_000 + seq, kind: "rrweb", data: jsonBytes(value), keep };
}

const seqs = (b: EventBuffer): number[] => b.all().map((e) => e.seq);

describe("event buffer", () => {
  it("drops events covered by an ack, and only those", () => {
    const b = new EventBuffer();
    for (let s = 1; s <= 10; s++) b.push(ev(s));
    expect(b.ack(0)).toBe(0);
    expect(b.ack(4)).toBe(4);
    expect(seqs(b)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(b.ack(4)).toBe(0); // a repeated ack changes nothing
    expect(b.ack(100)).toBe(6);
    expect(b.size).toBe(0);
    expect(b.bytes).toBe(0);
  });

  it("acks cumulatively across gaps in seq", () => {
    const b = new EventBuffer();
    [3, 7, 20, 21].forEach((s) => b.push(ev(s)));
    b.ack(10);
    expect(seqs(b)).toEqual([20, 21]);
  });

  it("removes one rejected event and tracks bytes", () => {
    const b = new EventBuffer();
    for (let s = 1; s <= 3; s++) b.push(ev(s));
    const total = b.bytes;
    expect(b.remove(2)).toBe(true);
    expect(b.remove(2)).toBe(false);
    expect(seqs(b)).toEqual([1, 3]);
    expect(b.bytes).toBe(total - ev(2).data.byteLength);
  });

  it("refuses events out of seq order", () => {
    const b = new EventBuffer();
    b.push(ev(5));
    expect(() => b.push(ev(5))).toThrow();
    expect(() => b.push(ev(4))).toThrow();
  });

  it("hands out batches after a seq, bounded by count and bytes", () => {
    const b = new EventBuffer();
    for (let s = 1; s <= 10; s++) b.push(ev(s));
    expect(b.batchAfter(0, 4, 1 << 20).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(b.batchAfter(8, 4, 1 << 20).map((e) => e.seq)).toEqual([9, 10]);
    expect(b.batchAfter(10, 4, 1 << 20)).toEqual([]);
    const one = ev(1).data.byteLength;
    expect(b.batchAfter(0, 64, one * 2 + 1)).toHaveLength(2);
    expect(b.batchAfter(0, 64, 1)).toHaveLength(1); // a big event goes alone
    expect(b.countAfter(3)).toBe(7);
  });

  it("survives a save and load byte for byte", () => {
    const storage = new MemoryStorage();
    const b = new EventBuffer();
    b.push(ev(1, { type: 4, data: { href: "https://x.example/é?q=\"✓\"" } }, true));
    b.push(ev(2, { type: 3, data: { text: "emoji 😀 and \u2028 line sep" } }));
    b.push({ seq: 3, ts: 5, kind: "identify", data: jsonBytes({ user_id: "u-1" }), keep: true });
    expect(b.save(storage, "k")).toBe(3);

    const loaded = EventBuffer.load(storage, "k");
    expect(loaded.all().map(({ seq, ts, kind, keep }) => ({ seq, ts, kind, keep }))).toEqual(
      b.all().map(({ seq, ts, kind, keep }) => ({ seq, ts, kind, keep })),
    );
    loaded.all().forEach((e, i) => expect(Array.from(e.data)).toEqual(Array.from(b.all()[i]!.data)));
    expect(loaded.bytes).toBe(b.bytes);
    expect(loaded.snapshotNeeded).toBe(false);
    // Loading takes the saved copy: a second page does not resend it as well.
    expect(storage.getItem("k")).toBeNull();
    expect(EventBuffer.load(storage, "k").size).toBe(0);
  });

  it("ignores a corrupt saved buffer", () => {
    const storage = new MemoryStorage();
    storage.setItem("k", "{not json");
    expect(EventBuffer.load(storage, "k").size).toBe(0);
    storage.setItem("k", JSON.stringify({ v: 1, snapshotNeeded: false, events: [{ s: "1" }] }));
    expect(EventBuffer.load(storage, "k").size).toBe(0);
  });

  it("saves the newest events that fit when storage is short, and asks for a snapshot", () => {
    const b = new EventBuffer();
    for (let s = 1; s <= 40; s++) b.push(ev(s, { type: 3, pad: "x".repeat(100) }));
    const small = new MemoryStorage();
    const limit = 2_000;
    const original = small.setItem.bind(small);
    small.setItem = (key: string, value: string) => {
      if (value.length > limit) throw new DOMException("quota", "QuotaExceededError");
      original(key, value);
    };
    const saved = b.save(small, "k");
    expect(saved).toBeGreaterThan(0);
    expect(saved).toBeLessThan(40);
    const loaded = EventBuffer.load(small, "k");
    expect(loaded.snapshotNeeded).toBe(true);
    expect(seqs(loaded)).toEqual(seqs(b).slice(40 - saved));
  });

  it("when over the event bound, drops the oldest events that are not snapshots", () => {
    const b = new EventBuffer({ maxEvents: 5 });
    b.push(ev(1, { type: 4 }, true)); // Meta
    b.push(ev(2, { type: 2 }, true)); // FullSnapshot
    for (let s = 3; s <= 5; s++) b.push(ev(s));
    expect(b.snapshotNeeded).toBe(false);
    b.push(ev(6));
    expect(seqs(b)).toEqual([1, 2, 4, 5, 6]);
    b.push(ev(7));
    expect(seqs(b)).toEqual([1, 2, 5, 6, 7]);
    expect(b.snapshotNeeded).toBe(true);
    expect(b.dropped).toBe(2);
  });

  it("when over the byte bound, drops oldest first and stays within it", () => {
    const size = ev(1, { type: 3, pad: "y".repeat(1000) }).data.byteLength;
    const b = new EventBuffer({ maxBytes: size * 3 });
    for (let s = 1; s <= 10; s++) b.push(ev(s, { type: 3, pad: "y".repeat(1000) }));
    expect(seqs(b)).toEqual([8, 9, 10]);
    expect(b.bytes).toBeLessThanOrEqual(size * 3);
    expect(b.snapshotNeeded).toBe(true);
  });

  it("drops kept events too when they alone are over the bound", () => {
    const b = new EventBuffer({ maxEvents: 3 });
    for (let s = 1; s <= 5; s++) b.push(ev(s, { type: 2 }, true));
    expect(seqs(b)).toEqual([3, 4, 5]);
  });
});
