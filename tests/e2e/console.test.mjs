// The agent console watching the demo page, both in headless Chromium against a real server.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import {
  api, eventually, itemCount, markMoment, openAgent, openSession, openUser, scratchDir, seekByEntry,
  startBrowserAndServer, startServer, stopBrowserAndServer, storedEvents,
} from "./harness.mjs";

let browser;
let server;
before(async () => ({ browser, server } = await startBrowserAndServer({ args: ["--idle-timeout", "1s"] })));
after(() => stopBrowserAndServer(browser, server));

const user = () => openUser(browser, server);
const agent = () => openAgent(browser, server);


test("a DOM change on the user's page shows in the agent's live view within a second", async () => {
  const u = await user();
  const a = await agent();
  const view = await openSession(a, u.id);
  const before = await itemCount(view);
  await u.page.click("#add-item");
  const clicked = Date.now();
  await eventually(async () => (await itemCount(view)) === before + 1, 5_000, "the new item");
  const lag = Date.now() - clicked;
  console.log(`live view lag: ${lag} ms`);
  assert.ok(lag < 1000, `the change took ${lag} ms to show`);
  await a.context.close();
  await u.context.close();
});

test("a replayed page cannot make the agent's browser fetch from elsewhere, and the live view still renders", async () => {
  // A listener on another port counts every request made to it.
  const hits = [];
  const listener = createServer((req, res) => {
    hits.push(req.url);
    res.writeHead(200, { "Content-Type": "image/gif" });
    res.end();
  });
  await new Promise((ok) => listener.listen(0, "127.0.0.1", ok));
  const elsewhere = `http://127.0.0.1:${listener.address().port}`;
  await fetch(`${elsewhere}/probe`);
  assert.deepEqual(hits, ["/probe"], "the listener counts requests");
  hits.length = 0;

  const u = await user();
  // The user's own browser would fetch these too: keep its requests off the listener.
  await u.context.route(`${elsewhere}/**`, (route) => route.abort());
  const a = await agent();
  const served = await a.page.goto(`${server.url}/`);
  assert.match(served.headers()["content-security-policy"], /img-src 'self' data: blob:/);
  await a.page.waitForSelector("#session-list");
  const view = await openSession(a, u.id);
  await u.page.evaluate((origin) => {
    const img = document.createElement("img");
    img.id = "beacon";
    img.src = `${origin}/beacon`;
    const box = document.createElement("div");
    box.id = "css-beacon";
    box.style.cssText = `width: 10px; height: 10px; background-image: url("${origin}/css-beacon")`;
    const style = document.createElement("style");
    style.textContent = `#item-count { background: url("${origin}/style-beacon"); }
      @font-face { font-family: beacon; src: url("${origin}/font-beacon"); }
      #items { font-family: beacon; }`;
    document.body.append(img, box, style);
  }, elsewhere);
  await view.locator("#beacon").waitFor({ state: "attached", timeout: 5_000 });
  await view.locator("#css-beacon").waitFor({ state: "attached", timeout: 5_000 });
  // The live view goes on rendering the page's changes.
  const before = await itemCount(view);
  await u.page.click("#add-item");
  await eventually(async () => (await itemCount(view)) === before + 1, 5_000, "the new item");
  await new Promise((ok) => setTimeout(ok, 1000));
  assert.deepEqual(hits, [], "the agent's browser fetched nothing from the recorded page's URLs");
  const sandbox = await a.page.locator("#live-view iframe").first().getAttribute("sandbox");
  assert.equal(sandbox, "allow-same-origin", "the replay runs no script");
  await a.context.close();
  await u.context.close();
  await new Promise((ok) => listener.close(ok));
});

test("a console.error on the page appears in the console panel", async () => {
  const u = await user();
  const a = await agent();
  await openSession(a, u.id);
  await u.page.click("#log-error");
  const entry = a.page.locator('#console-panel .console-entry[data-level="error"]');
  await entry.first().waitFor({ timeout: 10_000 });
  assert.match(await entry.first().textContent(), /payment failed/);
  await a.context.close();
  await u.context.close();
});

test("two tabs of the user show as two tabs", async () => {
  const u = await user();
  const second = await u.context.newPage();
  await second.goto(`${server.url}/demo/second.html`);
  const a = await agent();
  // The view follows whichever tab the user used last.
  await openSession(a, u.id, "body");
  await eventually(async () => (await a.page.locator("#tabs .tab").count()) === 2, 10_000, "two tabs");
  const sessions = await api(server, "/api/v1/sessions?live=true");
  assert.equal(sessions.sessions.filter((s) => s.id === u.id).length, 1);
  assert.equal((await api(server, `/api/v1/sessions/${u.id}`)).tabs.length, 2);
  await a.context.close();
  await u.context.close();
});

