// Calls in headless Chromium with fake camera and microphone, on loopback, through a real server:
// the user accepts, agents receive live audio and video through the server's SFU, a second agent
// joins while the user still sends one stream of each, a declined call never opens the
// microphone, a consented recording leaves files a decoder plays for as long as it ran, and the
// page's <canvas> streams as video over the agent's replay without any call, once the user
// accepted it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  AGENT_TOKEN, FAKE_MEDIA, api, eventually, openAgent, openSession, openUser, scratchDir,
  startBrowserAndServer, stopBrowserAndServer,
} from "./harness.mjs";

let browser;
let server;
before(async () => {
  const options = { args: ["--rtc-bind", "127.0.0.1", "--rtc-ports", "46000-46099"] };
  ({ browser, server } = await startBrowserAndServer(options, FAKE_MEDIA));
});
after(() => stopBrowserAndServer(browser, server));

const prompt = (u, kind) => u.page.locator(`[data-cobrowse="consent-prompt"][data-kind="${kind}"]`);
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** The user accepts the open prompt of `kind`. */
async function accept(u, kind) {
  await prompt(u, kind).waitFor();
  await prompt(u, kind).locator('[data-cobrowse="consent-accept"]').click();
}

/**
 * The tracker keeps its call connection out of the page's reach, so the test watches the page's
 * RTCPeerConnections from before the page runs: the newest is `window.__e2eUserPeer`. Only this
 * test's browser has it; the console exposes its own as `window.__cobrowseCall.pc`.
 */
const WATCH_PEERS = () => {
  const Peer = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Peer {
    constructor(...args) {
      super(...args);
      window.__e2eUserPeer = this;
    }
  };
};
const openCaller = (browser, server) => openUser(browser, server, WATCH_PEERS);

/**
 * What a page's call connection has sent and received so far (`getStats()`): packets and streams
 * per kind, and video frames decoded.
 */
async function stats(page) {
  return page.evaluate(async () => {
    const pc = window.__cobrowseCall?.pc ?? window.__e2eUserPeer;
    if (!pc || pc.connectionState === "closed") return null;
    const out = {
      received: { audio: 0, video: 0 },
      receiving: { audio: 0, video: 0 },
      sending: { audio: 0, video: 0 },
      frames: 0,
    };
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.packetsReceived > 0) {
        out.received[r.kind] += r.packetsReceived;
        out.receiving[r.kind] += 1;
        if (r.kind === "video") out.frames += r.framesDecoded ?? 0;
      }
      if (r.type === "outbound-rtp" && r.packetsSent > 0) out.sending[r.kind] += 1;
    });
    return out;
  });
}

/** Counts the page's calls to getUserMedia in `window.mediaAsks` from now on. */
async function countMediaAsks(u) {
  await u.page.evaluate(() => {
    window.mediaAsks = 0;
    const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (constraints) => {
      window.mediaAsks += 1;
      return ask(constraints);
    };
  });
}

/** Waits until a page decodes video frames and its audio and video packet counts grow. */
async function receivesLive(page, what) {
  await eventually(async () => (await stats(page))?.frames > 0, 30_000, `${what}: a decoded video frame`);
  const first = await stats(page);
  await sleep(1500);
  const later = await stats(page);
  assert.ok(later.received.audio > first.received.audio, `${what}: audio keeps arriving`);
  assert.ok(later.received.video > first.received.video, `${what}: video keeps arriving`);
  assert.ok(later.frames > first.frames, `${what}: frames keep being decoded`);
  return later;
}

const closed = (page) =>
  page.evaluate(() => {
    const pc = window.__cobrowseCall?.pc ?? window.__e2eUserPeer;
    return !pc || pc.connectionState === "closed";
  });

