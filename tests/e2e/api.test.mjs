// The tracker's public API on real pages in headless Chromium, against a real server: a site's
// own consent prompt that only the user's real click can accept, the async snippet queueing
// calls while the bundle is slow to arrive, and a strict Content-Security-Policy page on which
// the tracker records, connects and shows its prompts with no violation.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  REPO, api, eventually, openAgent, openSession, startBrowserAndServer, stopBrowserAndServer,
} from "./harness.mjs";

const BUNDLE = join(REPO, "tracker-plugin/dist/cobrowse-tracker.js");
const SNIPPET = readFileSync(join(REPO, "tracker-plugin/snippet.js"), "utf8");

let browser;
let server;
before(async () => ({ browser, server } = await startBrowserAndServer()));
after(() => stopBrowserAndServer(browser, server));

/**
 * A site of its own origin: `pages[path]` is `{ body, headers? }`; `/delayed/tracker.js` is the
 * tracker bundle, sent after `delayMs` (and `released` tells when it went out).
 */
async function startSite(pages, delayMs = 0) {
  let released = false;
  const site = createServer(async (req, res) => {
    const path = new URL(req.url, "http://site").pathname;
    if (path === "/delayed/tracker.js") {
      await new Promise((ok) => setTimeout(ok, delayMs));
      released = true;
      res.writeHead(200, { "content-type": "text/javascript", "cache-control": "no-store" });
      return res.end(readFileSync(BUNDLE));
    }
    const page = pages[path];
    if (!page) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...page.headers });
    res.end(page.body);
  });
  await new Promise((ok) => site.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${site.address().port}`,
    released: () => released,
    close: () => new Promise((ok) => site.close(ok)),
  };
}

/** A page with `#item-count` (what openSession waits for in the live view) and `script`. */
function page(script, { head = "", nonce } = {}) {
  const n = nonce ? ` nonce="${nonce}"` : "";
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>API page</title>${head}</head>
<body><h1>Shop</h1><p>Items: <span id="item-count">3</span></p><div id="site-prompt"></div>
<script${n} src="${server.url}/tracker.js"></script>
<script${n}>${script}</script></body></html>`;
}

/** The ids of the sessions the server lists now. */
async function sessionIds() {
  return (await api(server, "/api/v1/sessions?limit=200")).sessions.map((s) => s.id);
}

/** The session that appears after `before` was listed. */
async function newSession(before) {
  return eventually(async () => {
    const { sessions } = await api(server, "/api/v1/sessions?limit=200");
    return sessions.find((s) => !before.includes(s.id));
  }, 15_000, "a new session");
}

test("a site's own consent prompt: a synthetic click is refused, the user's real click grants control", async () => {
  const site = await startSite({
    "/custom.html": {
      body: page(`
        window.answers = [];
        window.keyAnswers = [];
        // A script of the page that keeps the user's last click, to hand it over later.
        document.addEventListener("click", (event) => { window.kept = event; }, true);
        window.cobrowse = Cobrowse.start({
          server: ${JSON.stringify(server.url)},
          projectKey: "demo",
          onConsentRequest(request) {
            window.request = request;
            // A careless site that accepts on any key: a key is refused even while dispatched.
            document.addEventListener("keydown", (event) => window.keyAnswers.push(request.accept(event)), { signal: request.signal });
            const box = document.getElementById("site-prompt");
            box.innerHTML = "";
            const text = document.createElement("p");
            text.id = "site-prompt-title";
            text.textContent = request.title;
            const accept = document.createElement("button");
            accept.id = "site-accept";
            accept.textContent = "Yes, go ahead";
            accept.addEventListener("click", (event) => window.answers.push(request.accept(event)));
            box.append(text, accept);
            request.signal.addEventListener("abort", () => box.replaceChildren());
            return true;
          },
        });`),
    },
  });
  const listed = await sessionIds();
  const context = await browser.newContext();
  const user = await context.newPage();
  const a = await openAgent(browser, server);
  try {
    await user.goto(`${site.url}/custom.html`);
    const session = await newSession(listed);
    await eventually(() => a.page.locator(`.session-row[data-session-id="${session.id}"]`).count(), 10_000, "the row");
    await openSession(a, session.id);
    await a.page.click('[data-testid="request-control"]');

    await user.locator("#site-accept").waitFor();
    assert.match(await user.textContent("#site-prompt-title"), /asks to control this page/);
    assert.equal(await user.locator('[data-cobrowse="consent-prompt"]').count(), 0, "no built-in prompt");
    await user.waitForTimeout(800);
    // A script clicks the site's Accept (`dispatchEvent`, `click()`): the tracker refuses both.
    await user.evaluate(() => {
      const button = document.getElementById("site-accept");
      button.dispatchEvent(new MouseEvent("click", { bubbles: true }));
      button.click();
    });
    assert.deepEqual(await user.evaluate(() => window.answers), [false, false]);
    // The user's real click elsewhere, kept by a script and handed over once it is over: refused.
    await user.click("h1");
    assert.equal(await user.evaluate(() => window.kept.isTrusted && window.request.accept(window.kept)), false);
    // Nor with its phase and time redefined to look dispatched now; nor an object made up as a click.
    assert.equal(await user.evaluate(() => {
      Object.defineProperty(window.kept, "eventPhase", { value: Event.AT_TARGET });
      Object.defineProperty(window.kept, "timeStamp", { value: performance.now() });
      return window.request.accept(window.kept);
    }), false);
    assert.equal(await user.evaluate(() => window.request.accept({
      isTrusted: true, eventPhase: Event.AT_TARGET, type: "click", timeStamp: performance.now(), target: document.getElementById("site-accept"),
    })), false);
    // The user's real Enter, handed over while it is dispatched: refused too (keys go wherever focus is).
    await user.keyboard.press("Enter");
    assert.deepEqual(await user.evaluate(() => window.keyAnswers), [false]);
    await user.waitForTimeout(500);
    assert.equal(await a.page.getAttribute('[data-testid="control-state"]', "data-state"), "pending");

    // The user's own click (the browser's input) grants it, and the site's prompt goes away.
    await user.click("#site-accept");
    assert.deepEqual(await user.evaluate(() => window.answers), [false, false, true]);
    await a.page.waitForSelector('[data-testid="control-state"][data-state="granted"]');
    await user.locator("#site-accept").waitFor({ state: "detached" });
    await user.locator('[data-cobrowse="grant-indicator"]').waitFor();
  } finally {
    await a.context.close();
    await context.close();
    await site.close();
  }
});

test("the async snippet queues calls while the bundle is slow to load, and replays them in order", async () => {
  const snippet = SNIPPET.replace("https://cobrowse.example/tracker.js", "/delayed/tracker.js");
  const site = await startSite(
    {
      "/snippet.html": {
        body: `<!doctype html><html><head><title>Snippet</title><script>${snippet}
          window.calls = [];
          Cobrowse.start({ server: ${JSON.stringify(server.url)}, projectKey: "demo" }).then(() => calls.push("start"));
          Cobrowse.setMetadata({ plan: "gold" }).then(() => calls.push("setMetadata"));
          Cobrowse.identify("snippet-user").then(() => calls.push("identify"));
          Cobrowse.sessionURL().then((url) => calls.push("sessionURL " + url));
        </script></head><body><p>Items: <span id="item-count">1</span></p></body></html>`,
      },
    },
    1500,
  );
  const listed = await sessionIds();
  const context = await browser.newContext();
  const user = await context.newPage();
  try {
    await user.goto(`${site.url}/snippet.html`, { waitUntil: "domcontentloaded" });
    // The page is up, the bundle is not: the calls wait in the stand-in's queue.
    assert.equal(site.released(), false);
    assert.equal(await user.evaluate(() => Cobrowse.q.length), 4);
    assert.deepEqual(await user.evaluate(() => window.calls), []);

    await user.waitForFunction(() => window.calls.length === 4, null, { timeout: 15_000 });
    // In order; sessionURL ran right after start, before the tracker connected.
    assert.deepEqual(await user.evaluate(() => window.calls), [
      "start",
      "setMetadata",
      "identify",
      "sessionURL undefined",
    ]);
    const session = await newSession(listed);
    await eventually(async () => {
      const s = (await api(server, "/api/v1/sessions?limit=200")).sessions.find((x) => x.id === session.id);
      return s.user_id === "snippet-user" && s.metadata.plan === "gold";
    }, 10_000, "identify and metadata to reach the server");

    // The global is the real API now; its link names this session, at the moment it is asked.
    const url = await user.evaluate(() => Cobrowse.sessionURL({ atCurrentTime: true }));
    const asked = Date.now();
    const match = new RegExp(`^${server.url}/#/sessions/${session.id}\\?t=(\\d+)&tab=[\\w-]+$`).exec(url);
    assert.ok(match, url);
    const expected = asked - session.started_ms;
    assert.ok(Math.abs(Number(match[1]) - expected) < 1000, `t=${match[1]}, server says ${expected}`);
  } finally {
    await context.close();
    await site.close();
  }
});

