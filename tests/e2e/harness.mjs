// Shared pieces of the end-to-end tests: a real `cobrowse serve` process (embedded s2-lite), a
// headless Chromium driven by playwright-core, and reads of the session stream through the API.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

export const REPO = resolve(import.meta.dirname, "../..");
export const AGENT_TOKEN = "e2e-agent-secret";
const TARGET = process.env.CARGO_TARGET_DIR ?? join(REPO, "target");
const BINARY = process.env.COBROWSE_BIN ?? join(TARGET, "debug", "cobrowse");

/** A free loopback port, so a server can be restarted on the same address. */
export async function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

/**
 * Starts `cobrowse serve` and resolves once it prints its URL.
 * @param {{ port?: number, dataDir?: string, args?: string[] }} [options]
 */
export async function startServer(options = {}) {
  const port = options.port ?? (await freePort());
  const args = [
    "serve",
    "--listen", `127.0.0.1:${port}`,
    "--agent-token", `e2e:${AGENT_TOKEN}:admin`,
    "--secret", "e2e-secret",
    "--web-root", REPO,
    "--demo",
  ];
  if (options.dataDir) args.push("--data-dir", options.dataDir);
  if (options.args) args.push(...options.args);
  const child = spawn(BINARY, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stderr.on("data", (chunk) => { log += chunk; });
  child.stdout.on("data", (chunk) => { log += chunk; });
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${log}`)), 60_000);
    child.stdout.on("data", (chunk) => {
      const found = /running at (http:\/\/\S+)/.exec(String(chunk));
      if (found) {
        clearTimeout(timer);
        ok(found[1]);
      }
    });
    child.once("exit", (code) => fail(new Error(`server exited with ${code}:\n${log}`)));
  });
  return {
    url,
    port,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((ok) => child.once("exit", ok));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A throwaway directory for a durable store; removed by the returned function. */
export function scratchDir() {
  const dir = mkdtempSync(join(tmpdir(), "cobrowse-e2e-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Headless Chromium as the project's CI machine has it (Debian's package).
 * @param {string[]} [extra] more command-line switches
 */
export async function launchBrowser(extra = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-quic",
      ...extra,
    ],
  });
}

/**
 * A test file's browser and server, as its `before` starts them: `launchBrowser(browserArgs)` and
 * `startServer(serverOptions)`; the browser is closed again if the server does not start.
 */
export async function startBrowserAndServer(serverOptions = {}, browserArgs = []) {
  const browser = await launchBrowser(browserArgs);
  try {
    return { browser, server: await startServer(serverOptions) };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

/** What a test file's `after` stops: its server, then its browser (either may not have started). */
export async function stopBrowserAndServer(browser, server) {
  await server?.stop();
  await browser?.close();
}

/** Switches for calls on loopback: fake camera and microphone, granted without a browser prompt. */
export const FAKE_MEDIA = [
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--autoplay-policy=no-user-gesture-required",
];

/** GET an agent API path as JSON. */
export async function api(server, path) {
  const response = await fetch(`${server.url}${path}`, {
    headers: { Authorization: `Bearer ${AGENT_TOKEN}` },
  });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Polls `check` until it returns a truthy value, or fails after `ms`. */
export async function eventually(check, ms = 10_000, what = "condition") {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

/** The newest session's id, once the demo page has one. */
export async function newestSession(server, notIn = []) {
  return eventually(async () => {
    const page = await api(server, "/api/v1/sessions?limit=20");
    return page.sessions.map((s) => s.id).find((id) => !notIn.includes(id));
  }, 15_000, "a session to appear");
}

/** Every rrweb event stored so far for a session (optionally of one tab). */
export async function storedEvents(server, sessionId, tab) {
  const query = tab ? `&tab=${encodeURIComponent(tab)}` : "";
  return api(server, `/api/v1/sessions/${sessionId}/events?format=rrweb${query}`);
}

/**
 * Every event stored for a session, with its envelope (kind, tab, client_seq), read over SSE up
 * to the point the stream catches up.
 */
export async function streamedEvents(server, sessionId) {
  const response = await fetch(
    `${server.url}/api/v1/sessions/${sessionId}/events/stream?from=beginning`,
    { headers: { Authorization: `Bearer ${AGENT_TOKEN}` } },
  );
  if (!response.ok) throw new Error(`stream: ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const events = [];
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    text += decoder.decode(value, { stream: true });
    let end;
    while ((end = text.indexOf("\n\n")) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const field = (name) =>
        block.split("\n").find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
      if (field("event") === "caught_up") {
        await reader.cancel();
        return events;
      }
      const data = field("data");
      if (data) events.push(JSON.parse(data));
    }
  }
}

