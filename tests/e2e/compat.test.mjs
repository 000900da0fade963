// A rolling upgrade as a user's browser sees it: the page still runs the previous release's
// tracker bundle (cached before the upgrade; tests/compat/<release>/cobrowse-tracker.js.gz, built
// by scripts/record-compat), and talks to the current server. It must record, be watched live,
// answer the agent's resync with a fresh snapshot, and show the agent's consent request as before.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gunzipSync } from "node:zlib";
import {
  REPO, api, eventually, newestSession, openAgent, openSession, startBrowserAndServer,
  stopBrowserAndServer, storedEvents,
} from "./harness.mjs";

/** The release before this one (docs/protocol.md, "Versioning and upgrades"). */
const PREVIOUS = readFileSync(join(REPO, "tests/compat/PREVIOUS"), "utf8").trim();
const OLD_TRACKER = gunzipSync(readFileSync(join(REPO, "tests/compat", PREVIOUS, "cobrowse-tracker.js.gz")));

let browser;
let server;
before(async () => ({ browser, server } = await startBrowserAndServer()));
after(() => stopBrowserAndServer(browser, server));

const FULL_SNAPSHOT = 2;
const fullSnapshots = async (id) => (await storedEvents(server, id)).filter((e) => e.type === FULL_SNAPSHOT).length;

test("a page running the previous release's tracker records, is watched live, resyncs and answers consent", async () => {
  // The user's browser: every request for the tracker is answered with the old bundle, as its
  // cache would.
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  let oldBundleServed = 0;
  await context.route("**/tracker.js", (route) => {
    oldBundleServed += 1;
    return route.fulfill({ body: OLD_TRACKER, contentType: "text/javascript" });
  });
  const existing = (await api(server, "/api/v1/sessions?limit=200")).sessions.map((s) => s.id);
  const page = await context.newPage();
  await page.goto(`${server.url}/demo/`);
  const id = await newestSession(server, existing);
  assert.ok(oldBundleServed >= 1, "the page loaded the previous release's bundle");
  assert.equal(
    await page.evaluate(() => typeof window.Cobrowse?.start),
    "function",
    "the old bundle runs in the page",
  );

  // Recording: the old tracker's batches are acknowledged and stored.
  await eventually(async () => (await fullSnapshots(id)) >= 1, 15_000, "the old tracker's first snapshot");
  const before = await fullSnapshots(id);

  // Live: an agent joins; the old tracker answers the resync with a new full snapshot, and what the
  // user does next reaches the agent's live view.
  const agent = await openAgent(browser, server);
  const view = await openSession(agent, id);
  await eventually(async () => (await fullSnapshots(id)) > before, 15_000, "a snapshot answering the resync");
  const count = Number(await page.locator("#item-count").textContent());
  await page.click("#add-item");
  await eventually(
    async () => Number(await view.locator("#item-count").textContent()) === count + 1,
    10_000,
    "the user's click in the agent's live view",
  );

  // Signals: the agent's control request reaches the old tracker as a consent prompt naming the
  // agent, and its Accept becomes a grant the server records.
  await agent.page.click('[data-testid="request-control"]');
  const prompt = page.locator('[data-cobrowse="consent-prompt"][data-kind="control"]');
  await prompt.waitFor();
  assert.match(await prompt.textContent(), /e2e/, "the prompt names the agent");
  await prompt.locator('[data-cobrowse="consent-accept"]').click();
  await agent.page.waitForSelector('[data-testid="control-state"][data-state="granted"]');
  await page.locator('[data-cobrowse="grant-indicator"]').waitFor();
  const { activity } = await api(server, `/api/v1/sessions/${id}`);
  const actions = activity.map((entry) => entry.record.action);
  for (const action of ["joined", "requested", "granted"]) {
    assert.ok(actions.includes(action), `the session records '${action}': ${actions}`);
  }

  await agent.context.close();
  await context.close();
});
