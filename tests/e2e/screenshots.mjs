// Takes the console screenshots in docs/screenshots/: `node screenshots.mjs` after a debug build.
// Not a test; it shows a reader what the product looks like.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AGENT_TOKEN, REPO, api, eventually, launchBrowser, newestSession, startServer } from "./harness.mjs";

const out = join(REPO, "docs", "screenshots");
mkdirSync(out, { recursive: true });
const server = await startServer();
const browser = await launchBrowser();
try {
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
  const agent = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await agent.goto(`${server.url}/`);
  await agent.fill("#token-input", AGENT_TOKEN);
  await agent.click("#sign-in");
  await agent.waitForSelector(".session-row");
  await eventually(async () => (await agent.locator(".session-row").count()) === 4, 10_000, "rows");
  await agent.screenshot({ path: join(out, "session-list.png") });
  await agent.click(`.session-row[data-session-id="${ids[0]}"]`);
  await agent.frameLocator("#live-view iframe").locator("#item-count").waitFor();
  await users[0].click("#log-warn");
  await users[0].click("#open-modal");
  await new Promise((ok) => setTimeout(ok, 1500));
  await agent.screenshot({ path: join(out, "live-view.png") });
  await agent.goto(`${server.url}/#/grid/${ids.join(",")}`);
  await eventually(async () => (await agent.locator(".grid-cell").count()) === 4, 10_000, "grid");
  await new Promise((ok) => setTimeout(ok, 3000));
  await agent.screenshot({ path: join(out, "grid.png") });
  console.log(`screenshots in ${out}`, (await api(server, "/api/v1/sessions")).sessions.length);
} finally {
  await browser.close();
  await server.stop();
}
