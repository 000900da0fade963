// An editor that builds its iframe after DOMContentLoaded (fixtures/late-editor.html, as TinyMCE
// does) must replay with its content in every recording, from the REST export in rrweb's stock
// Replayer.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, startServer, storedEvents } from "./harness.mjs";
import { serveFixtures, sessionOf } from "./fixtures.mjs";

const RECORDINGS = 50;
/** Recordings under way at once: each mostly waits for the tracker's one-second batch. */
const AT_ONCE = 4;
const CONTENT = "Kind regards, Ada";

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

/** The editor text of the stored recording's replay, once it has any (or after 5 s, what it has). */
async function replayedEditorText(replay, id) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const events = await storedEvents(server, id);
    // The session may exist before its first events are stored; rrweb replays two or more.
    const text = events.length < 2 ? "" : await replay.evaluate((events) => {
      const { document } = window.replayAt(events);
      return document.querySelector("#editor-frame")?.contentDocument?.body?.textContent ?? "";
    }, events);
    if (text.includes(CONTENT) || Date.now() > deadline) return text;
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

/** Records the fixture once in a browser context of its own; what its replay says, or "" if right. */
async function recordOnce(replay, i) {
  // Both ways TinyMCE builds its document: srcdoc (its default) and document.write.
  const mode = i % 2 === 0 ? "srcdoc" : "write";
  const user = `late-editor-${i}.`;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(fixtures.page("late-editor.html", { mode, user }));
    await page.waitForSelector("html[data-editor-ready]");
    const text = await replayedEditorText(replay, await sessionOf(server, user));
    return text.includes(CONTENT) ? "" : `${i} (${mode}): ${JSON.stringify(text)}`;
  } finally {
    await context.close();
  }
}

test(`the late editor's content replays in ${RECORDINGS} of ${RECORDINGS} recordings`, { timeout: 300_000 }, async () => {
  const replay = await browser.newPage();
  await replay.goto(`${fixtures.origin}/replay.html`);
  const failed = [];
  for (let first = 0; first < RECORDINGS; first += AT_ONCE) {
    const batch = Array.from({ length: Math.min(AT_ONCE, RECORDINGS - first) }, (_, k) => recordOnce(replay, first + k));
    failed.push(...(await Promise.all(batch)).filter((f) => f !== ""));
  }
  assert.deepEqual(failed, [], "recordings whose replay lost the editor's content");
});