test("scrubbing back shows the earlier page and Back to live the current one", async () => {
  const u = await user();
  const a = await agent();
  const live = await openSession(a, u.id);
  const earlier = await itemCount(live);
  const { started_ms } = await api(server, `/api/v1/sessions/${u.id}`);
  const beforeChanges = Date.now() - started_ms;
  await new Promise((ok) => setTimeout(ok, 1500));
  for (let i = 0; i < 3; i++) await u.page.click("#add-item");
  await eventually(async () => (await itemCount(live)) === earlier + 3, 5_000, "the live view to update");

  await a.page.evaluate((offset) => {
    const timeline = document.querySelector("#timeline");
    timeline.value = String(offset);
    timeline.dispatchEvent(new Event("input", { bubbles: true }));
    timeline.dispatchEvent(new Event("change", { bubbles: true }));
  }, beforeChanges);
  await a.page.waitForSelector('#session-view[data-mode="past"]');
  const past = a.page.frameLocator("#past-view iframe");
  await eventually(async () => (await itemCount(past)) === earlier, 10_000, "the earlier page");

  await a.page.click("#back-to-live");
  await a.page.waitForSelector('#session-view[data-mode="live"]');
  assert.equal(await itemCount(a.page.frameLocator("#live-view iframe")), earlier + 3);
  await a.context.close();
  await u.context.close();
});

test("four live sessions play side by side in the grid", async () => {
  const users = [];
  for (let i = 0; i < 4; i++) users.push(await user());
  const a = await agent();
  await a.page.goto(`${server.url}/#/grid/${users.map((x) => x.id).join(",")}`);
  await eventually(async () => (await a.page.locator("#grid .grid-cell").count()) === 4, 10_000, "four cells");
  const cells = users.map((x) =>
    a.page.frameLocator(`.grid-cell[data-session-id="${x.id}"] .player.shown iframe`));
  for (const cell of cells) await cell.locator("#item-count").waitFor({ timeout: 15_000 });
  const before = await itemCount(cells[2]);
  await users[2].page.click("#add-item");
  await eventually(async () => (await itemCount(cells[2])) === before + 1, 5_000, "the change in its cell");
  await a.context.close();
  for (const x of users) await x.context.close();
});

test("an ended session replays from the session list", async () => {
  const u = await user();
  await u.page.click("#add-item");
  // The summary's `records` is 0 for sessions the directory answers for: count the stored events.
  await eventually(async () => (await storedEvents(server, u.id)).length > 3, 5_000, "events");
  await u.context.close();
  await eventually(async () => (await api(server, `/api/v1/sessions/${u.id}`)).end_reason, 15_000, "the end");
  const a = await agent();
  await a.page.click(`.session-row[data-session-id="${u.id}"]`);
  await a.page.waitForSelector('#session-view[data-mode="recorded"]');
  await a.page.frameLocator("#past-view iframe").locator("#item-count").waitFor({ timeout: 15_000 });
  await a.context.close();
});

test("a session that starts while the list is open appears in it within seconds, without a reload, and shows ended when it ends", async () => {
  const a = await agent();
  await a.page.waitForSelector('#session-list-view[data-feed="open"]');
  // Gone if the page reloads.
  await a.page.evaluate(() => { window.listNotReloaded = true; });
  const opened = Date.now();
  const u = await user();
  const row = a.page.locator(`.session-row[data-session-id="${u.id}"]`);
  await row.waitFor({ timeout: 5_000 });
  const lag = Date.now() - opened;
  console.log(`new session in the list after ${lag} ms (page load included)`);
  assert.ok(lag < 5_000, `the new session took ${lag} ms to show`);
  assert.equal(await row.getAttribute("data-live"), "true");
  assert.equal(await a.page.evaluate(() => window.listNotReloaded), true, "the list was not reloaded");
  // Newest first: it is the top row.
  assert.equal(await a.page.locator(".session-row").first().getAttribute("data-session-id"), u.id);

  await u.context.close();
  await a.page.locator(`.session-row[data-session-id="${u.id}"][data-live="false"]`).waitFor({ timeout: 15_000 });
  assert.equal(await a.page.evaluate(() => window.listNotReloaded), true, "the list was not reloaded");
  await a.context.close();
});

