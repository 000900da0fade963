// Remote control and annotations with the user's consent, in headless Chromium against a real
// server: the agent drives the demo page from the console's live view only after the user
// accepts, the page's own handlers run, and a stop or a decline leaves the page alone.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  api, eventually, openAgent, openSession, openUser, startBrowserAndServer, stopBrowserAndServer,
  storedEvents,
} from "./harness.mjs";

let browser;
let server;
before(async () => ({ browser, server } = await startBrowserAndServer()));
after(() => stopBrowserAndServer(browser, server));

const prompt = (u, kind) => u.page.locator(`[data-cobrowse="consent-prompt"][data-kind="${kind}"]`);
const itemCount = async (u) => Number(await u.page.locator("#item-count").textContent());

/**
 * Where a point of the user's viewport is on the agent's screen: the live view shows the user's
 * viewport scaled into the iframe's box.
 */
async function onAgentScreen(a, x, y) {
  const box = await a.page.locator("#live-view iframe").boundingBox();
  const size = a.page.locator("#viewport-size");
  const width = Number(await size.getAttribute("data-width"));
  const height = Number(await size.getAttribute("data-height"));
  return { x: box.x + (x * box.width) / width, y: box.y + (y * box.height) / height };
}

/** The centre of an element of the user's page, on the agent's screen. */
async function agentPointAt(a, u, selector) {
  const box = await u.page.locator(selector).boundingBox();
  assert.ok(box && box.y + box.height < 700, `${selector} must be in the user's viewport`);
  return onAgentScreen(a, box.x + box.width / 2, box.y + box.height / 2);
}

/** The agent clicks, in its live view, where `selector` is on the user's page. */
async function clickThrough(a, u, selector) {
  const point = await agentPointAt(a, u, selector);
  await a.page.mouse.click(point.x, point.y);
}

/** The agent asks for `kind` and the user accepts in the page's prompt. */
async function granted(a, u, kind) {
  const button = kind === "control" ? "request-control" : "request-annotate";
  await a.page.click(`[data-testid="${button}"]`);
  await prompt(u, kind).waitFor();
  assert.match(await prompt(u, kind).textContent(), /e2e/, "the prompt names the agent");
  await prompt(u, kind).locator('[data-cobrowse="consent-accept"]').click();
  const state = kind === "control" ? "control-state" : "annotate-state";
  await a.page.waitForSelector(`[data-testid="${state}"][data-state="granted"]`);
}

test("with the user's consent the agent clicks and types on the page, and the user's stop ends it", async () => {
  const u = await openUser(browser, server);
  const a = await openAgent(browser, server);
  await openSession(a, u.id);
  await u.page.evaluate(() => {
    window.clicksAt = [];
    document.addEventListener("click", () => window.clicksAt.push(Date.now()), true);
  });

  await granted(a, u, "control");
  const indicator = u.page.locator('[data-cobrowse="grant-indicator"]');
  await indicator.waitFor();
  assert.match(await indicator.textContent(), /e2e/, "the page shows who is in control");
  await a.page.waitForSelector('[data-testid="control-layer"]', { state: "visible" });

  // Clicks reach the page's own click handler; time each from the agent's click to the page's.
  const start = await itemCount(u);
  const latencies = [];
  const addButton = await agentPointAt(a, u, "#add-item");
  for (let i = 1; i <= 5; i++) {
    const sent = Date.now();
    await a.page.mouse.click(addButton.x, addButton.y);
    await eventually(async () => (await itemCount(u)) === start + i, 5_000, `click ${i} to add an item`);
    const handled = await u.page.evaluate(() => window.clicksAt.at(-1));
    latencies.push(handled - sent);
  }
  latencies.sort((x, y) => x - y);
  console.log(`agent click -> page handler: median ${latencies[2]} ms, max ${latencies[4]} ms`);

  // Typing: into the shopping list's input, with Enter handled by the page's keydown listener.
  await clickThrough(a, u, "#new-item");
  await a.page.keyboard.type("Tea");
  await eventually(async () => (await u.page.inputValue("#new-item")) === "Tea", 5_000, "typed text");
  await a.page.keyboard.press("Enter");
  await eventually(async () => (await u.page.locator("#list li span").allTextContents()).includes("Tea"), 5_000, "the item the agent typed");

  // A form: the agent fills a field and sends it; the page's submit handler confirms.
  await clickThrough(a, u, "#name");
  await a.page.keyboard.type("Ada");
  await eventually(async () => (await u.page.inputValue("#name")) === "Ada", 5_000, "the name field");
  await clickThrough(a, u, "#submit");
  await u.page.locator("#confirmation").waitFor({ state: "visible" });

  // The user presses stop: the agent's next click, sent at once, changes nothing.
  const count = await itemCount(u);
  const addItem = await agentPointAt(a, u, "#add-item");
  await u.page.click('[data-cobrowse="grant-stop"][data-kind="control"]');
  await a.page.mouse.click(addItem.x, addItem.y);
  await a.page.waitForSelector('[data-testid="control-state"][data-state="none"]');
  await a.page.mouse.click(addItem.x, addItem.y);
  await new Promise((ok) => setTimeout(ok, 1000));
  assert.equal(await itemCount(u), count, "no input after the stop");
  assert.equal(await indicator.count(), 0, "the indicator is gone");

  // Who did what is on the session's record.
  const { activity } = await api(server, `/api/v1/sessions/${u.id}`);
  const did = activity.map((entry) => entry.record.action);
  for (const action of ["joined", "requested", "granted", "control", "revoked"]) {
    assert.ok(did.includes(action), `${action} in ${did.join(", ")}`);
  }
  assert.ok(activity.every((entry) => entry.record.agent.name === "e2e"));
  await a.page.locator('[data-testid="activity-entry"][data-action="revoked"]').waitFor();

  // The tracker's own prompt and indicator are not part of the recording, nor any warning
  // about them.
  const recorded = JSON.stringify(await storedEvents(server, u.id));
  for (const text of ["asks to control", "is controlling this page", "Couldn't record"]) {
    assert.ok(!recorded.includes(text), `the recording contains "${text}"`);
  }
  await a.context.close();
  await u.context.close();
});

