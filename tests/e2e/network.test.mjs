// The network panel: the demo page's requests, recorded by the tracker, in the agent's console
// live and in replay. A real server, the demo page and the console in headless Chromium.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  api, eventually, itemCount, markMoment, openAgent, openSession, openUser, seekByEntry,
  startBrowserAndServer, stopBrowserAndServer, storedEvents,
} from "./harness.mjs";

let browser;
let server;
before(async () => ({ browser, server } = await startBrowserAndServer({ args: ["--idle-timeout", "1s"] })));
after(() => stopBrowserAndServer(browser, server));

const failedRow = '#network-panel .network-entry.failed[data-status="404"]';

test("a failing request on the user's page shows live in the agent's network panel with its status", async () => {
  const u = await openUser(browser, server);
  const a = await openAgent(browser, server);
  await openSession(a, u.id);

  await u.page.click("#request-ok");
  await u.page.click("#request-fail");
  // The page's own request behaves as without the tracker.
  await u.page.waitForSelector("#request-result:has-text('missing-order.json: 404')");

  const row = a.page.locator(failedRow);
  await row.waitFor({ timeout: 5_000 });
  assert.equal(await row.getAttribute("data-type"), "xhr");
  const text = await row.textContent();
  assert.match(text, /GET/);
  assert.match(text, /404/);
  assert.match(text, /\/demo\/api\/orders\/missing-order\.json/);
  assert.doesNotMatch(text, /order=1234/, "the query string is not recorded by default");
  const ok = a.page.locator('#network-panel .network-entry[data-status="200"][data-type="fetch"]', { hasText: "second.html" });
  await ok.waitFor({ timeout: 5_000 });
  assert.equal(await ok.getAttribute("data-failed"), "false");
  await eventually(async () => Number(await a.page.getAttribute("#network-panel", "data-failed")) >= 1, 5_000, "the failed count");

  // Filters: by status class, by type, by text.
  await a.page.selectOption("#network-status", "2xx");
  await eventually(async () => (await a.page.locator(failedRow).count()) === 0 && (await ok.count()) === 1, 5_000, "2xx only");
  await a.page.selectOption("#network-status", "failed");
  await eventually(async () => (await a.page.locator(failedRow).count()) === 1 && (await ok.count()) === 0, 5_000, "failed only");
  await a.page.selectOption("#network-status", "all");
  await a.page.selectOption("#network-type", "fetch");
  await eventually(async () => (await a.page.locator(failedRow).count()) === 0 && (await ok.count()) === 1, 5_000, "fetch only");
  await a.page.selectOption("#network-type", "all");
  await a.page.fill("#network-search", "missing");
  await eventually(async () => (await a.page.locator(failedRow).count()) === 1 && (await ok.count()) === 0, 5_000, "text filter");

  // What the session stream holds: the plugin event, without the query, and none of the
  // tracker's own requests to the server.
  const requests = (await storedEvents(server, u.id))
    .filter((e) => e.type === 6 && e.data?.plugin === "cobrowse/network@1")
    .map((e) => e.data.payload);
  const failed = requests.find((r) => r.url.endsWith("/demo/api/orders/missing-order.json"));
  assert.ok(failed, `the failed request is stored: ${JSON.stringify(requests)}`);
  assert.equal(failed.status, 404);
  assert.equal(failed.failed, true);
  assert.equal(failed.type, "xhr");
  assert.ok(!("requestHeaders" in failed) && !("responseBody" in failed), "no headers or bodies by default");
  assert.ok(requests.every((r) => !r.url.includes("/api/v1/")), "the tracker's own requests are not recorded");

  // An XHR opened with a user and password in its URL (Chromium sends them): recorded without.
  await u.page.evaluate(() => {
    const xhr = new XMLHttpRequest();
    xhr.open("GET", `${location.origin.replace("//", "//ann:hunter2@")}/demo/api/credentials.json`);
    xhr.send();
  });
  const withCredentials = await eventually(async () => {
    const stored = (await storedEvents(server, u.id)).filter((e) => e.type === 6 && e.data?.plugin === "cobrowse/network@1");
    return stored.find((e) => e.data.payload.url.endsWith("/demo/api/credentials.json"))?.data.payload;
  }, 10_000, "the request with credentials");
  assert.equal(withCredentials.url, `${new URL(server.url).origin}/demo/api/credentials.json`);
  assert.doesNotMatch(JSON.stringify(await storedEvents(server, u.id)), /hunter2/);
  await a.context.close();
  await u.context.close();
});

test("clicking a request moves the replay to when it ended", async () => {
  const u = await openUser(browser, server);
  const a = await openAgent(browser, server);
  const live = await openSession(a, u.id);
  const { earlier, at: failedAt } = await markMoment(server, u, live, "#request-fail");
  const at = await seekByEntry(a, failedRow, earlier + 1, failedAt, "the request failed");

  // In the replay, the panel shows what ended up to the replayed moment; Enter on the request
  // seeks back to it from elsewhere.
  await a.page.keyboard.press("ArrowLeft");
  await eventually(async () => Number(await a.page.getAttribute("#timeline", "data-value")) < at - 1000, 5_000, "the replay moved back");
  await eventually(async () => (await a.page.locator(failedRow).count()) === 0, 5_000, "the request not yet made");
  await a.page.keyboard.press("ArrowRight");
  await a.page.keyboard.press("ArrowRight");
  await a.page.locator(failedRow).focus({ timeout: 5_000 });
  await a.page.keyboard.press("Enter");
  await eventually(
    async () => Math.abs(Number(await a.page.getAttribute("#timeline", "data-value")) - at) < 300,
    5_000,
    "the replay back at the request",
  );
  await a.context.close();
  await u.context.close();
});