test("agents in a call the user accepted get live audio and video, and the user sends one stream however many join", async () => {
  const u = await openCaller(browser, server);
  const a = await openAgent(browser, server);
  await openSession(a, u.id);

  const asked = Date.now();
  await a.page.click('[data-action="call-video"]');
  await prompt(u, "call").waitFor();
  assert.match(await prompt(u, "call").textContent(), /e2e.*video call/, "the prompt names the agent and says video");
  const accepted = Date.now();
  await accept(u, "call");
  await eventually(async () => (await stats(a.page))?.frames > 0, 30_000, "the agent's first frame of the user");
  const firstFrame = Date.now();
  await receivesLive(a.page, "the first agent");
  await u.page.locator('[data-cobrowse="call-window"][data-mode="here"]').waitFor();
  await eventually(async () => (await stats(u.page))?.receiving.audio === 1, 20_000, "the user hearing the agent");

  const b = await openAgent(browser, server);
  await openSession(b, u.id);
  await b.page.click('[data-action="join-call-video"]');
  await accept(u, "call");
  const second = await receivesLive(b.page, "the second agent");
  assert.equal(second.receiving.video, 2, "the second agent sees the user and the first agent");
  await eventually(async () => (await stats(u.page))?.receiving.video === 2, 20_000, "the user seeing both agents");
  const page = await stats(u.page);
  assert.deepEqual(page.sending, { audio: 1, video: 1 }, "the user uploads one stream of each, not one per agent");
  const listed = (await api(server, "/api/v1/sessions?limit=50")).sessions.find((s) => s.id === u.id);
  assert.equal(listed.call, true, "the session list shows the call");

  // The user hangs up: every connection closes and the page lets go of camera and microphone.
  await u.page.locator('[data-cobrowse="call-button"][data-action="hangup"]').click();
  await eventually(() => closed(a.page), 10_000, "the first agent's connection to close");
  await eventually(() => closed(b.page), 10_000, "the second agent's connection to close");
  assert.ok(await closed(u.page), "the page's connection is closed");
  console.log(`call setup: request → prompt ${accepted - asked} ms; accept → agent's first frame ${firstFrame - accepted} ms`);
  await Promise.all([u.context.close(), a.context.close(), b.context.close()]);
});

test("a declined call never opens the microphone, and asking again too soon says so", async () => {
  const u = await openCaller(browser, server);
  await countMediaAsks(u);
  const a = await openAgent(browser, server);
  await openSession(a, u.id);
  await a.page.click('[data-action="call-voice"]');
  await prompt(u, "call").waitFor();
  assert.match(await prompt(u, "call").textContent(), /voice call/);
  await prompt(u, "call").locator('[data-cobrowse="consent-decline"]').click();
  await a.page.waitForSelector('[data-testid="call-state"][data-state="declined"]');
  await sleep(1000);
  assert.equal(await u.page.evaluate(() => window.mediaAsks), 0, "no device was asked for");

  // Asking again right after a decline (within 10 s of the declined prompt): the server drops the
  // request (`too_soon`); the panel goes back to the start and says so, and the user sees nothing.
  await a.page.click('[data-action="call-voice"]');
  await a.page.locator('[data-testid="call-notice"]', { hasText: "Asked too soon" }).waitFor();
  assert.equal(await a.page.locator('[data-testid="call-state"]').getAttribute("data-state"), "none");
  assert.ok(await a.page.locator('[data-action="call-voice"]').isVisible(), "the call buttons are back");
  assert.equal(await prompt(u, "call").count(), 0, "no prompt for a dropped request");

  // The same page asks once the user accepts (10 s after a declined prompt, the wait before an agent
  // may ask again, doubling with each further no): the counter sees what it should.
  await sleep(10_000);
  await a.page.click('[data-action="call-voice"]');
  await accept(u, "call");
  await eventually(async () => (await u.page.evaluate(() => window.mediaAsks)) === 1, 10_000, "the microphone asked for once");
  await Promise.all([u.context.close(), a.context.close()]);
});

