// The tracker on the demo page, against a real server: privacy, session continuity, no loss.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  contiguous, eventually, launchBrowser, newestSession, scratchDir, startServer,
  storedEvents, streamedEvents, trackerSeqs,
} from "./harness.mjs";

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test("typed passwords and masked text never reach the session stream", async () => {
  const server = await startServer();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/demo/`);
    const id = await newestSession(server);
    await page.fill("#name", "Alice Typedname");
    await page.fill("#password", "hunter2-very-secret");
    await page.fill("#email", "alice@secret.example");
    const masked = await page.textContent("[data-cobrowse-mask]");
    // Wait until the typing has been recorded (as masked input events) and stored.
    const stored = await eventually(async () => {
      const events = await storedEvents(server, id);
      const inputs = events.filter((e) => e.type === 3 && e.data?.source === 5);
      return inputs.length >= 3 ? JSON.stringify(events) : null;
    }, 15_000, "input events to be stored");
    for (const secret of ["hunter2", "Typedname", "alice@secret", masked.trim()]) {
      assert.ok(secret.length > 3);
      assert.ok(!stored.includes(secret), `"${secret}" leaked into the stream`);
    }
    assert.ok(stored.includes("***"), "inputs are recorded, masked");
  } finally {
    await server.stop();
  }
});

test("a reload and a navigation continue the same session with no gap", async () => {
  const server = await startServer();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/demo/`);
    const id = await newestSession(server);
    await page.click("#add-item");
    await page.reload();
    await page.click("#add-item");
    await page.click("#second-link");
    await page.waitForURL(/second/);
    const events = await eventually(async () => {
      const all = await streamedEvents(server, id);
      return all.filter((e) => e.kind === "page").length >= 2 ? all : null;
    }, 15_000, "the reload and the navigation to reach the stream");
    const sessions = (await fetch(`${server.url}/api/v1/sessions`, {
      headers: { Authorization: "Bearer e2e-agent-secret" },
    }).then((r) => r.json())).sessions;
    assert.equal(sessions.length, 1, "one session for the whole visit");
    const tabs = [...new Set(events.filter((e) => e.kind === "rrweb").map((e) => e.tab))];
    assert.equal(tabs.length, 1, "one tab across reload and navigation");
    const seqs = trackerSeqs(events, tabs[0]);
    assert.ok(seqs.length > 5);
    assert.ok(contiguous(seqs), `sequence has a gap or repeat: ${seqs.join(",")}`);
    const urls = events.filter((e) => e.kind === "page").map((e) => e.data.page.url);
    assert.ok(urls.some((u) => u.includes("second")), urls.join(" "));
  } finally {
    await server.stop();
  }
});

test("a server restart loses no event: the tracker buffers, reconnects and resends", async () => {
  const store = scratchDir();
  let server = await startServer({ dataDir: store.dir });
  const port = server.port;
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/demo/`);
    const id = await newestSession(server);
    await page.click("#add-item");
    await server.stop();
    // While the server is down the user goes on.
    for (let i = 0; i < 3; i++) await page.click("#add-item");
    await page.evaluate(() => console.warn("while-the-server-was-down"));
    server = await startServer({ port, dataDir: store.dir });
    const events = await eventually(async () => {
      const all = await streamedEvents(server, id);
      return JSON.stringify(all).includes("while-the-server-was-down") ? all : null;
    }, 30_000, "events from the outage to arrive");
    const tab = events.find((e) => e.kind === "rrweb").tab;
    const seqs = trackerSeqs(events, tab);
    assert.ok(contiguous(seqs), `sequence has a gap or repeat: ${seqs.join(",")}`);
  } finally {
    await server.stop();
    store.remove();
  }
});
