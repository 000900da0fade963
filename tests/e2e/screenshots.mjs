// Takes the screenshots in docs/screenshots/ with a real server and headless Chromium:
// `node screenshots.mjs` after a debug build (the binary as in harness.mjs: `$COBROWSE_BIN`, or
// `$CARGO_TARGET_DIR/debug/cobrowse`) and `npm run build` in tracker-plugin and agent-console.
// Not a test; it shows a reader what the product looks like: the session list, the live view, the
// grid, an agent acting on a user's page with consent (the page's prompt, the page under control
// with an arrow drawn, and the agent's console meanwhile), the network panel with a failed
// request, a video call (the page's call window while the server records, and the console's
// call panel), and the help code flow (the page showing the code its user reads out, and the
// console's code box with it typed in). `node screenshots.mjs codes` takes only the help code shots.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  AGENT_TOKEN, FAKE_MEDIA, REPO, api, eventually, launchBrowser, newestSession, startServer,
} from "./harness.mjs";

const BOB_TOKEN = "bob-screenshot-secret";

const out = join(REPO, "docs", "screenshots");
mkdirSync(out, { recursive: true });
const server = await startServer({ args: ["--agent-token", `bob:${BOB_TOKEN}:helper`] });
const browser = await launchBrowser(FAKE_MEDIA);

/** A console signed in with `token`. */
async function signedIn(token) {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await page.goto(`${server.url}/`);
  await page.fill("#token-input", token);
  await page.click("#sign-in");
  await page.waitForSelector(".session-row");
  return page;
}

/** Opens a session's live view and waits for the user's page in it. */
async function watch(agent, id) {
  await agent.goto(`${server.url}/#/sessions/${id}`);
  await agent.waitForSelector('#connection-status[data-status="live"]');
  await agent.frameLocator("#live-view iframe").locator("#item-count").waitFor();
}

/** Where a point of the user's viewport is on the agent's screen (the live view scales it). */
async function onAgentScreen(agent, x, y) {
  const box = await agent.locator("#live-view iframe").boundingBox();
  const size = agent.locator("#viewport-size");
  const width = Number(await size.getAttribute("data-width"));
  const height = Number(await size.getAttribute("data-height"));
  return { x: box.x + (x * box.width) / width, y: box.y + (y * box.height) / height };
}

/** The agent asks for `kind`; returns the prompt on the user's page once it shows. */
async function ask(agent, user, kind) {
  await agent.click(`[data-testid="request-${kind}"]`);
  const prompt = user.locator(`[data-cobrowse="consent-prompt"][data-kind="${kind}"]`);
  await prompt.waitFor();
  // Accept is held for a moment after the prompt appears (so no click meant for the page lands on it).
  await prompt.locator('[data-cobrowse="consent-accept"]:enabled').waitFor();
  return prompt;
}

async function accept(agent, prompt, kind) {
  await prompt.locator('[data-cobrowse="consent-accept"]').click();
  await agent.waitForSelector(`[data-testid="${kind}-state"][data-state="granted"]`);
}

/** The help code flow: the user's page showing its code, the agent's code box holding it. */
async function helpCodeShots() {
  const context = await browser.newContext({ viewport: { width: 1100, height: 750 } });
  const user = await context.newPage();
  await user.goto(`${server.url}/demo/`);
  await user.click('[data-cobrowse="help-button"]');
  const code = user.locator('[data-cobrowse="help-code"]');
  await code.waitFor();
  await user.screenshot({ path: join(out, "help-code-page.png") });
  const agent = await signedIn(AGENT_TOKEN);
  await agent.fill("#help-code", await code.textContent());
  await agent.locator("#help-code").focus();
  await agent.screenshot({ path: join(out, "code-box.png") });
  await agent.context().close();
  await context.close();
}

