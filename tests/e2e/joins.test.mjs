// Joining a live session: the agent's view shows the page from the stored stream at once, and the
// fresh snapshot the join asks for replaces it without a blank frame (tests/e2e/joins.mjs
// measures how fast, on a small and a 300 KB page).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  eventually, itemCount, openAgent, openSession, openUser, startBrowserAndServer,
  stopBrowserAndServer,
} from "./harness.mjs";
import { measureJoins, PAGES } from "./joins.mjs";

let browser;
let server;
before(async () => ({ browser, server } = await startBrowserAndServer()));
after(() => stopBrowserAndServer(browser, server));

/** In the user's page: the tracker never hears a `resync`, so it sends no fresh snapshot. */
function deafToResync() {
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket {
    set onmessage(handler) {
      super.onmessage = (m) => {
        const text = m.data instanceof ArrayBuffer ? new TextDecoder().decode(new Uint8Array(m.data)) : "";
        if (!text.includes("resync")) handler(m);
      };
    }
  };
}


test("the live view shows the stored page at once, even when no fresh snapshot comes", async () => {
  const u = await openUser(browser, server, deafToResync);
  await u.page.click("#add-item");
  const a = await openAgent(browser, server);
  const opened = Date.now();
  const view = await openSession(a, u.id);
  const waited = Date.now() - opened;
  // Without the stored state the view would wait for the backfill, 3 s later.
  assert.ok(waited < 2500, `the page took ${waited} ms to show`);
  assert.equal(await itemCount(view), await itemCount(u.page));

  // Live events follow the stored ones with no gap and no repeat.
  await u.page.click("#add-item");
  await u.page.click("#add-item");
  const expected = await itemCount(u.page);
  await eventually(async () => (await itemCount(view)) === expected, 5_000, "the new items");
  await new Promise((ok) => setTimeout(ok, 500));
  assert.equal(await itemCount(view), expected);
  assert.equal(await view.locator("#list li").count(), await u.page.locator("#list li").count());
  await a.context.close();
  await u.context.close();
});

test("the fresh snapshot replaces the stored page without a blank frame", async () => {
  const { first, fresh, blankFrames } = await measureJoins(browser, server, PAGES[0], 3);
  console.log(`joins: first frame ${first.map(Math.round).join(", ")} ms; fresh ${fresh.map(Math.round).join(", ")} ms`);
  assert.equal(blankFrames, 0);
  for (let i = 0; i < first.length; i++) assert.ok(fresh[i] >= first[i]);
});
