// Help codes end to end: the user clicks "Get help" on the demo page and reads out the code it
// shows; the agent types it into the console's code box and lands in the user's live view.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { openAgent, openUser, startBrowserAndServer, stopBrowserAndServer } from "./harness.mjs";

let browser;
let server;
before(async () => ({ browser, server } = await startBrowserAndServer()));
after(() => stopBrowserAndServer(browser, server));

/** The user clicks Get help; the six digits the page shows. */
async function getHelp(page) {
  await page.click('[data-cobrowse="help-button"]');
  const code = page.locator('[data-cobrowse="help-code"]');
  await code.waitFor();
  const digits = await code.getAttribute("data-code");
  assert.match(digits, /^\d{6}$/);
  assert.equal(await code.textContent(), `${digits.slice(0, 3)} ${digits.slice(3)}`);
  assert.match(await page.locator('[data-cobrowse="help-expiry"]').textContent(), /^Valid until /);
  return digits;
}

test("the agent types the code the user reads out and watches the user's page live", async () => {
  const u = await openUser(browser, server);
  const code = await getHelp(u.page);
  const a = await openAgent(browser, server);

  // A wrong code says so next to the box, which keeps focus for the next try.
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
  await a.page.fill("#help-code", wrong);
  await a.page.press("#help-code", "Enter");
  await a.page.locator("#help-code-status.error", { hasText: "No session has this code" }).waitFor();
  assert.equal(await a.page.evaluate(() => document.activeElement?.id), "help-code");

  // Typed as read out, in two groups, and submitted with Enter.
  await a.page.fill("#help-code", `${code.slice(0, 3)} ${code.slice(3)}`);
  await a.page.press("#help-code", "Enter");
  await a.page.waitForURL((url) => url.hash.startsWith(`#/sessions/${u.id}`));
  await a.page.waitForSelector('#connection-status[data-status="live"]');
  const view = a.page.frameLocator("#live-view iframe");
  await view.locator("#item-count").waitFor();
  // The page is live: what the user does now shows.
  const before = Number(await view.locator("#item-count").textContent());
  await u.page.click("#add-item");
  await view.locator("#item-count", { hasText: String(before + 1) }).waitFor();

  // The code is spent: typing it again is refused with a reason.
  await a.page.goto(`${server.url}/#/`);
  await a.page.fill("#help-code", code);
  await a.page.click("#help-code-open");
  await a.page.locator("#help-code-status.error", { hasText: "already used" }).waitFor();
  await a.context.close();
  await u.context.close();
});
