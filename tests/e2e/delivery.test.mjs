// The tracker's delivery on a busy page of another origin (fixtures/table.html, a 300-row table
// re-rendered 10 times a second): from its Web Worker, and from the page where the page's CSP
// refuses workers. Correctness only; what it costs the page is tracker-cost.mjs's business.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  REPO, api, contiguous, eventually, launchBrowser, startServer, startSite, streamedEvents, trackerSeqs,
} from "./harness.mjs";

const fixture = readFileSync(join(import.meta.dirname, "fixtures", "table.html"), "utf8");
const rrwebJs = readFileSync(join(REPO, "tracker-plugin", "node_modules", "rrweb", "dist", "rrweb.umd.cjs"), "utf8");

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

/** The table page with our tracker, served with `headers`, plus stock rrweb for replaying. */
async function tablePage(server, headers = {}) {
  const tags = `<script src="${server.url}/tracker.js"></script>
<script>window.cobrowse = Cobrowse.start({ server: ${JSON.stringify(server.url)}, projectKey: "demo" });</script>`;
  return startSite((url) => {
    if (url.pathname === "/rrweb.js") return { type: "text/javascript", body: rrwebJs };
    if (url.pathname === "/replay.html") return { body: "<!doctype html><div id=root></div><script src=/rrweb.js></script>" };
    if (url.pathname === "/table.html") return { headers, body: fixture.replace("<!--RECORDER-->", tags) };
    return null;
  });
}

/** The stored rrweb events of the only session, once `done(events)` says they are all there. */
async function sessionEvents(server, done) {
  return eventually(async () => {
    const { sessions } = await api(server, "/api/v1/sessions");
    if (sessions.length !== 1) return null;
    const events = await streamedEvents(server, sessions[0].id);
    return done(events) ? events : null;
  }, 30_000, "the page's events to be stored");
}

/**
 * Events left unacknowledged once everything had time to be sent (nobody watches, so the tracker
 * sends once a second) and acknowledged: stopping saves them for the tab's next page, so there
 * should be none to save.
 */
async function unacknowledged(page) {
  await page.waitForTimeout(3000);
  return page.evaluate(() => {
    window.cobrowse.stop();
    const key = Object.keys(sessionStorage).find((k) => k.startsWith("cobrowse.buffer."));
    return key === undefined ? 0 : JSON.parse(sessionStorage.getItem(key)).events.length;
  });
}

test("from its worker, the tracker delivers a busy page's events in order, all acknowledged, and they replay the page", async () => {
  const server = await startServer();
  const site = await tablePage(server);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${site.url}/table.html`);
    await page.waitForFunction(() => window.cobrowse !== undefined);
    assert.equal(await page.evaluate(() => window.cobrowse.delivery), "worker");
    const renders = await page.evaluate(() => window.workload.run({ mode: "interval", ms: 2000 }));
    assert.equal(renders, 20);
    const lastRow = await page.textContent("#prices tbody tr:last-child");

    const events = await sessionEvents(server, (all) =>
      all.filter((e) => e.kind === "rrweb" && e.data.type === 3 && e.data.data.source === 0).length >= 20);
    const tab = events.find((e) => e.kind === "rrweb").tab;
    const seqs = trackerSeqs(events, tab);
    assert.ok(contiguous(seqs), `sequence has a gap or repeat: ${seqs.join(",")}`);
    assert.equal(seqs[0], 1);
    assert.equal(await page.evaluate(() => window.cobrowse.delivery), "worker");
    assert.equal(await unacknowledged(page), 0);

    // Stock rrweb replays the stored events to the page as it was last rendered.
    const rrweb = events.filter((e) => e.kind === "rrweb").map((e) => e.data);
    const replay = await context.newPage();
    await replay.goto(`${site.url}/replay.html`);
    const replayed = await replay.evaluate((evs) => {
      const replayer = new rrweb.Replayer(evs, { root: document.getElementById("root"), showWarning: false });
      replayer.pause(evs[evs.length - 1].timestamp - evs[0].timestamp + 1);
      const doc = replayer.iframe.contentDocument;
      return {
        rows: doc.querySelectorAll("#prices tbody tr").length,
        last: doc.querySelector("#prices tbody tr:last-child")?.textContent,
      };
    }, rrweb);
    assert.equal(replayed.rows, 300);
    assert.equal(replayed.last, lastRow);
    await context.close();
  } finally {
    await site.close();
    await server.stop();
  }
});

test("where the page's CSP refuses workers, the tracker sends from the page and loses nothing", async () => {
  const server = await startServer();
  const site = await tablePage(server, { "content-security-policy": "worker-src 'none'" });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${site.url}/table.html`);
    await page.waitForFunction(() => window.cobrowse?.delivery === "main");
    await page.evaluate(() => window.workload.run({ mode: "interval", ms: 1000 }));
    const events = await sessionEvents(server, (all) =>
      all.filter((e) => e.kind === "rrweb" && e.data.type === 3 && e.data.data.source === 0).length >= 10);
    const tab = events.find((e) => e.kind === "rrweb").tab;
    const seqs = trackerSeqs(events, tab);
    assert.ok(contiguous(seqs), `sequence has a gap or repeat: ${seqs.join(",")}`);
    assert.equal(seqs[0], 1);
    assert.ok(events.some((e) => e.kind === "rrweb" && e.data.type === 2), "a full snapshot was stored");
    assert.equal(await unacknowledged(page), 0);
    await context.close();
  } finally {
    await site.close();
    await server.stop();
  }
});