/** Client sequence numbers of a tab's tracker events, in stream order. */
export function trackerSeqs(events, tab) {
  return events
    .filter((e) => ["rrweb", "identify", "metadata"].includes(e.kind) && (!tab || e.tab === tab))
    .map((e) => e.client_seq);
}

/** True when `seqs` is a run of consecutive integers with no gap and no repeat. */
export function contiguous(seqs) {
  return seqs.every((s, i) => i === 0 || s === seqs[i - 1] + 1);
}

/**
 * A user on the demo page, in a browser context of their own (their own session). `init` is a
 * script run in every page of the context before the page's own (a test's probe).
 */
export async function openUser(browser, server, init) {
  const existing = (await api(server, "/api/v1/sessions?limit=200")).sessions.map((s) => s.id);
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  await page.goto(`${server.url}/demo/`);
  const id = await newestSession(server, existing);
  return { context, page, id };
}

/** An agent signed in to the console. */
export async function openAgent(browser, server) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await page.fill("#token-input", AGENT_TOKEN);
  await page.click("#sign-in");
  await page.waitForSelector("#session-list");
  return { context, page };
}

/** Opens a session from the list; resolves once the live view shows `selector`. */
export async function openSession(a, id, selector = "#item-count") {
  await a.page.click(`.session-row[data-session-id="${id}"]`);
  await a.page.waitForSelector('#connection-status[data-status="live"]');
  const view = a.page.frameLocator("#live-view iframe");
  await view.locator(selector).waitFor();
  return view;
}

/**
 * A site of its own origin (another loopback port than the server's), as a page embedding the
 * tracker is: `handle(url)` answers each request with `{ body, type?, headers? }`, or null for 404.
 * @param {(url: URL) => ({ body: string, type?: string, headers?: Record<string, string> } | null)} handle
 */
export async function startSite(handle) {
  const { createServer: createHttpServer } = await import("node:http");
  const site = createHttpServer((req, res) => {
    const answer = handle(new URL(req.url, "http://site"));
    if (!answer) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, {
      "content-type": answer.type ?? "text/html; charset=utf-8",
      "cache-control": "no-store",
      ...answer.headers,
    });
    res.end(answer.body);
  });
  await new Promise((ok) => site.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${site.address().port}`,
    close: () => new Promise((ok) => site.close(ok)),
  };
}

/** The demo page's item count, on the user's page or in the agent's live view or replay. */
export async function itemCount(view) {
  return Number(await view.locator("#item-count").textContent());
}

/**
 * A moment to find again: the user adds an item, clicks `selector` (which leaves an entry in a
 * panel of the console), and 1.5 s later adds two more; the live view shows all three. Returns
 * the item count before, and when the click was, in ms into the session.
 */
export async function markMoment(server, u, live, selector) {
  const earlier = await itemCount(live);
  await u.page.click("#add-item");
  await u.page.click(selector);
  const { started_ms } = await api(server, `/api/v1/sessions/${u.id}`);
  const at = Date.now() - started_ms;
  await new Promise((ok) => setTimeout(ok, 1500));
  for (let i = 0; i < 2; i++) await u.page.click("#add-item");
  await eventually(async () => (await itemCount(live)) === earlier + 3, 5_000, "the live view to update");
  return { earlier, at };
}

/**
 * Clicking `entry` in a panel of the live view moves the agent to the replay of that moment
 * (`what` happened at `atMs`): the page with `items` items, the timeline within 1 s. Returns the
 * timeline's position.
 */
export async function seekByEntry(a, entry, items, atMs, what) {
  await a.page.click(entry);
  await a.page.waitForSelector('#session-view[data-mode="past"]');
  const past = a.page.frameLocator("#past-view iframe");
  await past.locator("#item-count").waitFor({ timeout: 15_000 });
  await eventually(async () => (await itemCount(past)) === items, 10_000, `the page as it was when ${what}`);
  const at = Number(await a.page.getAttribute("#timeline", "data-value"));
  assert.ok(Math.abs(at - atMs) < 1000, `the timeline at ${at} ms, ${what} at about ${atMs} ms`);
  return at;
}
