import { describe, expect, it } from "vitest";
import { SseParser } from "../src/sse";

const STREAM = ': keep-alive\n\nevent: ready\ndata: {"now_ms":5}\n\nevent: session\ndata: {"id":"a"}\n\nevent: gone\ndata: {"id":"a"}\n\n';

function all(chunks: string[]) {
  const parser = new SseParser();
  return chunks.flatMap((c) => parser.push(c)).map((e) => [e.type, e.data]);
}

describe("SseParser", () => {
  it("reads named events and skips comments", () => {
    expect(all([STREAM])).toEqual([
      ["ready", '{"now_ms":5}'],
      ["session", '{"id":"a"}'],
      ["gone", '{"id":"a"}'],
    ]);
  });

  it("gives the same events however the text is cut", () => {
    const whole = all([STREAM]);
    for (let size = 1; size < 12; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < STREAM.length; i += size) chunks.push(STREAM.slice(i, i + size));
      expect(all(chunks)).toEqual(whole);
    }
  });

  it("accepts CRLF and CR line ends, also when a CRLF is split between chunks", () => {
    expect(all(["event: a\r\ndata: 1\r", "\n\r", "\nevent: b\rdata: 2\r\r"])).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
  });

  it("joins data lines, calls an unnamed event a message, and drops an event without data", () => {
    expect(all(["data: one\ndata:two\n\nevent: empty\n\ndata\n\n"])).toEqual([
      ["message", "one\ntwo"],
      ["message", ""],
    ]);
  });

  it("holds an event back until its blank line arrives", () => {
    const parser = new SseParser();
    expect(parser.push("event: session\ndata: {}\n")).toEqual([]);
    expect(parser.push("\n")).toEqual([{ type: "session", data: "{}", lastId: "" }]);
  });

  it("keeps the last id", () => {
    const parser = new SseParser();
    expect(parser.push("id: 7\ndata: x\n\ndata: y\n\n").map((e) => e.lastId)).toEqual(["7", "7"]);
  });
});