test("an arrow the agent draws appears on the user's page where it was drawn, follows scroll, then fades", async () => {
  const u = await openUser(browser, server);
  const a = await openAgent(browser, server);
  await openSession(a, u.id);
  // The user has scrolled: the agent's view follows, and strokes are placed on the page, not the
  // viewport.
  await u.page.evaluate(() => window.scrollTo(0, 200));
  const replayScroll = () => a.page.locator("#live-view iframe").evaluate((f) => f.contentWindow.scrollY);
  await eventually(async () => (await replayScroll()) === 200, 5_000, "the live view to scroll");
  await granted(a, u, "annotate");
  await a.page.click('[data-testid="annotate-tool-arrow"]');
  await a.page.waitForSelector('[data-testid="annotate-layer"]', { state: "visible" });

  const from = await onAgentScreen(a, 200, 150);
  const to = await onAgentScreen(a, 500, 350);
  await a.page.mouse.move(from.x, from.y);
  await a.page.mouse.down();
  await a.page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 5 });
  await a.page.mouse.move(to.x, to.y, { steps: 5 });
  await a.page.mouse.up();

  const arrow = u.page.locator('[data-cobrowse="stroke"][data-tool="arrow"]');
  await arrow.waitFor();
  const box = await arrow.boundingBox();
  const near = (value, expected) => Math.abs(value - expected) < 25;
  assert.ok(near(box.x, 200) && near(box.y, 150), `arrow starts near (200, 150): ${JSON.stringify(box)}`);
  assert.ok(near(box.x + box.width, 500) && near(box.y + box.height, 350), `arrow ends near (500, 350): ${JSON.stringify(box)}`);
  // It stays on what it marks when the user scrolls back up.
  await u.page.evaluate(() => window.scrollTo(0, 0));
  await eventually(async () => near((await arrow.boundingBox())?.y ?? -1, 350), 2_000, "the arrow to move with the page");
  await eventually(async () => (await arrow.count()) === 0, 8_000, "the arrow to fade");

  const { activity } = await api(server, `/api/v1/sessions/${u.id}`);
  const stroke = activity.find((entry) => entry.record.action === "stroke");
  assert.equal(stroke?.record.stroke.tool, "arrow");
  const [x, y] = stroke.record.stroke.points[0];
  assert.ok(near(x, 200) && near(y, 350), `the stroke is kept in page coordinates: ${x}, ${y}`);
  await a.context.close();
  await u.context.close();
});

test("a declined request leaves the page untouched", async () => {
  const u = await openUser(browser, server);
  const a = await openAgent(browser, server);
  await openSession(a, u.id);
  const count = await itemCount(u);

  await a.page.click('[data-testid="request-control"]');
  await prompt(u, "control").waitFor();
  await prompt(u, "control").locator('[data-cobrowse="consent-decline"]').click();
  await a.page.waitForSelector('[data-testid="control-state"][data-state="declined"]');
  assert.equal(await prompt(u, "control").count(), 0, "the prompt is gone");
  assert.equal(await a.page.locator('[data-testid="control-layer"]:visible').count(), 0, "no control layer");

  // Clicking the live view does nothing to the page.
  await clickThrough(a, u, "#add-item");
  await new Promise((ok) => setTimeout(ok, 1000));
  assert.equal(await itemCount(u), count);
  assert.equal(await u.page.locator('[data-cobrowse="grant-indicator"]').count(), 0);
  assert.equal(await u.page.locator('[data-cobrowse="agent-cursor"]:visible').count(), 0);
  const { activity } = await api(server, `/api/v1/sessions/${u.id}`);
  assert.ok(activity.some((entry) => entry.record.action === "declined"));
  assert.ok(!activity.some((entry) => entry.record.action === "control"));
  await a.context.close();
  await u.context.close();
});
