// Records the load tool's default event mix (src/load/demo-mix.json): a person-like visit to the
// demo site with the real tracker, exported as rrweb events. `node record-mix.mjs` after a build.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, launchBrowser, newestSession, startServer, storedEvents } from "./harness.mjs";

const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.url}/demo/`);
  const id = await newestSession(server);
  const pause = (ms) => new Promise((ok) => setTimeout(ok, ms));
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 20; i++) await page.mouse.move(100 + i * 30, 200 + ((i * 37) % 300));
    await page.click("#add-item");
    await page.fill("#name", `Visitor ${round}`);
    await page.click("#log-info");
    await page.mouse.wheel(0, 400);
    await pause(300);
    await page.mouse.wheel(0, -400);
    await page.click("#open-modal");
    await pause(200);
    await page.click("#close-modal");
    if (round % 2 === 0) await page.click("#log-warn");
    await pause(500);
  }
  await pause(1500);
  const events = await storedEvents(server, id);
  const path = join(REPO, "src", "load", "demo-mix.json");
  writeFileSync(path, JSON.stringify(events));
  const bytes = JSON.stringify(events).length;
  console.log(`${events.length} events, ${bytes} bytes -> ${path}`);
} finally {
  await browser.close();
  await server.stop();
}