test("a shared link with a search restores the search box and the filtered list, and typing updates both", async () => {
  const tag = Math.random().toString(36).slice(2, 8);
  const alice = await user();
  const bob = await user();
  await alice.page.evaluate((name) => window.cobrowse.identify(name), `alice-${tag}`);
  await bob.page.evaluate((name) => window.cobrowse.identify(name), `bob-${tag}`);
  await eventually(async () => {
    const found = await api(server, `/api/v1/sessions?q=alice-${tag}`);
    return found.sessions.length === 1 && found.sessions[0].id === alice.id;
  }, 10_000, "alice's user id in the directory");

  const a = await agent();
  await a.page.goto(`${server.url}/#/sessions?q=alice-${tag}&status=live`);
  await a.page.waitForSelector(`.session-row[data-session-id="${alice.id}"]`);
  assert.equal(await a.page.inputValue("#search"), `alice-${tag}`);
  assert.equal(await a.page.inputValue("#status-filter"), "live");
  assert.deepEqual(await a.page.locator(".session-row").evaluateAll((rows) => rows.map((r) => r.dataset.sessionId)), [alice.id]);

  await a.page.fill("#search", `BOB-${tag}`);
  await a.page.waitForSelector(`.session-row[data-session-id="${bob.id}"]`);
  await eventually(async () => (await a.page.locator(".session-row").count()) === 1, 5_000, "only bob's session");
  const hash = await a.page.evaluate(() => location.hash);
  assert.equal(hash, `#/sessions?q=BOB-${tag}&status=live`);
  // A session opened from the search leads back to it.
  await a.page.click(`.session-row[data-session-id="${bob.id}"]`);
  await a.page.waitForSelector("#session-view");
  await a.page.click("#back-to-list");
  await a.page.waitForSelector(`.session-row[data-session-id="${bob.id}"]`);
  assert.equal(await a.page.inputValue("#search"), `BOB-${tag}`);

  // The link restores the same list in another agent's console.
  const b = await agent();
  await b.page.goto(`${server.url}/${hash}`);
  await b.page.waitForSelector(`.session-row[data-session-id="${bob.id}"]`);
  assert.equal(await b.page.inputValue("#search"), `BOB-${tag}`);
  assert.equal(await b.page.locator(".session-row").count(), 1);
  for (const x of [a, b, alice, bob]) await x.context.close();
});

test("an ended session with two tabs replays each of them", async () => {
  const u = await user();
  const second = await u.context.newPage();
  await second.goto(`${server.url}/demo/second.html`);
  await eventually(async () => (await api(server, `/api/v1/sessions/${u.id}`)).tabs.length === 2, 10_000, "two tabs");
  await u.context.close();
  const ended = await eventually(async () => {
    const s = await api(server, `/api/v1/sessions/${u.id}`);
    return s.end_reason ? s : null;
  }, 15_000, "the end");
  assert.equal(ended.tabs.length, 2, "an ended session lists every tab it had");

  const a = await agent();
  await a.page.goto(`${server.url}/#/sessions/${u.id}`);
  await a.page.waitForSelector('#session-view[data-mode="recorded"]');
  assert.equal(await a.page.locator("#tabs .tab").count(), 2);
  const past = a.page.frameLocator("#past-view iframe");
  await past.locator("#item-count").waitFor({ timeout: 15_000 });
  await a.page.click(`#tabs .tab[data-tab="${ended.tabs[1]}"]`);
  await past.locator("#shipping").waitFor({ timeout: 15_000 });
  assert.equal(await a.page.getAttribute(`#tabs .tab[data-tab="${ended.tabs[1]}"]`, "aria-pressed"), "true");
  await eventually(async () => /second\.html/.test(await a.page.textContent(`#tabs .tab[data-tab="${ended.tabs[1]}"]`)), 5_000, "the tab's page in its label");
  await a.page.click(`#tabs .tab[data-tab="${ended.tabs[0]}"]`);
  await past.locator("#item-count").waitFor({ timeout: 15_000 });
  await a.context.close();
});

test("with the console-errors filter on, a session joins the list when its page logs an error", async () => {
  const u = await user();
  const a = await agent();
  await a.page.goto(`${server.url}/#/sessions?errors=true`);
  await a.page.waitForSelector('#session-list-view[data-feed="open"]');
  assert.equal(await a.page.isChecked("#errors-only"), true);
  const row = a.page.locator(`.session-row[data-session-id="${u.id}"]`);
  assert.equal(await row.count(), 0, "no error logged yet");
  await u.page.click("#log-error");
  await row.waitFor({ timeout: 10_000 });
  assert.equal(await row.getAttribute("data-errors"), "true");
  await row.locator(".errors-badge").waitFor();
  await a.context.close();
  await u.context.close();
});

