// Replaying recorded sessions in the agent console, in headless Chromium against a real server: a
// long recording downloads with its progress shown and starts playing before the last byte,
// "Skip inactivity" jumps an idle stretch, and clicking an activity entry moves the replay to it
// (and the address bar with it).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  api, eventually, itemCount, openAgent, openSession, openUser, startBrowserAndServer,
  stopBrowserAndServer, storedEvents,
} from "./harness.mjs";

let browser;
let server;
before(async () => ({ browser, server } = await startBrowserAndServer({ args: ["--idle-timeout", "1s"] })));
after(() => stopBrowserAndServer(browser, server));

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** Closes the user's browser and waits for the server to end the session. */
async function endSession(u) {
  await u.context.close();
  return eventually(async () => {
    const s = await api(server, `/api/v1/sessions/${u.id}`);
    return s.end_reason ? s : null;
  }, 15_000, "the session's end");
}

test("a long recording downloads with its progress shown, starts replaying before the end, plays on, and stops downloading when left", async () => {
  const u = await openUser(browser, server);
  await eventually(async () => (await storedEvents(server, u.id)).length > 2, 10_000, "the page recorded");
  // 4 MB of text hard to compress (random hex), in 80 changes over about 4 s (the server takes
  // 4 MiB/s a session), then one click: the last thing a replay to the end shows.
  await u.page.evaluate(async () => {
    const hex = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n / 2)), (b) => b.toString(16).padStart(2, "0")).join("");
    for (let i = 0; i < 80; i++) {
      const p = document.createElement("p");
      p.className = "bulk";
      p.textContent = hex(50_000);
      document.body.appendChild(p);
      await new Promise((ok) => setTimeout(ok, 50));
    }
  });
  await u.page.click("#add-item");
  const before = Number(await u.page.textContent("#item-count"));
  await eventually(async () => {
    const events = await storedEvents(server, u.id);
    return JSON.stringify(events).length > 4_000_000 && events.some((e) => e.type === 3 && e.data.source === 2);
  }, 20_000, "the bulk and the click stored");
  const ended = await endSession(u);

  const a = await openAgent(browser, server);
  const pageErrors = [];
  a.page.on("pageerror", (error) => pageErrors.push(error.message));
  // What the progress bar said, sampled every 20 ms from the page itself.
  await a.page.evaluate(() => {
    window.progressSeen = [];
    setInterval(() => {
      const bar = document.querySelector("#replay-progress");
      if (!bar || bar.parentElement.hidden) return;
      window.progressSeen.push({
        bytes: Number(bar.dataset.bytes),
        events: Number(bar.dataset.events),
        value: bar.getAttribute("value"),
        valueText: bar.getAttribute("aria-valuetext"),
        text: document.querySelector("#replay-progress-text").textContent,
        replaying: Boolean(document.querySelector("#past-view iframe")?.contentDocument?.querySelector("#item-count")),
      });
    }, 20);
  });
  // A slow line (about 500 kB/s), so the download takes seconds, as a long session's does.
  const cdp = await a.context.newCDPSession(a.page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 20, downloadThroughput: 500_000, uploadThroughput: -1 });
  await a.page.evaluate((hash) => { location.hash = hash; }, `#/sessions/${u.id}?t=0&tab=${ended.tabs[0]}`);
  await a.page.waitForSelector('#session-view[data-mode="recorded"]');
  const past = a.page.frameLocator("#past-view iframe");
  await past.locator("#item-count").waitFor({ timeout: 30_000 });
  // Played at 8x while downloading, the replay catches up with the download: it waits there and
  // goes on as more arrives.
  assert.equal(await a.page.isVisible(".replay-loading"), true, "still downloading when the replay showed the page");
  assert.equal(await past.locator(".bulk").count(), 0, "the replay stands at the start");
  await a.page.click('.speed[data-speed="8"]');
  await a.page.click("#play-pause");
  await a.page.waitForSelector(".replay-loading", { state: "hidden", timeout: 60_000 });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

  const seen = await a.page.evaluate(() => window.progressSeen);
  const bytes = [...new Set(seen.map((s) => s.bytes))];
  const events = [...new Set(seen.map((s) => s.events))];
  console.log(`progress samples: ${seen.length}, byte counts: ${bytes.length}, last: ${seen.at(-1)?.text}`);
  assert.ok(bytes.length >= 3, `the bytes moved (${bytes.join(", ")})`);
  assert.ok(bytes.every((b, i) => i === 0 || b > bytes[i - 1]), "bytes only grow");
  assert.ok(events.length >= 3 && events.every((e, i) => i === 0 || e > events[i - 1]), `the events moved (${events.join(", ")})`);
  assert.ok(bytes.at(-1) > 2_000_000, `most of the ${bytes.at(-1)} bytes were seen downloading`);
  const last = seen.at(-1);
  assert.match(last.text, /^Loading the recording: [\d.]+ (kB|MB), [\d,]+ events · up to \d+:\d\d of \d+:\d\d \(\d+%\)$/);
  assert.match(last.valueText, /^\d+%: [\d.]+ (kB|MB), [\d,]+ events, up to \d+:\d\d of \d+:\d\d$/);
  const percents = seen.map((s) => Number(s.value)).filter((v) => v > 0);
  assert.ok(percents.length > 0 && percents.every((p, i) => i === 0 || p >= percents[i - 1]), "the percentage never goes back");
  assert.ok(seen.some((s) => s.replaying), "the replay showed the page while the rest was downloading");

  // It played on to the end: every change and the click. If not, say where the replay stopped.
  await eventually(async () => (await past.locator(".bulk").count()) === 80, 30_000, "all 80 changes replayed").catch(async (error) => {
    const bulk = await past.locator(".bulk").count();
    const state = await a.page.evaluate(() => ({
      play: document.querySelector("#play-pause")?.dataset.state,
      at: document.querySelector("#timeline")?.dataset.value,
      message: document.querySelector("#stage-message")?.textContent,
    }));
    throw new Error(`${error.message}: ${bulk} shown, ${JSON.stringify(state)}, page errors: ${pageErrors.join(" | ") || "none"}`);
  });
  await eventually(async () => (await itemCount(past)) === before, 30_000, "the click replayed");
  await a.context.close();

  // Leaving the replay while it downloads stops the download.
  const b = await openAgent(browser, server);
  const slow = await b.context.newCDPSession(b.page);
  await slow.send("Network.enable");
  await slow.send("Network.emulateNetworkConditions", { offline: false, latency: 20, downloadThroughput: 200_000, uploadThroughput: -1 });
  const aborted = new Promise((ok) => {
    b.page.on("requestfailed", (request) => {
      if (request.url().includes(`/sessions/${u.id}/events`)) ok(request.failure()?.errorText);
    });
  });
  const finished = new Promise((ok) => {
    b.page.on("requestfinished", (request) => {
      if (request.url().includes(`/sessions/${u.id}/events`)) ok("finished");
    });
  });
  await b.page.evaluate((hash) => { location.hash = hash; }, `#/sessions/${u.id}`);
  await b.page.waitForSelector(".replay-loading:not([hidden])");
  await b.page.click("#back-to-list");
  await b.page.waitForSelector("#session-list");
  const outcome = await Promise.race([aborted, finished, sleep(5_000).then(() => "still downloading")]);
  assert.equal(outcome, "net::ERR_ABORTED", "the download was cancelled");
  await b.context.close();
});

