// How long an agent waits to see the user's page: the console opens a live session (a click on
// its row in the list) → the first animation frame in which the live view's replayer iframe
// shows the page; and → the frame in which the page's fresh snapshot (the one the join asked
// for) has replaced what was shown first. Two pages: the demo shop (small) and demo/big-page.html
// (a 300 KB full snapshot). Joins are a little over a second apart, so each one gets its own fresh
// snapshot (a tracker serves at most one `resync` a second).
//
//   cd tests/e2e && COBROWSE_BIN=../../target/debug/cobrowse node joins.mjs [joins per page, 20]
//   … node joins.mjs cold [sessions per page, 3] [seconds recorded before joining, 70]
//
// The second form measures first joins of sessions nobody watched for a while: the view then
// reads a whole checkout interval of the stream before it can show the stored page.
//
// Prints one line per page and a JSON summary; `measureJoins` is also used by joins.test.mjs.
import { api, launchBrowser, newestSession, openAgent, startServer } from "./harness.mjs";

export const PAGES = [
  { name: "demo shop", path: "/demo/", selector: "#item-count" },
  { name: "300 KB page", path: "/demo/big-page.html", selector: "#report-end" },
];

/** The `q`-quantile of `values` (nearest rank). */
export function quantile(values, q) {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Opens `page` as a user, then joins its session `joins` times; returns the timings in ms. */
export async function measureJoins(browser, server, page, joins) {
  const existing = (await api(server, "/api/v1/sessions?limit=200")).sessions.map((s) => s.id);
  const user = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const userPage = await user.newPage();
  const resync = [];
  probeResync(userPage, resync);
  await userPage.goto(`${server.url}${page.path}`);
  const id = await newestSession(server, existing);
  const agent = await openAgent(browser, server);
  const first = [];
  const fresh = [];
  let blankFrames = 0;
  try {
    for (let i = 0; i < joins; i++) {
      await agent.page.evaluate(() => { location.hash = "#/"; });
      await agent.page.waitForSelector(`.session-row[data-session-id="${id}"]`);
      await new Promise((ok) => setTimeout(ok, 1200));
      const t = await agent.page.evaluate(
        ({ id, selector }) =>
          new Promise((ok, fail) => {
            const t0 = performance.now();
            let shown = null;
            let firstMs = null;
            let blank = 0;
            const timeout = setTimeout(() => fail(new Error(`no page after 10 s (first ${firstMs})`)), 10_000);
            const tick = () => {
              const doc = document.querySelector("#live-view iframe")?.contentDocument;
              const root = doc?.querySelector(selector) ? doc.documentElement : null;
              if (root !== null && shown === null) {
                shown = root;
                firstMs = performance.now() - t0;
              }
              // A frame without the page after it was shown is a visible reset.
              if (shown !== null && root === null) blank++;
              // The fresh snapshot rebuilds the document: a new root element. When none comes
              // within 2 s, the first page shown was the fresh snapshot itself.
              const now = performance.now() - t0;
              if (root !== null && (root !== shown || now > firstMs + 2000)) {
                clearTimeout(timeout);
                ok({ first: firstMs, fresh: root !== shown ? now : firstMs, blank });
                return;
              }
              requestAnimationFrame(tick);
            };
            document.querySelector(`.session-row[data-session-id="${id}"]`).click();
            requestAnimationFrame(tick);
          }),
        { id, selector: page.selector },
      );
      first.push(t.first);
      fresh.push(t.fresh);
      blankFrames += t.blank;
    }
  } finally {
    await agent.context.close();
    await user.close();
  }
  return { first, fresh, resync, blankFrames };
}

/**
 * How long after each `resync` reaches the user's page the tracker hands the frame holding the
 * FullSnapshot to its socket, in ms. Read from the browser's side of the tracker's WebSocket
 * (Chromium reports the frames of a socket a worker opened too), so it holds whether the tracker
 * sends from its worker or from the page.
 */
function probeResync(page, resync) {
  page.on("websocket", (socket) => {
    let asked = null;
    socket.on("framereceived", ({ payload }) => {
      if (asked === null && String(payload).includes("resync")) asked = performance.now();
    });
    socket.on("framesent", ({ payload }) => {
      if (asked !== null && String(payload).includes('"type":2,')) {
        resync.push(performance.now() - asked);
        asked = null;
      }
    });
  });
}

function summary(name, { first, fresh, resync, blankFrames }) {
  const r = (x) => Math.round(x);
  return {
    page: name,
    joins: first.length,
    first_p50: r(quantile(first, 0.5)),
    first_p95: r(quantile(first, 0.95)),
    first_max: r(Math.max(...first)),
    fresh_p50: r(quantile(fresh, 0.5)),
    fresh_p95: r(quantile(fresh, 0.95)),
    resync_to_snapshot_p50: r(quantile(resync, 0.5)),
    resync_to_snapshot_max: r(Math.max(...resync)),
    blank_frames: blankFrames,
  };
}

/**
 * Cold joins: `n` users open `page` and record for `waitMs` with nobody watching (so the view
 * must read a whole checkout interval of the stream), then an agent joins each session once.
 * Returns the first-frame times and the bytes the view read before `caught_up`.
 */
export async function measureColdJoins(browser, server, page, n, waitMs) {
  const users = [];
  for (let i = 0; i < n; i++) {
    const existing = (await api(server, "/api/v1/sessions?limit=200")).sessions.map((s) => s.id);
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    await (await context.newPage()).goto(`${server.url}${page.path}`);
    users.push({ context, id: await newestSession(server, existing) });
  }
  await new Promise((ok) => setTimeout(ok, waitMs));
  const agent = await openAgent(browser, server);
  await agent.page.evaluate(() => {
    const Socket = window.WebSocket;
    window.__catchUpBytes = [];
    window.WebSocket = class extends Socket {
      constructor(...args) {
        super(...args);
        let bytes = 0;
        let done = false;
        this.addEventListener("message", (m) => {
          if (done || !(m.data instanceof ArrayBuffer)) return;
          if (new TextDecoder().decode(new Uint8Array(m.data, 0, Math.min(40, m.data.byteLength))).includes("caught_up")) {
            done = true;
            window.__catchUpBytes.push(bytes);
          } else bytes += m.data.byteLength;
        });
      }
    };
  });
  const first = [];
  for (const u of users) {
    await agent.page.evaluate(() => { location.hash = "#/"; });
    await agent.page.waitForSelector(`.session-row[data-session-id="${u.id}"]`);
    first.push(await agent.page.evaluate(({ id, selector }) => new Promise((ok) => {
      const t0 = performance.now();
      const tick = () =>
        document.querySelector("#live-view iframe")?.contentDocument?.querySelector(selector)
          ? ok(performance.now() - t0)
          : requestAnimationFrame(tick);
      document.querySelector(`.session-row[data-session-id="${id}"]`).click();
      requestAnimationFrame(tick);
    }), { id: u.id, selector: page.selector }));
  }
  const catchUpBytes = await agent.page.evaluate(() => window.__catchUpBytes);
  await agent.context.close();
  for (const u of users) await u.context.close();
  return { first, catchUpBytes };
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === "cold") {
  // node joins.mjs cold [sessions per page, 3] [seconds recorded before the join, 70]
  const n = Number(process.argv[3] ?? 3);
  const waitMs = 1000 * Number(process.argv[4] ?? 70);
  const browser = await launchBrowser();
  const server = await startServer();
  try {
    for (const page of PAGES) {
      const { first, catchUpBytes } = await measureColdJoins(browser, server, page, n, waitMs);
      console.log(`${page.name}, cold: first frame ${first.map(Math.round).join(", ")} ms; read before caught_up ${catchUpBytes.map((b) => `${Math.round(b / 1024)} KB`).join(", ")}`);
    }
  } finally {
    await server.stop();
    await browser.close();
  }
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const joins = Number(process.argv[2] ?? 20);
  const browser = await launchBrowser();
  const server = await startServer();
  const results = [];
  try {
    for (const page of PAGES) {
      const s = summary(page.name, await measureJoins(browser, server, page, joins));
      console.log(`${s.page}: first frame p50 ${s.first_p50} / p95 ${s.first_p95} ms (max ${s.first_max}); fresh snapshot shown p50 ${s.fresh_p50} / p95 ${s.fresh_p95} ms; resync → snapshot sent p50 ${s.resync_to_snapshot_p50} / max ${s.resync_to_snapshot_max} ms; ${s.blank_frames} blank frames`);
      results.push(s);
    }
  } finally {
    await server.stop();
    await browser.close();
  }
  console.log(JSON.stringify(results));
}