test("the list reconnects after a server restart and goes on showing new sessions", async () => {
  const store = scratchDir();
  let own = await startServer({ dataDir: store.dir });
  try {
    const a = await openAgent(browser, own);
    await a.page.waitForSelector('#session-list-view[data-feed="open"]');
    await own.stop();
    await a.page.waitForSelector('#session-list-view[data-feed="retrying"]', { timeout: 10_000 });
    own = await startServer({ port: own.port, dataDir: store.dir });
    await a.page.waitForSelector('#session-list-view[data-feed="open"]', { timeout: 30_000 });
    const u = await openUser(browser, own);
    await a.page.locator(`.session-row[data-session-id="${u.id}"]`).waitFor({ timeout: 5_000 });
    await u.context.close();
    await a.context.close();
  } finally {
    await own.stop();
    store.remove();
  }
});

test("a link to a moment opens the recorded replay there, on that tab; keys move it and Copy link gives it back", async () => {
  const u = await user();
  await eventually(async () => (await storedEvents(server, u.id)).length > 2, 10_000, "the page recorded");
  const earlier = Number(await u.page.textContent("#item-count"));
  await new Promise((ok) => setTimeout(ok, 1000));
  const { started_ms } = await api(server, `/api/v1/sessions/${u.id}`);
  const beforeChanges = Date.now() - started_ms;
  await new Promise((ok) => setTimeout(ok, 1000));
  for (let i = 0; i < 3; i++) await u.page.click("#add-item");
  const second = await u.context.newPage();
  await second.goto(`${server.url}/demo/second.html`);
  await eventually(async () => (await api(server, `/api/v1/sessions/${u.id}`)).tabs.length === 2, 10_000, "two tabs");
  // Both tabs stay open well past the moment → lands on (5 s on), so Space there has seconds left
  // to play rather than a replay that may finish before its "playing" state is seen.
  const keepUntil = started_ms + beforeChanges + 9_000;
  await new Promise((ok) => setTimeout(ok, Math.max(0, keepUntil - Date.now())));
  await u.context.close();
  const ended = await eventually(async () => {
    const s = await api(server, `/api/v1/sessions/${u.id}`);
    return s.end_reason ? s : null;
  }, 15_000, "the end");
  const [first, other] = ended.tabs;

  const a = await agent();
  await a.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
  await a.page.goto(`${server.url}/#/sessions/${u.id}?t=${beforeChanges}&tab=${first}`);
  await a.page.waitForSelector('#session-view[data-mode="recorded"]');
  const past = a.page.frameLocator("#past-view iframe");
  await past.locator("#item-count").waitFor({ timeout: 15_000 });
  await eventually(async () => (await itemCount(past)) === earlier, 10_000, "the page before the clicks");
  assert.equal(Number(await a.page.getAttribute("#timeline", "data-value")), beforeChanges);
  const mss = (ms) => `${Math.floor(ms / 60_000)}:${String(Math.floor(ms / 1000) % 60).padStart(2, "0")}`;
  assert.equal(await a.page.getAttribute("#timeline", "aria-valuetext"), mss(beforeChanges));

  // → moves 5 s on: past the clicks.
  await a.page.keyboard.press("ArrowRight");
  await eventually(async () => (await itemCount(past)) === earlier + 3, 10_000, "the page after the clicks");
  const after = Number(await a.page.getAttribute("#timeline", "data-value"));
  assert.ok(after > beforeChanges, `→ moved the timeline from ${beforeChanges} to ${after}`);

  await a.page.click("#copy-link");
  await a.page.waitForSelector("#copy-link-status:has-text('Link copied')");
  const copied = await a.page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, `${server.url}/#/sessions/${u.id}?t=${after}&tab=${first}`);

  // The same moment of the other tab, by link.
  await a.page.goto(`${server.url}/#/sessions/${u.id}?t=${after}&tab=${other}`);
  await past.locator("#shipping").waitFor({ timeout: 15_000 });
  await eventually(async () => (await a.page.getAttribute(`#tabs .tab[data-tab="${other}"]`, "aria-pressed")) === "true", 5_000, "the linked tab shown as picked");

  // Space plays from there (on the page, not on a focused button).
  await a.page.evaluate(() => document.activeElement?.blur());
  await a.page.keyboard.press(" ");
  await a.page.waitForSelector('#play-pause[data-state="playing"]', { timeout: 5_000 });
  await a.context.close();
});

test("clicking a console message in the live view moves the replay to when it was logged", async () => {
  const u = await user();
  const a = await agent();
  const live = await openSession(a, u.id);
  const { earlier, at: loggedAt } = await markMoment(server, u, live, "#log-error");
  await seekByEntry(a, '#console-panel .console-entry[data-level="error"]', earlier + 1, loggedAt, "the error was logged");

  await a.page.keyboard.press("l");
  await a.page.waitForSelector('#session-view[data-mode="live"]');
  // `/` goes to the session search.
  await a.page.keyboard.press("/");
  await a.page.waitForSelector("#search:focus", { timeout: 5_000 });
  await a.context.close();
  await u.context.close();
});
