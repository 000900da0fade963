import { describe, expect, it } from "vitest";
import {
  consoleEntries,
  consoleEntryOf,
  countUpTo,
  formatConsolePayload,
  isError,
  matchesLevel,
  type ConsoleEntry,
} from "../src/console-log";

function pluginEvent(level: string, payload: unknown[], timestamp = 100, trace: string[] = []) {
  return { type: 6, data: { plugin: "rrweb/console@1", payload: { level, payload, trace } }, timestamp };
}

describe("consoleEntryOf", () => {
  it("extracts level, text and time from the console plugin's events", () => {
    const entry = consoleEntryOf(pluginEvent("error", ['"Uncaught TypeError: x is undefined"'], 1234, ["at f (app.js:1:2)"]), "t-1");
    expect(entry).toEqual({
      level: "error",
      text: "Uncaught TypeError: x is undefined",
      timestamp: 1234,
      trace: ["at f (app.js:1:2)"],
      tab: "t-1",
    });
  });

  it("ignores other events and other plugins", () => {
    expect(consoleEntryOf({ type: 3, data: { source: 0 }, timestamp: 1 })).toBeNull();
    expect(consoleEntryOf({ type: 6, data: { plugin: "rrweb/sequential-id@1", payload: { id: 1 } }, timestamp: 1 })).toBeNull();
    expect(consoleEntryOf({ type: 6, data: { plugin: "rrweb/console@1" }, timestamp: 1 })).toBeNull();
    expect(consoleEntryOf("not an event")).toBeNull();
    expect(consoleEntryOf(null)).toBeNull();
  });

  it("defaults a missing level to log", () => {
    expect(consoleEntryOf({ type: 6, data: { plugin: "rrweb/console@1", payload: { payload: ['"x"'] } }, timestamp: 1 })?.level).toBe("log");
  });

  it("collects the entries of a recording in order", () => {
    const events = [
      { type: 4, data: { href: "x", width: 1, height: 1 }, timestamp: 1 },
      pluginEvent("log", ['"a"'], 2),
      { type: 3, data: { source: 2 }, timestamp: 3 },
      pluginEvent("warn", ['"b"'], 4),
    ];
    expect(consoleEntries(events, "t").map((e) => [e.level, e.text, e.tab])).toEqual([
      ["log", "a", "t"],
      ["warn", "b", "t"],
    ]);
  });
});

describe("formatConsolePayload", () => {
  it("unquotes strings and keeps other values as recorded", () => {
    expect(formatConsolePayload(['"count:"', "3", '{"a":1}', "undefined", '"say \\"hi\\""'])).toBe('count: 3 {"a":1} undefined say "hi"');
  });
  it("copes with payloads that are not arrays", () => {
    expect(formatConsolePayload('"alone"')).toBe("alone");
    expect(formatConsolePayload(undefined)).toBe("");
    expect(formatConsolePayload([1, null])).toBe("1 null");
  });
});

describe("level filter", () => {
  const levels = ["log", "info", "warn", "error", "debug", "assert", "trace"];
  const entries = levels.map((level) => ({ level }));
  const shown = (f: Parameters<typeof matchesLevel>[1]) => entries.filter((e) => matchesLevel(e, f)).map((e) => e.level);

  it("shows everything for all", () => expect(shown("all")).toEqual(levels));
  it("shows errors and failed assertions for error", () => expect(shown("error")).toEqual(["error", "assert"]));
  it("shows warnings with errors for warn", () => expect(shown("warn")).toEqual(["warn", "error", "assert"]));
  it("shows exactly info, debug", () => {
    expect(shown("info")).toEqual(["info"]);
    expect(shown("debug")).toEqual(["debug"]);
  });
  it("counts trace and other printing calls as log", () => expect(shown("log")).toEqual(["log", "trace"]));
  it("highlights errors", () => {
    expect(isError({ level: "error" })).toBe(true);
    expect(isError({ level: "warn" })).toBe(false);
  });
});

describe("countUpTo", () => {
  const at = (...ts: number[]) => ts.map((timestamp) => ({ timestamp }) as Pick<ConsoleEntry, "timestamp">);
  it("counts entries at or before a time", () => {
    const entries = at(10, 20, 20, 30);
    expect(countUpTo(entries, 5)).toBe(0);
    expect(countUpTo(entries, 10)).toBe(1);
    expect(countUpTo(entries, 20)).toBe(3);
    expect(countUpTo(entries, 29)).toBe(3);
    expect(countUpTo(entries, 1000)).toBe(4);
    expect(countUpTo([], 1000)).toBe(0);
  });
});
