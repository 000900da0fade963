import { describe, expect, it } from "vitest";

import { countUpTo } from "../src/console-log";
import {
  displayUrl,
  formatSize,
  formatRequestDuration,
  matchesFilter,
  type NetworkRequest,
  networkRequestOf,
  networkRequests,
  NO_FILTER,
  statusLabel,
} from "../src/network-log";
import { tabRecording } from "../src/tab-recording";

function requestEvent(payload: Record<string, unknown>, timestamp = 2000) {
  return {
    type: 6,
    data: {
      plugin: "cobrowse/network@1",
      payload: {
        type: "fetch",
        method: "GET",
        url: "https://shop.test/api/cart",
        status: 200,
        startedAt: timestamp - 100,
        duration: 100,
        requestSize: null,
        responseSize: 512,
        failed: false,
        ...payload,
      },
    },
    timestamp,
  };
}

const parsed = (payload: Record<string, unknown>, timestamp?: number): NetworkRequest =>
  networkRequestOf(requestEvent(payload, timestamp), "t-1")!;

describe("networkRequestOf", () => {
  it("reads the tracker's network events", () => {
    expect(parsed({ method: "post", status: 201, requestSize: 12 }, 5000)).toEqual({
      type: "fetch",
      method: "POST",
      url: "https://shop.test/api/cart",
      status: 201,
      error: null,
      failed: false,
      duration: 100,
      requestSize: 12,
      responseSize: 512,
      timestamp: 5000,
      startedAt: 4900,
      dropped: 0,
      requestHeaders: null,
      responseHeaders: null,
      requestBody: null,
      responseBody: null,
      tab: "t-1",
    });
  });

  it("counts a 4xx/5xx or an error as failed even if the page's tracker said otherwise", () => {
    expect(parsed({ status: 404 }).failed).toBe(true);
    expect(parsed({ status: 0, error: "network" }).failed).toBe(true);
    expect(parsed({ status: 302 }).failed).toBe(false);
  });

  it("ignores other events, other plugins and payloads without a URL", () => {
    expect(networkRequestOf({ type: 3, data: {}, timestamp: 1 })).toBeNull();
    expect(networkRequestOf({ type: 6, data: { plugin: "rrweb/console@1", payload: { level: "log" } }, timestamp: 1 })).toBeNull();
    expect(networkRequestOf(requestEvent({ url: 42 }))).toBeNull();
  });

  it("drops mistyped fields instead of trusting them", () => {
    const r = parsed({ status: "500", duration: -4, responseSize: "big", requestHeaders: { a: "1", b: 2 }, type: "ws" });
    expect(r).toMatchObject({ status: 0, duration: 0, responseSize: null, requestHeaders: { a: "1" }, type: "fetch" });
  });
});

describe("the network panel's filters", () => {
  const requests = [
    parsed({ status: 200, url: "https://shop.test/api/cart" }),
    parsed({ status: 304, url: "https://shop.test/logo.svg", type: "xhr" }),
    parsed({ status: 404, url: "https://shop.test/demo/missing.json" }),
    parsed({ status: 503, method: "POST", url: "https://pay.test/charge", type: "xhr" }),
    parsed({ status: 0, error: "network", url: "https://offline.test/ping" }),
    parsed({ status: 0, error: "aborted", url: "https://shop.test/search" }),
  ];
  const urls = (filter: Partial<typeof NO_FILTER>) =>
    requests.filter((r) => matchesFilter(r, { ...NO_FILTER, ...filter })).map((r) => new URL(r.url).pathname);

  it("filters by status class", () => {
    expect(urls({})).toHaveLength(6);
    expect(urls({ status: "2xx" })).toEqual(["/api/cart"]);
    expect(urls({ status: "3xx" })).toEqual(["/logo.svg"]);
    expect(urls({ status: "4xx" })).toEqual(["/demo/missing.json"]);
    expect(urls({ status: "5xx" })).toEqual(["/charge"]);
    expect(urls({ status: "failed" })).toEqual(["/demo/missing.json", "/charge", "/ping", "/search"]);
  });

  it("filters by type and by words of the method, URL or status", () => {
    expect(urls({ type: "xhr" })).toEqual(["/logo.svg", "/charge"]);
    expect(urls({ type: "fetch", status: "failed" })).toEqual(["/demo/missing.json", "/ping", "/search"]);
    expect(urls({ text: "post PAY" })).toEqual(["/charge"]);
    expect(urls({ text: "404" })).toEqual(["/demo/missing.json"]);
    expect(urls({ text: "aborted" })).toEqual(["/search"]);
    expect(urls({ text: "   " })).toHaveLength(6);
  });

  it("labels statuses and formats sizes and durations", () => {
    expect(requests.map(statusLabel)).toEqual(["200", "304", "404", "503", "failed", "aborted"]);
    expect(statusLabel({ status: 0, error: null })).toBe("opaque");
    expect([null, 0, 999, 1500, 2_500_000].map(formatSize)).toEqual(["–", "0 B", "999 B", "1.5 kB", "2.5 MB"]);
    expect([85, 1240, 12_345].map(formatRequestDuration)).toEqual(["85 ms", "1.24 s", "12.3 s"]);
    expect(displayUrl("https://shop.test/a?b=1")).toEqual({ path: "/a?b=1", host: "shop.test" });
    expect(displayUrl("data:image/png")).toEqual({ path: "data:image/png", host: "" });
  });
});

describe("a replay's requests", () => {
  it("are picked out of a tab's recording in time order, and shown up to the replayed moment", () => {
    const events = [
      requestEvent({ url: "https://shop.test/late" }, 3000),
      { type: 4, data: { href: "https://shop.test/", width: 800, height: 600 }, timestamp: 500 },
      requestEvent({ url: "https://shop.test/early", status: 500 }, 1000),
    ];
    const recording = tabRecording("t-1", events as never, 4000);
    expect(recording.network.map((r) => r.url)).toEqual(["https://shop.test/early", "https://shop.test/late"]);
    expect(countUpTo(recording.network, 2000)).toBe(1);
    expect(networkRequests(events, "t-1")).toHaveLength(2);
  });
});
