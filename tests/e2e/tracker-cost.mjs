// What a recorder costs the page it records (docs/benchmarks.md, "Tracker main-thread cost"):
// the table page of fixtures/table.html under each recorder, in headless Chromium, against a
// real server. Not a test: it reports, and asserts nothing about timings.
//
//   node tracker-cost.mjs [--runs 3] [--ms 6000] [--variants none,rrweb,tracker,tracker-main,...]
//                         [--workloads interval,saturated] [--profile tracker] [--json]
//
// Per run and variant it reports the page's main-thread task time (CDP Performance.getMetrics,
// `TaskDuration`, during the workload only), the renderer process's CPU time (all its threads,
// workers included; CDP SystemInfo.getProcessInfo) and the number of renders. Variants:
// - none: the page alone;
// - rrweb: stock `rrweb.record` (the tracker's rrweb, node_modules/rrweb) keeping its events in
//   an array;
// - tracker: our tracker (/tracker.js of the server, loaded from the server's origin as a site
//   would), sending from its worker;
// - tracker-main: the same with workers refused by the page's CSP (`worker-src 'none'`), so it
//   sends from the main thread;
// - rrweb-options: stock rrweb with the options our tracker gives it (privacy selectors, masking),
//   keeping its events in an array: what of our cost is rrweb's work under our options;
// - rrweb-json: stock rrweb that also `JSON.stringify`s each event, as any recorder that sends
//   its events somewhere must;
// - tracker-before: another build of the tracker, `$BEFORE_TRACKER_JS` (e.g. main's), served by
//   the site itself.
// The page is served from another origin than the tracker (a loopback port of its own), as a site
// embedding the tracker is.
// `--profile VARIANT` writes a CPU profile of one run of the first of `--workloads` to
// /tmp/tracker-cost.cpuprofile and prints its self time by script and by function
// (profile-attribution.mjs, which also compares saved profiles of two variants).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO, launchBrowser, startServer, startSite } from "./harness.mjs";
import { attribute, frameNamer, printAttribution } from "./profile-attribution.mjs";

const { values: opts } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    ms: { type: "string", default: "6000" },
    variants: { type: "string", default: "none,rrweb,tracker,tracker-main" },
    workloads: { type: "string", default: "interval,saturated" },
    profile: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const RUNS = Number(opts.runs);
const MS = Number(opts.ms);
const fixture = readFileSync(join(import.meta.dirname, "fixtures", "table.html"), "utf8");
const rrwebJs = readFileSync(join(REPO, "tracker-plugin", "node_modules", "rrweb", "dist", "rrweb.umd.cjs"), "utf8");
const trackerOverride = process.env.TRACKER_JS ? readFileSync(process.env.TRACKER_JS, "utf8") : null;
const trackerBefore = process.env.BEFORE_TRACKER_JS ? readFileSync(process.env.BEFORE_TRACKER_JS, "utf8") : null;

function recorderTags(variant, server) {
  switch (variant) {
    case "none":
      return "";
    case "rrweb":
      return `<script src="/rrweb.js"></script>
<script>window.rrwebEvents = []; rrweb.record({ emit(e) { window.rrwebEvents.push(e); } });</script>`;
    case "rrweb-options":
      // The options of tracker-plugin/src/record.ts recordOptions(), console off.
      return `<script src="/rrweb.js"></script>
<script>window.rrwebEvents = []; rrweb.record({
  emit(e) { window.rrwebEvents.push(e); },
  checkoutEveryNms: 60000, blockClass: "cobrowse-block", blockSelector: "[data-cobrowse-block]",
  maskTextClass: "cobrowse-mask", maskTextSelector: "[data-cobrowse-mask]", maskAllInputs: true,
  maskInputOptions: { password: true },
  maskInputFn: (text, el) => (el.type === "password" ? (text ? "********" : "") : "*".repeat(text.length)),
  recordCanvas: false, collectFonts: false, inlineImages: false, recordAfter: "DOMContentLoaded", plugins: [],
});</script>`;
    case "rrweb-json":
      return `<script src="/rrweb.js"></script>
<script>window.rrwebEvents = []; rrweb.record({ emit(e) { window.rrwebEvents.push(JSON.stringify(e)); } });</script>`;
    case "tracker-before":
      return `<script src="/tracker-before.js"></script>
<script>window.cobrowse = Cobrowse.start({ server: ${JSON.stringify(server.url)}, projectKey: "demo" });</script>`;
    case "tracker":
    case "tracker-main":
      return `<script src="${server.url}/tracker.js"></script>
<script>window.cobrowse = Cobrowse.start({ server: ${JSON.stringify(server.url)}, projectKey: "demo" });</script>`;
    default:
      throw new Error(`unknown variant ${variant}`);
  }
}

/**
 * The site: fixtures/table.html with the variant's recorder (`/table.html?variant=...`) and stock
 * rrweb (`/rrweb.js`), on an origin of its own, so the tracker comes from another origin.
 */
