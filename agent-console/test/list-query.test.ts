import { describe, expect, it } from "vitest";
import {
  EMPTY_QUERY,
  fromLocalInput,
  isFiltered,
  listHash,
  queryOfHash,
  queryParams,
  toLocalInput,
  type ListQuery,
} from "../src/list-query";

const full: ListQuery = {
  q: "alice & bob?",
  status: "live",
  browser: "chrome",
  errors: true,
  from: 1_765_000_000_000,
  to: 1_765_100_000_000,
};

describe("list query", () => {
  it("survives a round trip through the URL hash", () => {
    expect(queryOfHash(listHash(full))).toEqual(full);
    expect(queryOfHash(listHash({ ...EMPTY_QUERY, status: "ended" }))).toEqual({ ...EMPTY_QUERY, status: "ended" });
  });

  it("writes nothing for the defaults, so the unfiltered list is #/", () => {
    expect(listHash(EMPTY_QUERY)).toBe("#/");
    expect(listHash({ ...EMPTY_QUERY, q: "   " })).toBe("#/");
    expect(isFiltered(EMPTY_QUERY)).toBe(false);
    expect(isFiltered({ ...EMPTY_QUERY, errors: true })).toBe(true);
  });

  it("escapes the search text", () => {
    expect(listHash({ ...EMPTY_QUERY, q: "a&b=c #1" })).toBe("#/sessions?q=a%26b%3Dc+%231");
  });

  it("asks the API with the server's parameter names", () => {
    expect(queryParams(full).toString()).toBe(
      "q=alice+%26+bob%3F&status=live&browser=chrome&errors=true&from=1765000000000&to=1765100000000",
    );
  });

  it("restores the list routes and leaves other views' routes alone", () => {
    expect(queryOfHash("")).toEqual(EMPTY_QUERY);
    expect(queryOfHash("#/")).toEqual(EMPTY_QUERY);
    expect(queryOfHash("#/sessions")).toEqual(EMPTY_QUERY);
    expect(queryOfHash("#/sessions?q=alice")).toEqual({ ...EMPTY_QUERY, q: "alice" });
    expect(queryOfHash("#/sessions/0193e0b6-8c1e-7a4e-9b5e-1f2d3c4b5a69")).toBeNull();
    expect(queryOfHash("#/grid")).toBeNull();
  });

  it("ignores what a hand-edited link gets wrong", () => {
    expect(queryOfHash("#/sessions?status=maybe&browser=netscape&errors=yes&from=soon&to=-5")).toEqual(EMPTY_QUERY);
    expect(queryOfHash("#/sessions?live=true&browser=Firefox&errors=1")).toEqual({
      ...EMPTY_QUERY,
      status: "live",
      browser: "firefox",
      errors: true,
    });
  });

  it("converts datetime inputs in the agent's time zone", () => {
    const ms = fromLocalInput("2026-12-07T10:30");
    expect(ms).toBe(new Date(2026, 11, 7, 10, 30).getTime());
    expect(toLocalInput(ms)).toBe("2026-12-07T10:30");
    expect(fromLocalInput("")).toBeNull();
    expect(fromLocalInput("yesterday")).toBeNull();
    expect(toLocalInput(null)).toBe("");
  });
});
