import { describe, expect, it } from "vitest";
import { ApiError } from "../src/api";
import { decodeWatchEvent, retryable, retryDelay } from "../src/session-watch";

const summary = {
  id: "0193e0b6-8c1e-7a4e-9b5e-1f2d3c4b5a69",
  project: "",
  started_ms: 1,
  last_activity_ms: 2,
  url: "https://shop.example/",
  user_id: null,
  metadata: {},
  user_agent: "UA",
  browser: "chrome",
  viewport: { width: 1, height: 1 },
  tabs: ["t1"],
  live: true,
  ended_ms: null,
  end_reason: null,
  records: 0,
  call: false,
  console_errors: false,
};
const sse = (type: string, data: string) => ({ type, data, lastId: "" });

describe("the session watch feed", () => {
  it("decodes the four events", () => {
    expect(decodeWatchEvent(sse("ready", '{"now_ms":5}'))).toEqual({ kind: "ready" });
    expect(decodeWatchEvent(sse("reset", "{}"))).toEqual({ kind: "reset" });
    expect(decodeWatchEvent(sse("session", JSON.stringify(summary)))).toEqual({ kind: "session", session: summary });
    expect(decodeWatchEvent(sse("gone", `{"id":"${summary.id}"}`))).toEqual({ kind: "gone", id: summary.id });
  });

  it("drops what it cannot read instead of failing the list", () => {
    expect(decodeWatchEvent(sse("session", "not json"))).toBeNull();
    expect(decodeWatchEvent(sse("session", '{"id":5}'))).toBeNull();
    expect(decodeWatchEvent(sse("session", "null"))).toBeNull();
    expect(decodeWatchEvent(sse("gone", "{}"))).toBeNull();
    expect(decodeWatchEvent(sse("message", "{}"))).toBeNull();
  });

  it("waits longer after each failed reconnect, up to a limit", () => {
    expect([0, 1, 2, 3, 10].map(retryDelay)).toEqual([500, 1000, 2000, 4000, 15_000]);
  });

  it("retries an unreachable or busy server but not a refused query", () => {
    expect(retryable(new ApiError(0, "network", "down"))).toBe(true);
    expect(retryable(new ApiError(503, "not_ready", "loading"))).toBe(true);
    expect(retryable(new TypeError("network error"))).toBe(true);
    expect(retryable(new ApiError(400, "bad_request", "q is longer than 256 bytes"))).toBe(false);
    expect(retryable(new ApiError(401, "unauthorized", "no"))).toBe(false);
  });
});
