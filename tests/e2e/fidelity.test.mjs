// How faithfully the fixture pages replay: each is recorded once and compared, live page against
// (a) the REST export replayed in rrweb's stock Replayer and (b) the agent console's live view,
// by text, element count and pixels (pixelmatch, threshold 0.1, over the 1000×700 viewport).
// Prints the table of docs/fidelity.md; fails when text or element counts differ, or (for the
// shadow DOM case) the computed boxes of the components.
//   COBROWSE_BIN=… node --test fidelity.test.mjs
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pixelmatch from "pixelmatch";
import { PNG } from "pngjs";
import { launchBrowser, openAgent, startServer, storedEvents } from "./harness.mjs";
import { pageFacts, serveFixtures, sessionOf } from "./fixtures.mjs";

const VIEWPORT = { width: 1000, height: 700 };
// The shadow-alert fixture's boxes: the alerts' boxes, drawn by their shadow roots' adopted
// stylesheets, the page's notice, drawn by its <style>, and its banner, drawn by the linked theme.
const shadowBoxes = () => {
  const style = (el, ...names) => (el ? names.map((n) => getComputedStyle(el)[n]).join(" ") : "missing");
  const box = (el) => style(el, "borderLeftWidth", "borderLeftStyle", "borderLeftColor", "borderTopWidth", "borderTopColor", "backgroundColor", "display");
  const alerts = [...document.querySelectorAll("fx-alert")].map((alert) => ({
    box: box(alert.shadowRoot?.querySelector(".base")),
    icon: style(alert.shadowRoot?.querySelector("fx-icon")?.shadowRoot?.querySelector(".dot"), "width", "backgroundColor"),
  }));
  return { alerts, notice: box(document.querySelector(".notice")), banner: box(document.querySelector(".fx-banner")) };
};
const CASES = [
  { name: "late editor iframe (srcdoc)", page: "late-editor.html", query: { mode: "srcdoc" }, ready: "html[data-editor-ready]" },
  {
    name: "shadow DOM, Lit-style, built before the tracker loaded",
    page: "shadow-alert.html",
    query: { define: "now" },
    ready: "html[data-components-ready]",
    boxes: shadowBoxes,
  },
  {
    name: "shadow DOM, without Lit, built after the tracker loaded",
    page: "shadow-alert.html",
    query: { define: "ready", lit: "no" },
    ready: "html[data-components-ready]",
    boxes: shadowBoxes,
  },
  { name: "large static page", page: "large-page.html", query: {}, ready: "html[data-page-ready]" },
];

let server;
let fixtures;
let browser;
before(async () => {
  server = await startServer();
  fixtures = await serveFixtures(server);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await fixtures?.stop();
  await server?.stop();
});

const pause = (ms) => new Promise((ok) => setTimeout(ok, ms));
/** The page facts of a frame, with the case's computed boxes if it names some. */
async function facts(frame, fixture) {
  const found = await frame.evaluate(pageFacts);
  return fixture.boxes ? { ...found, boxes: await frame.evaluate(fixture.boxes) } : found;
}

/** The size of the recording's largest full snapshot, in KB. */
function snapshotKb(events) {
  const sizes = events.filter((e) => e.type === 2).map((e) => JSON.stringify(e).length);
  return Math.round(Math.max(0, ...sizes) / 1024);
}

/** Share of pixels that differ between two same-sized PNG screenshots, in %. */
function pixelDiff(a, b) {
  const one = PNG.sync.read(a);
  const two = PNG.sync.read(b);
  if (one.width !== two.width || one.height !== two.height) {
    throw new Error(`screenshots differ in size: ${one.width}×${one.height} and ${two.width}×${two.height}`);
  }
  const changed = pixelmatch(one.data, two.data, null, one.width, one.height, { threshold: 0.1 });
  return (100 * changed) / (one.width * one.height);
}

/** A screenshot of the page shown in `iframe` (its viewport-sized content box, not its border). */
async function shotOfFrame(page, iframe) {
  const { x, y } = await iframe.evaluate((el) => {
    const box = el.getBoundingClientRect();
    return { x: box.left + el.clientLeft, y: box.top + el.clientTop };
  });
  return page.screenshot({ clip: { x, y, ...VIEWPORT } });
}