/** Seconds a decoder finds in a file, and whether it decodes without error. */
function probe(file) {
  const duration = Number(
    execFileSync("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file])
      .toString().trim(),
  );
  const errors = execFileSync("ffmpeg", ["-v", "error", "-i", file, "-f", "null", "-"], { stdio: "pipe" })
    .toString();
  return { duration, errors };
}

test("a recording the user accepted is stored with the session and plays for as long as it ran", async () => {
  const u = await openCaller(browser, server);
  const a = await openAgent(browser, server);
  await openSession(a, u.id);
  await a.page.click('[data-action="call-video"]');
  await accept(u, "call");
  await receivesLive(a.page, "the agent");

  await eventually(async () => a.page.locator('[data-action="record"]').isEnabled(), 10_000, "Record to be enabled");
  await a.page.click('[data-action="record"]');
  await prompt(u, "record").waitFor();
  assert.match(await prompt(u, "record").textContent(), /record/);
  await accept(u, "record");
  const started = Date.now();
  await u.page.locator('[data-cobrowse="call-recording"]').waitFor({ state: "visible" });
  await a.page.locator('[data-testid="rec-indicator"]').waitFor({ state: "visible" });
  await sleep(6000);
  await u.page.locator('[data-cobrowse="call-button"][data-action="stop-recording"]').click();
  const ran = (Date.now() - started) / 1000;
  await u.page.locator('[data-cobrowse="call-recording"]').waitFor({ state: "hidden" });

  const recording = await eventually(async () => {
    const detail = await api(server, `/api/v1/sessions/${u.id}`);
    const found = detail.recordings[0];
    return found?.files.length >= 3 && found.files.every((f) => f.complete) ? found : null;
  }, 20_000, "the recording's files to be complete");
  const names = recording.files.map((f) => f.name).sort();
  assert.ok(names.includes("user-audio.ogg") && names.includes("user-video.ivf"), names.join());
  assert.ok(names.some((n) => n.endsWith("-audio.ogg") && !n.startsWith("user")), "the agent's audio too");

  const scratch = scratchDir();
  try {
    for (const name of ["user-audio.ogg", "user-video.ivf"]) {
      const response = await fetch(
        `${server.url}/api/v1/sessions/${u.id}/recordings/${recording.id}/${name}`,
        { headers: { Authorization: `Bearer ${AGENT_TOKEN}` } },
      );
      assert.equal(response.status, 200);
      const path = join(scratch.dir, name);
      writeFileSync(path, Buffer.from(await response.arrayBuffer()));
      const { duration, errors } = probe(path);
      assert.equal(errors, "", `${name} decodes without errors`);
      // The files start at the first packet (video: the first key frame) after the grant, and
      // end when the stop reached the server.
      assert.ok(duration > ran - 2 && duration < ran + 1, `${name}: ${duration} s for a recording of ${ran} s`);
      console.log(`${name}: ${duration.toFixed(2)} s (recording ran ${ran.toFixed(2)} s)`);
    }
  } finally {
    scratch.remove();
  }
  await Promise.all([u.context.close(), a.context.close()]);
});

/**
 * An element's box on the agent's screen: `rect` (CSS px of the user's viewport, as the replay
 * lays it out) through the player's scaling (agent-console/README.md, "Driving control").
 */
function onAgentScreen(rect, iframe, viewportWidth) {
  const scale = iframe.width / viewportWidth;
  return {
    x: iframe.x + rect.x * scale,
    y: iframe.y + rect.y * scale,
    width: rect.width * scale,
    height: rect.height * scale,
  };
}

/** What a <video> shows now: its size, and the shares of the chart's dark background and light-blue line. */
function videoColours(video) {
  return video.evaluate((v) => {
    const c = document.createElement("canvas");
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const g = c.getContext("2d");
    g.drawImage(v, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let dark = 0;
    let line = 0;
    for (let i = 0; i < d.length; i += 4) {
      // demo.js: #0f172a background, #38bdf8 line (with some room for the codec).
      if (d[i] < 50 && d[i + 1] < 60 && d[i + 2] < 80) dark += 1;
      if (d[i] < 130 && d[i + 1] > 140 && d[i + 2] > 190) line += 1;
    }
    return { width: c.width, height: c.height, dark: dark / (d.length / 4), line: line / (d.length / 4) };
  });
}

test("an agent who shows canvases gets the page's canvas as video over the replay once the user accepts, with no call, until it hides them", async () => {
  const u = await openCaller(browser, server);
  await countMediaAsks(u);
  const a = await openAgent(browser, server);
  const view = await openSession(a, u.id);
  const canvases = a.page.locator('[data-action="canvases"]');
  const video = a.page.locator('[data-testid="canvas-layer"] .canvas-video[data-canvas]');

  const asked = Date.now();
  await canvases.click();
  assert.equal(await canvases.getAttribute("aria-pressed"), "true");
  // The site's default, canvas: "ask": nothing streams before the user accepts the page's prompt.
  await prompt(u, "canvas").waitFor();
  assert.equal((await stats(u.page))?.sending.video ?? 0, 0, "no canvas streams before the user accepts");
  await accept(u, "canvas");
  await eventually(
    async () => (await stats(a.page))?.frames > 0, 30_000, "the agent's first decoded frame of the canvas",
  );
  const firstFrame = Date.now();
  await eventually(() => video.evaluate((v) => v.videoWidth > 0 && !v.hidden), 10_000, "the canvas video to play");

  // (a) Page content, not the user's devices: no other prompt, no device asked for, no call.
  assert.equal(await u.page.locator('[data-cobrowse="consent-prompt"]').count(), 0, "the prompt went with the answer");
  assert.equal(await u.page.locator('[data-cobrowse="call-window"]').count(), 0, "no call window on the page");
  const detail = await api(server, `/api/v1/sessions/${u.id}`);
  assert.ok(!detail.activity.some((e) => e.record.action === "requested"), "the page asked, not the server: no request recorded");
  const page = await stats(u.page);
  assert.deepEqual(page.sending, { audio: 0, video: 1 }, "the page sends one video: the canvas");

  // (b) One canvas, the chart, decoded live at twice its size (a small canvas is sent so, to keep
  // its colour edges through 4:2:0 video: tracker-plugin/src/canvas-composite.ts).
  assert.equal(await video.count(), 1);
  const canvasId = Number(await video.getAttribute("data-canvas"));
  const replayed = await view.locator("#load-chart").evaluate((c) => c.tagName);
  assert.equal(replayed, "CANVAS");
  const first = await stats(a.page);
  await sleep(1500);
  const later = await stats(a.page);
  assert.equal(later.receiving.video, 1, "the agent receives one video");
  assert.equal(later.receiving.audio, 0, "and no sound");
  assert.ok(later.received.video > first.received.video, "canvas video keeps arriving");
  assert.ok(later.frames > first.frames, `frames keep being decoded (${first.frames} → ${later.frames})`);
  const colours = await videoColours(video);
  assert.equal(colours.width, 2 * 240, "the video has twice the canvas's width");
  assert.equal(colours.height, 2 * 60, "and twice its height");
  assert.ok(
    colours.dark > 0.6 && colours.line > 0.005, `the video shows the chart: ${JSON.stringify(colours)}`,
  );

  // (c) The video lies over the replayed canvas, which has the size the user's canvas has.
  const [inReplay, onPage, iframe, width] = await Promise.all([
    view.locator("#load-chart").evaluate((c) => c.getBoundingClientRect().toJSON()),
    u.page.locator("#load-chart").evaluate((c) => c.getBoundingClientRect().toJSON()),
    a.page.locator("#live-view iframe").boundingBox(),
    a.page.locator("#viewport-size").getAttribute("data-width").then(Number),
  ]);
  for (const key of ["x", "y", "width", "height"]) {
    assert.ok(
      Math.abs(inReplay[key] - onPage[key]) <= 2,
      `the replayed canvas's ${key}: ${inReplay[key]} vs ${onPage[key]} on the page`,
    );
  }
  const expected = onAgentScreen(inReplay, iframe, width);
  const shown = await video.boundingBox();
  for (const key of ["x", "y", "width", "height"]) {
    assert.ok(
      Math.abs(shown[key] - expected[key]) <= 3,
      `the video's ${key}: ${shown[key]} vs ${expected[key]} over the replay`,
    );
  }

  // (d) Hiding canvases: the video goes, the page stops sending and closes its connection.
  await canvases.click();
  assert.equal(await canvases.getAttribute("aria-pressed"), "false");
  await video.waitFor({ state: "detached", timeout: 10_000 });
  await eventually(() => closed(u.page), 10_000, "the page's connection to close");
  await eventually(() => closed(a.page), 10_000, "the agent's connection to close");
  assert.equal(await u.page.evaluate(() => window.mediaAsks), 0, "no device was ever asked for");
  assert.equal(await u.page.locator('[data-cobrowse="consent-prompt"]').count(), 0);
  console.log(`canvas ${canvasId}: request → agent's first decoded frame ${firstFrame - asked} ms`);
  await Promise.all([u.context.close(), a.context.close()]);
});