for (const { name, nonce } of [
  { name: "with the site's nonce", nonce: "n0nce-e2e" },
  { name: "with constructed stylesheets (no nonce)", nonce: undefined },
]) {
  test(`a strict-CSP page works ${name}: recording, worker, prompt styled, no violation`, async () => {
    const ws = server.url.replace(/^http/, "ws");
    const csp = [
      "default-src 'none'",
      `script-src 'nonce-page' ${server.url}`,
      `connect-src ${ws}`,
      "worker-src blob:",
      nonce ? `style-src 'nonce-${nonce}'` : "style-src 'none'",
      "img-src 'none'",
    ].join("; ");
    const options = nonce ? `, nonce: ${JSON.stringify(nonce)}` : "";
    const site = await startSite({
      "/csp.html": {
        headers: { "content-security-policy": csp },
        body: page(
          `window.cobrowse = Cobrowse.start({ server: ${JSON.stringify(server.url)}, projectKey: "demo"${options} });`,
          { nonce: "page" },
        ),
      },
    });
    const listed = await sessionIds();
    const context = await browser.newContext();
    await context.addInitScript(() => {
      window.violations = [];
      document.addEventListener("securitypolicyviolation", (e) =>
        window.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const user = await context.newPage();
    const consoleErrors = [];
    user.on("console", (m) => {
      if (m.type() === "error" || /Content Security Policy/i.test(m.text())) consoleErrors.push(m.text());
    });
    const a = await openAgent(browser, server);
    try {
      await user.goto(`${site.url}/csp.html`);
      const session = await newSession(listed);
      assert.equal(await user.evaluate(() => window.cobrowse.delivery), "worker");
      await eventually(() => a.page.locator(`.session-row[data-session-id="${session.id}"]`).count(), 10_000, "the row");
      await openSession(a, session.id);
      await a.page.click('[data-testid="request-control"]');
      const accept = user.locator('[data-cobrowse="consent-accept"]');
      await accept.waitFor();
      // The prompt's own styles apply: Accept is blue, the prompt is pinned at the top right.
      assert.equal(await accept.evaluate((b) => getComputedStyle(b).backgroundColor), "rgb(31, 111, 235)");
      const how = await user.evaluate(() => {
        const root = document.querySelector("cobrowse-ui").shadowRoot;
        return { adopted: root.adoptedStyleSheets.length, styles: root.querySelectorAll("style").length };
      });
      if (nonce) assert.ok(how.styles >= 2 && how.adopted === 0, JSON.stringify(how));
      else assert.ok(how.adopted >= 2 && how.styles === 0, JSON.stringify(how));
      await user.waitForTimeout(700);
      await accept.click();
      await a.page.waitForSelector('[data-testid="control-state"][data-state="granted"]');
      assert.deepEqual(await user.evaluate(() => window.violations), []);
      assert.deepEqual(consoleErrors, []);
    } finally {
      await a.context.close();
      await context.close();
      await site.close();
    }
  });
}
