// Watching with the user's knowledge (the tracker's `view` option), in headless Chromium against
// a real server. With `view: "ask"` nothing of the page reaches the agent (checked on the agent's
// own WebSocket frames and in the console's live view) until the user clicks Accept, and then the
// live view shows the page. With the default `notify` the page names the agent while it watches.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, eventually, newestSession, openAgent, startBrowserAndServer, stopBrowserAndServer } from "./harness.mjs";

let browser;
let server;
before(async () => ({ browser, server } = await startBrowserAndServer()));
after(() => stopBrowserAndServer(browser, server));

/** A user on the demo page with `?view=…`, in a context of their own. */
async function openUserWith(view) {
  const existing = (await api(server, "/api/v1/sessions?limit=200")).sessions.map((s) => s.id);
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/demo/${view ? `?view=${view}` : ""}`);
  const id = await newestSession(server, existing);
  return { context, page, id };
}

/** MessagePack `str` of `text` (under 32 bytes): how a `type` value appears in a frame. */
const packed = (text) => Buffer.concat([Buffer.from([0xa0 | text.length]), Buffer.from(text)]);
const EVENTS = packed("events");
const VIEW_CONSENT = packed("view_consent");

/** Every binary frame the agent's live sockets receive, as Buffers. */
function recordLiveFrames(page) {
  const frames = [];
  page.on("websocket", (ws) => {
    if (!ws.url().includes("/live")) return;
    ws.on("framereceived", ({ payload }) => {
      frames.push(typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload));
    });
  });
  return frames;
}

/**
 * A user on a page in `view: ask`, and an agent opening its live view: until the page's view
 * prompt shows. `frames` fills with what the agent's live sockets receive.
 */
async function agentOpensAskingPage() {
  const u = await openUserWith("ask");
  const a = await openAgent(browser, server);
  const frames = recordLiveFrames(a.page);
  await a.page.click(`.session-row[data-session-id="${u.id}"]`);
  const prompt = u.page.locator('[data-cobrowse="consent-prompt"][data-kind="view"]');
  await prompt.waitFor();
  return { u, a, frames, prompt };
}

test("with view: ask the agent gets nothing of the page until the user accepts, then sees it live", async () => {
  const { u, a, frames, prompt } = await agentOpensAskingPage();
  // The user is asked, by name; the console says it waits and shows nothing of the page.
  assert.match(await prompt.textContent(), /e2e asks to see this page/);
  await a.page.waitForSelector('#connection-status[data-status="waiting"]');
  assert.equal(await a.page.locator("#stage-message").textContent(), "Waiting for the user to accept…");
  await new Promise((ok) => setTimeout(ok, 1500));
  assert.ok(frames.some((f) => f.includes(VIEW_CONSENT)), "the server said the user is asked");
  assert.ok(!frames.some((f) => f.includes(EVENTS)), "no events frame before Accept");
  assert.equal(await a.page.locator("#live-view iframe").count(), 0, "no page in the live view");
  assert.ok(!(await a.page.content()).includes("item-count"), "nothing of the page in the console");

  // Accept: the live view shows the page, and the page shows who can see it.
  await prompt.locator('[data-cobrowse="consent-accept"]').click();
  await a.page.waitForSelector('#connection-status[data-status="live"]');
  await a.page.frameLocator("#live-view iframe").locator("#item-count").waitFor();
  assert.ok(frames.some((f) => f.includes(EVENTS)));
  const indicator = u.page.locator('[data-cobrowse="grant-indicator"]');
  await indicator.waitFor();
  assert.match(await indicator.textContent(), /e2e can see this page/);

  // Both answers are on the session's record.
  const detail = await api(server, `/api/v1/sessions/${u.id}`);
  const view = detail.activity.map((i) => i.record).filter((r) => r.kind === "view");
  assert.deepEqual(view.map((r) => r.action).slice(0, 2), ["requested", "granted"]);
  await a.context.close();
  await u.context.close();
});

test("with view: ask a decline keeps the page from the agent and the console says so", async () => {
  const { u, a, frames, prompt } = await agentOpensAskingPage();
  await prompt.locator('[data-cobrowse="consent-decline"]').click();
  await a.page.waitForSelector('#connection-status[data-status="error"]');
  assert.match(await a.page.locator("#stage-message").textContent(), /did not let you watch/);
  assert.ok(!frames.some((f) => f.includes(EVENTS)), "no events frame after a decline");
  await a.context.close();
  await u.context.close();
});

test("with the default view: notify the page names the agent while it watches", async () => {
  const u = await openUserWith(null);
  const a = await openAgent(browser, server);
  await a.page.click(`.session-row[data-session-id="${u.id}"]`);
  const badge = u.page.locator('[data-cobrowse="watching"]');
  await badge.waitFor();
  assert.equal(await badge.textContent(), "e2e can see this page");
  await a.context.close();
  await eventually(async () => (await badge.count()) === 0, 15_000, "the badge to go once the agent left");
  await u.context.close();
});