/** The stored recording replayed to its end in the stock Replayer: facts and a screenshot. */
async function stockReplay(id, fixture) {
  // Room for the iframe's border around the recorded viewport.
  const page = await browser.newPage({ viewport: { width: VIEWPORT.width + 10, height: VIEWPORT.height + 10 } });
  try {
    await page.goto(`${fixtures.origin}/replay.html`);
    const events = await storedEvents(server, id);
    await page.evaluate((events) => { window.replayAt(events); }, events);
    await pause(300);
    const frame = await (await page.$("#root iframe")).contentFrame();
    return { facts: await facts(frame, fixture), png: await shotOfFrame(page, page.locator("#root iframe")), kb: snapshotKb(events) };
  } finally {
    await page.close();
  }
}

/** The session in the console's live view, unscaled: facts and a screenshot. */
async function liveView(id, fixture) {
  // A window large enough that the view shows the page at scale 1.
  const agent = await openAgent(browser, server);
  await agent.page.setViewportSize({ width: 2000, height: 1400 });
  try {
    await agent.page.click(`.session-row[data-session-id="${id}"]`);
    await agent.page.waitForSelector('#connection-status[data-status="live"]');
    const iframe = agent.page.locator("#live-view iframe");
    await iframe.waitFor();
    const frame = await (await iframe.elementHandle()).contentFrame();
    await frame.waitForSelector("body *");
    await pause(1000);
    const scale = await agent.page.locator("#live-view").getAttribute("data-scale");
    return { facts: await facts(frame, fixture), png: await shotOfFrame(agent.page, iframe), scale };
  } finally {
    await agent.context.close();
  }
}

const rows = [];
for (const fixture of CASES) {
  test(`${fixture.name}: text and elements replay as they were live`, async () => {
    const user = `fidelity-${fixture.page}-${new URLSearchParams(fixture.query)}.`;
    const context = await browser.newContext({ viewport: VIEWPORT });
    try {
      const page = await context.newPage();
      await page.goto(fixtures.page(fixture.page, { ...fixture.query, user }));
      await page.waitForSelector(fixture.ready);
      await pause(500);
      const live = { facts: await facts(page.mainFrame(), fixture), png: await page.screenshot() };
      const id = await sessionOf(server, user);
      await pause(1500); // the tracker's batch of an unwatched session
      const stock = await stockReplay(id, fixture);
      const view = await liveView(id, fixture);
      rows.push({
        name: fixture.name,
        kb: stock.kb,
        live: live.facts,
        stock: { ...stock.facts, pixels: pixelDiff(live.png, stock.png) },
        view: { ...view.facts, pixels: view.scale === "1.000" ? pixelDiff(live.png, view.png) : NaN },
      });
      assert.ok(!JSON.stringify(live.facts.boxes ?? []).includes("missing"), "the live page drew its boxes");
      assert.equal(stock.facts.text, live.facts.text, "text in the stock replay");
      assert.equal(stock.facts.elements, live.facts.elements, "elements in the stock replay");
      assert.equal(view.facts.text, live.facts.text, "text in the live view");
      assert.equal(view.facts.elements, live.facts.elements, "elements in the live view");
      assert.deepEqual(stock.facts.boxes, live.facts.boxes, "computed boxes in the stock replay");
      assert.deepEqual(view.facts.boxes, live.facts.boxes, "computed boxes in the live view");
    } finally {
      await context.close();
    }
  });
}

test("the table", () => {
  const same = (a, b) => (a === b ? "same" : "differs");
  const pct = (p) => (Number.isNaN(p) ? "n/a" : `${p.toFixed(2)} %`);
  const lines = [
    "| case | full snapshot | live: chars / elements | stock replay: text / elements / pixels | live view: text / elements / pixels |",
    "|---|---|---|---|---|",
    ...rows.map((r) =>
      `| ${r.name} | ${r.kb} KB | ${r.live.text.length} / ${r.live.elements} | ` +
      `${same(r.stock.text, r.live.text)} / ${r.stock.elements} / ${pct(r.stock.pixels)} | ` +
      `${same(r.view.text, r.live.text)} / ${r.view.elements} / ${pct(r.view.pixels)} |`),
  ];
  console.log(lines.join("\n"));
});