try {
  if (process.argv[2] === "codes") {
    await helpCodeShots();
    await browser.close();
    await server.stop();
    process.exit(0);
  }
  const ids = [];
  const users = [];
  for (let i = 0; i < 4; i++) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 750 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/demo/`);
    ids.push(await newestSession(server, [...ids]));
    users.push(page);
  }
  await users[0].fill("#name", "Ada");
  await users[0].click("#add-item");
  await users[0].click("#log-error");
  const agent = await signedIn(AGENT_TOKEN);
  await eventually(async () => (await agent.locator(".session-row").count()) === 4, 10_000, "rows");
  await agent.screenshot({ path: join(out, "session-list.png") });
  await agent.click(`.session-row[data-session-id="${ids[0]}"]`);
  await agent.frameLocator("#live-view iframe").locator("#item-count").waitFor();
  await users[0].click("#log-warn");
  await users[0].click("#open-modal");
  await new Promise((ok) => setTimeout(ok, 1500));
  await agent.screenshot({ path: join(out, "live-view.png") });
  // The network panel: the user's page loads a page and a missing order (a 404), twice.
  await users[0].keyboard.press("Escape");
  for (let i = 0; i < 2; i++) {
    await users[0].click("#request-ok");
    await users[0].click("#request-fail");
    await users[0].waitForSelector(`#request-result:has-text("404")`);
  }
  await agent.locator("#network-panel .network-entry.failed").nth(1).waitFor();
  await agent.screenshot({ path: join(out, "network-panel.png") });
  await agent.goto(`${server.url}/#/grid/${ids.join(",")}`);
  await eventually(async () => (await agent.locator(".grid-cell").count()) === 4, 10_000, "grid");
  await new Promise((ok) => setTimeout(ok, 3000));
  await agent.screenshot({ path: join(out, "grid.png") });

  // Acting on a page: the second user, watched by the agent and by bob.
  const user = users[1];
  await watch(agent, ids[1]);
  const bob = await signedIn(BOB_TOKEN);
  await watch(bob, ids[1]);
  await agent.waitForSelector('[data-testid="watchers"]:has-text("bob")');

  const controlPrompt = await ask(agent, user, "control");
  await user.screenshot({ path: join(out, "consent-prompt.png") });
  await accept(agent, controlPrompt, "control");
  await user.locator('[data-cobrowse="grant-indicator"]').waitFor();
  await agent.waitForSelector('[data-testid="control-layer"]', { state: "visible" });

  // The agent adds an item to the user's shopping list: a click into the field, typing, Enter.
  const field = await user.locator("#new-item").boundingBox();
  const inField = await onAgentScreen(agent, field.x + field.width / 2, field.y + field.height / 2);
  await agent.mouse.click(inField.x, inField.y);
  await agent.keyboard.type("Tea");
  await eventually(async () => (await user.inputValue("#new-item")) === "Tea", 5_000, "typed text");
  await agent.keyboard.press("Enter");
  const added = user.locator("#list li", { hasText: "Tea" });
  await added.waitFor();

  // Then asks to draw, and points an arrow at the new item.
  await accept(agent, await ask(agent, user, "annotate"), "annotate");
  await agent.click('[data-testid="annotate-tool-arrow"]');
  await agent.waitForSelector('[data-testid="annotate-layer"]', { state: "visible" });
  await new Promise((ok) => setTimeout(ok, 500));
  const item = await added.boundingBox();
  const from = await onAgentScreen(agent, item.x + item.width + 140, item.y + item.height + 110);
  const to = await onAgentScreen(agent, item.x + item.width + 12, item.y + item.height / 2);
  await agent.mouse.move(from.x, from.y);
  await agent.mouse.down();
  await agent.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 5 });
  await agent.mouse.move(to.x, to.y, { steps: 5 });
  await agent.mouse.up();
  await user.locator('[data-cobrowse="stroke"][data-tool="arrow"]').waitFor();
  await agent.locator('[data-testid="activity-entry"][data-action="stroke"]').waitFor();
  // Strokes fade after a few seconds, on the page and in the console alike: take both at once,
  // with the activity list scrolled to its newest lines, as the agent would.
  await user.screenshot({ path: join(out, "page-under-control.png") });
  const activity = await agent.locator(".activity-list").boundingBox();
  await agent.mouse.move(activity.x + activity.width / 2, activity.y + activity.height / 2);
  await agent.mouse.wheel(0, 2000);
  await agent.screenshot({ path: join(out, "agent-in-control.png") });

  // A video call (Chromium's fake camera), then a recording, both accepted by the user.
  const callPrompt = user.locator('[data-cobrowse="consent-prompt"][data-kind="call"]');
  await agent.click('[data-action="call-video"]');
  await callPrompt.waitFor();
  await callPrompt.locator('[data-cobrowse="consent-accept"]').click();
  await agent.locator('.call-tile[data-participant="user"] video').waitFor();
  await eventually(
    () => agent.evaluate(() => document.querySelector('.call-tile[data-participant="user"] video')?.videoWidth > 0),
    20_000, "the user's video in the console",
  );
  await eventually(async () => agent.locator('[data-action="record"]').isEnabled(), 10_000, "Record");
  await agent.click('[data-action="record"]');
  const recordPrompt = user.locator('[data-cobrowse="consent-prompt"][data-kind="record"]');
  await recordPrompt.waitFor();
  await recordPrompt.locator('[data-cobrowse="consent-accept"]').click();
  await user.locator('[data-cobrowse="call-recording"]').waitFor({ state: "visible" });
  await new Promise((ok) => setTimeout(ok, 1500));
  await user.screenshot({ path: join(out, "call-page.png") });
  await agent.screenshot({ path: join(out, "call-console.png") });
  await helpCodeShots();
  console.log(`screenshots in ${out}`, (await api(server, "/api/v1/sessions")).sessions.length);
} finally {
  await browser.close();
  await server.stop();
}
