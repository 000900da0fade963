import { describe, expect, it } from "vitest";
import { EventChunkReader, readEvents, type DownloadProgress } from "../src/event-download";
import { JsonArrayError } from "../src/json-array";
import type { RrwebEvent } from "../src/rrweb-events";

const EVENTS: RrwebEvent[] = [
  { type: 4, data: { href: "https://example.test/é", width: 800, height: 600 }, timestamp: 1000 },
  { type: 2, data: { node: { text: "漢字 🎉 \"quoted\" {braces} [brackets]" } }, timestamp: 1001 },
  { type: 3, data: { source: 2, text: "ünïcödé" }, timestamp: 1500 },
];
const BYTES = new TextEncoder().encode(JSON.stringify(EVENTS));

function body(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
}

function cut(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

describe("EventChunkReader", () => {
  it("gives the same events however the bytes are cut, multibyte characters included", () => {
    for (let size = 1; size <= 17; size++) {
      const reader = new EventChunkReader();
      const got = cut(BYTES, size).flatMap((c) => reader.push(c));
      got.push(...reader.finish());
      expect(got).toEqual(EVENTS);
      expect(reader.progress).toEqual({ bytes: BYTES.length, events: 3 });
    }
  });

  it("counts bytes and events as they arrive", () => {
    const reader = new EventChunkReader();
    const first = BYTES.indexOf(0x7d, BYTES.indexOf(0x7d) + 1) + 1; // after the first event's "}}"
    expect(reader.push(BYTES.subarray(0, first))).toEqual([EVENTS[0]]);
    expect(reader.progress).toEqual({ bytes: first, events: 1 });
    expect(reader.push(BYTES.subarray(first))).toEqual(EVENTS.slice(1));
    expect(reader.progress).toEqual({ bytes: BYTES.length, events: 3 });
  });

  it("leaves out values that are not rrweb events", () => {
    const reader = new EventChunkReader();
    const got = reader.push(new TextEncoder().encode('[{"type":4,"data":{},"timestamp":1},{"hello":"world"},{"type":"x","data":1,"timestamp":2}]'));
    reader.finish();
    expect(got).toEqual([{ type: 4, data: {}, timestamp: 1 }]);
    expect(reader.progress.events).toBe(1);
  });

  it("refuses bytes that are not UTF-8, and a body cut inside a character", () => {
    const bad = new EventChunkReader();
    expect(() => bad.push(new Uint8Array([0x5b, 0x7b, 0x22, 0xff, 0x22]))).toThrow(/not valid UTF-8/);
    const cutOff = new EventChunkReader();
    const text = new TextEncoder().encode('[{"a":"é');
    cutOff.push(text.subarray(0, text.length - 1));
    expect(() => cutOff.finish()).toThrow(JsonArrayError);
  });
});

describe("readEvents", () => {
  it("reads a body to its end, reporting progress after each chunk", async () => {
    const seen: Array<[number, DownloadProgress]> = [];
    const got: RrwebEvent[] = [];
    const total = await readEvents(body(cut(BYTES, 50)), (events, progress) => {
      got.push(...events);
      seen.push([events.length, { ...progress }]);
    });
    expect(got).toEqual(EVENTS);
    expect(total).toEqual({ bytes: BYTES.length, events: 3 });
    expect(seen.map(([, p]) => p.bytes)).toEqual([...seen.map(([, p]) => p.bytes)].sort((a, b) => a - b));
    expect(seen.at(-1)![1]).toEqual(total);
  });

  it("rejects a truncated body with a clear error", async () => {
    await expect(readEvents(body([BYTES.subarray(0, BYTES.length - 1)]), () => {})).rejects.toThrow(
      "the list of events was cut off after event 3",
    );
  });

  it("stops and cancels the body when aborted", async () => {
    let cancelled = false;
    let pull = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode(pull++ === 0 ? "[" : '{"type":3,"data":{},"timestamp":1},'));
      },
      cancel() {
        cancelled = true;
      },
    });
    const abort = new AbortController();
    let events = 0;
    const done = readEvents(
      endless,
      (batch) => {
        events += batch.length;
        if (events >= 5) abort.abort();
      },
      abort.signal,
    );
    await expect(done).rejects.toMatchObject({ name: "AbortError" });
    expect(events).toBe(5);
    expect(cancelled).toBe(true);
  });
});