test("Skip inactivity jumps a stretch where the user did nothing", async () => {
  const u = await openUser(browser, server);
  await eventually(async () => (await storedEvents(server, u.id)).length > 2, 10_000, "the page recorded");
  const { started_ms } = await api(server, `/api/v1/sessions/${u.id}`);
  await u.page.click("#add-item");
  const first = Number(await u.page.textContent("#item-count"));
  const afterFirst = Date.now() - started_ms + 500;
  // 20 s in which only the page's clock ticks.
  await sleep(20_000);
  await u.page.click("#add-item");
  await eventually(async () => (await storedEvents(server, u.id)).filter((e) => e.type === 3 && e.data.source === 2).length >= 4, 10_000, "both clicks stored");
  const ended = await endSession(u);

  const a = await openAgent(browser, server);
  await a.page.evaluate((hash) => { location.hash = hash; }, `#/sessions/${u.id}?t=${afterFirst}&tab=${ended.tabs[0]}`);
  const past = a.page.frameLocator("#past-view iframe");
  await eventually(async () => (await itemCount(past)) === first, 20_000, "the page after the first click");
  await a.page.check("#skip-inactive");
  await a.page.click("#play-pause");
  const started = Date.now();
  await eventually(async () => (await itemCount(past)) === first + 1, 20_000, "the second click replayed");
  const took = Date.now() - started;
  console.log(`20 s of inactivity replayed in ${took} ms`);
  assert.ok(took < 12_000, `the idle stretch took ${took} ms to replay at 1x`);
  await a.context.close();
});

test("clicking an activity entry moves the replay, and the address bar, to that moment", async () => {
  const u = await openUser(browser, server);
  const a = await openAgent(browser, server);
  const live = await openSession(a, u.id);
  const earlier = await itemCount(live);
  await sleep(1000);
  for (let i = 0; i < 3; i++) await u.page.click("#add-item");
  await eventually(async () => (await itemCount(live)) === earlier + 3, 5_000, "the clicks in the live view");
  await sleep(1000);
  // Leaving the session is the second entry: after the clicks.
  await a.page.click("#back-to-list");
  await a.page.waitForSelector("#session-list");
  const ended = await endSession(u);
  const { activity } = await api(server, `/api/v1/sessions/${u.id}`);
  const joined = activity.find((i) => i.record.action === "joined");
  assert.ok(joined, "the join was recorded");

  await a.page.evaluate((hash) => { location.hash = hash; }, `#/sessions/${u.id}`);
  await a.page.waitForSelector('#session-view[data-mode="recorded"]');
  const past = a.page.frameLocator("#past-view iframe");
  await past.locator("#item-count").waitFor({ timeout: 15_000 });
  const historyLength = await a.page.evaluate(() => history.length);
  await a.page.click('#activity-panel .activity-entry[data-action="left"]');
  await eventually(async () => (await itemCount(past)) === earlier + 3, 10_000, "the page when the agent left");
  await a.page.click('#activity-panel .activity-entry[data-action="joined"]');
  await eventually(async () => (await itemCount(past)) === earlier, 10_000, "the page when the agent joined");
  const at = Number(await a.page.getAttribute("#timeline", "data-value"));
  assert.ok(Math.abs(at - (joined.ts - ended.started_ms)) <= 1, `the timeline at ${at}, the join at ${joined.ts - ended.started_ms}`);
  // The address bar follows: its URL opens this moment, and no history entry was added per seek.
  const moment = `#/sessions/${u.id}?t=${at}&tab=${ended.tabs[0]}`;
  await eventually(async () => (await a.page.evaluate(() => location.hash)) === moment, 5_000, `the address bar at ${moment}`);
  assert.equal(await a.page.evaluate(() => history.length), historyLength);
  await a.context.close();
});