function serveSite(server) {
  return startSite((url) => {
    if (url.pathname === "/rrweb.js") return { type: "text/javascript", body: rrwebJs };
    if (url.pathname === "/tracker-before.js" && trackerBefore) return { type: "text/javascript", body: trackerBefore };
    const variant = url.searchParams.get("variant") ?? "none";
    const headers = variant === "tracker-main" ? { "content-security-policy": "worker-src 'none'" } : {};
    return { headers, body: fixture.replace("<!--RECORDER-->", recorderTags(variant, server)) };
  });
}

async function openVariant(browser, server, site, variant) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  if (trackerOverride) {
    await context.route(`${server.url}/tracker.js`, (route) =>
      route.fulfill({ contentType: "text/javascript", body: trackerOverride }));
  }
  const page = await context.newPage();
  await page.goto(`${site.url}/table.html?variant=${variant}`);
  await page.waitForFunction(() => document.readyState === "complete");
  if (variant.startsWith("tracker")) {
    await page.waitForFunction(() => window.cobrowse !== undefined);
  }
  // Let the recorder start and send its first snapshot before measuring.
  await page.waitForTimeout(1500);
  return { context, page };
}

/** CPU time of every renderer process, by pid, in seconds. */
async function rendererCpu(browserSession) {
  const { processInfo } = await browserSession.send("SystemInfo.getProcessInfo");
  return new Map(processInfo.filter((p) => p.type === "renderer").map((p) => [p.id, p.cpuTime]));
}

async function measure(browser, browserSession, server, site, variant, workload, profile) {
  const { context, page } = await openVariant(browser, server, site, variant);
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable", { timeDomain: "threadTicks" });
    if (profile) {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
      await cdp.send("Profiler.start");
    }
    const metric = async () => {
      const { metrics } = await cdp.send("Performance.getMetrics");
      return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
    };
    const cpuBefore = await rendererCpu(browserSession);
    const before = await metric();
    const renders = await page.evaluate((args) => window.workload.run(args), { mode: workload, ms: MS });
    const after = await metric();
    const cpuAfter = await rendererCpu(browserSession);
    // The page's renderer is the one whose CPU time grew the most (others idle meanwhile).
    let cpu = 0;
    for (const [pid, t] of cpuAfter) cpu = Math.max(cpu, t - (cpuBefore.get(pid) ?? t));
    if (profile) {
      const { profile: p } = await cdp.send("Profiler.stop");
      writeFileSync("/tmp/tracker-cost.cpuprofile", JSON.stringify(p));
      // The source map of the bundle profiled, for naming its functions by their sources.
      const bundle = variant === "tracker-before" ? process.env.BEFORE_TRACKER_JS : process.env.TRACKER_JS;
      printAttribution([attribute([p], frameNamer(bundle ? `${bundle}.map` : undefined))]);
    }
    const delivered = variant.startsWith("tracker")
      ? await page.evaluate(() => window.cobrowse?.delivery ?? "main (no worker option)")
      : "-";
    return {
      variant, workload, renders,
      taskS: after.TaskDuration - before.TaskDuration,
      scriptS: after.ScriptDuration - before.ScriptDuration,
      cpuS: cpu,
      delivery: delivered,
    };
  } finally {
    await context.close();
  }
}

const server = await startServer();
const browser = await launchBrowser();
const browserSession = await browser.newBrowserCDPSession();
const site = await serveSite(server);
const results = [];
try {
  const variants = opts.variants.split(",");
  if (opts.profile) {
    results.push(await measure(browser, browserSession, server, site, opts.profile, opts.workloads.split(",")[0], true));
  } else {
    for (let run = 1; run <= RUNS; run++) {
      for (const workload of opts.workloads.split(",")) {
        // Interleaved, so that load from elsewhere on the machine spreads over all variants.
        for (const variant of variants) {
          const r = { run, ...(await measure(browser, browserSession, server, site, variant, workload, false)) };
          results.push(r);
          if (!opts.json) {
            console.log(`run ${run} ${workload.padEnd(9)} ${variant.padEnd(12)} task ${r.taskS.toFixed(3)} s  ` +
              `script ${r.scriptS.toFixed(3)} s  renderer cpu ${r.cpuS.toFixed(3)} s  renders ${r.renders}  ${r.delivery}`);
          }
        }
      }
    }
  }
  if (opts.json) {
    console.log(JSON.stringify(results, null, 1));
  } else if (!opts.profile) {
    // Medians per workload and variant, as docs/benchmarks.md reports them.
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    console.log(`\nmedians of ${RUNS} runs (task = main-thread task time, cpu = the renderer process, all threads)`);
    for (const workload of opts.workloads.split(",")) {
      for (const variant of opts.variants.split(",")) {
        const rs = results.filter((r) => r.workload === workload && r.variant === variant);
        console.log(`${workload.padEnd(9)} ${variant.padEnd(14)} task ${median(rs.map((r) => r.taskS)).toFixed(2)} s` +
          `  cpu ${median(rs.map((r) => r.cpuS)).toFixed(2)} s  renders ${median(rs.map((r) => r.renders))}` +
          `  task per render ${median(rs.map((r) => (1000 * r.taskS) / r.renders)).toFixed(1)} ms` +
          `  (task: ${rs.map((r) => r.taskS.toFixed(2)).join(", ")}; renders: ${rs.map((r) => r.renders).join(", ")})`);
      }
    }
  }
} finally {
  await site.close();
  await browser.close();
  await server.stop();
}
