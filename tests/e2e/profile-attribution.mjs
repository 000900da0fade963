// Where a recorder's main-thread time goes (docs/benchmarks.md, "Tracker main-thread cost"): the
// self time of V8 CPU profiles by script (rrweb, the tracker's own code, its other packages, the
// page, the browser's native code, GC) and by function, named by their original sources through
// the source maps: the tracker's bundle map, then rrweb's own map, so the same rrweb function
// has one name in the tracker's bundle and in stock rrweb (rrweb.umd.cjs), and the two compare.
//
//   node profile-attribution.mjs A.cpuprofile[,A2.cpuprofile...] [B.cpuprofile[,B2...]]
//
// Each argument is a group of profiles of one variant (averaged); with two groups, the last
// column is B - A. `TRACKER_MAP` names the map of a tracker bundle other than dist's.
import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { join } from "node:path";
import { REPO } from "./harness.mjs";

const RRWEB_DIST = join(REPO, "tracker-plugin", "node_modules", "rrweb", "dist");

function loadMap(file) {
  return existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, "utf8"))) : null;
}

/** Attributes call frames: `[script, function]`, cached per call frame. */
export function frameNamer(trackerMap = join(REPO, "tracker-plugin", "dist", "cobrowse-tracker.js.map")) {
  const maps = {
    tracker: loadMap(trackerMap),
    umd: loadMap(join(RRWEB_DIST, "rrweb.umd.cjs.map")),
    esm: loadMap(join(RRWEB_DIST, "rrweb.js.map")),
  };
  const short = (source) => source.replace(/^(\.\.\/)+/, "").replace(/^.*node_modules\//, "");
  const named = (entry, fallback) => `${entry?.name ?? fallback} ${short(entry?.originalSource ?? "?")}:${(entry?.originalLine ?? 0) + 1}`;
  return (cf) => {
    const fn = cf.functionName || "(anonymous)";
    if (cf.url === "") return fn.startsWith("(") ? [fn, fn] : ["native", fn];
    if (cf.url.endsWith("/rrweb.js") && maps.umd) {
      return ["rrweb", named(maps.umd.findEntry(cf.lineNumber, cf.columnNumber), fn)];
    }
    if (/tracker(-before)?\.js$/.test(cf.url) && maps.tracker) {
      const entry = maps.tracker.findEntry(cf.lineNumber, cf.columnNumber);
      const source = entry?.originalSource ?? "";
      if (source.endsWith("rrweb/dist/rrweb.js") && maps.esm) {
        const inner = maps.esm.findEntry(entry.originalLine, entry.originalColumn);
        return ["rrweb", named(inner, entry.name ?? fn)];
      }
      if (source.includes("node_modules/")) return [short(source).split("/dist/")[0], named(entry, fn)];
      return ["tracker", named(entry, fn)];
    }
    return ["page", `${fn} ${new URL(cf.url).pathname.split("/").pop()}:${cf.lineNumber + 1}`];
  };
}

/** Self time in ms by script and by function, averaged over `profiles`; idle time left out. */
export function attribute(profiles, name = frameNamer()) {
  const byScript = new Map();
  const byFunction = new Map();
  const add = (map, key, ms) => map.set(key, (map.get(key) ?? 0) + ms);
  let total = 0;
  for (const p of profiles) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < p.samples.length; i++) {
      const cf = nodes.get(p.samples[i]).callFrame;
      if (cf.functionName === "(idle)") continue;
      const ms = (p.timeDeltas[i] ?? 0) / 1000 / profiles.length;
      const [script, fn] = name(cf);
      total += ms;
      add(byScript, script, ms);
      add(byFunction, `${script.padEnd(10)} ${fn}`, ms);
    }
  }
  return { total, byScript, byFunction };
}

/** Prints one or two attributions side by side (the second minus the first last). */
export function printAttribution(groups, top = 40) {
  const ms = (v) => v.toFixed(0).padStart(7);
  console.log(`${groups.map((g) => ms(g.total)).join("")}  ms of non-idle samples per profile`);
  for (const [field, n] of [["byScript", 20], ["byFunction", top]]) {
    const keys = new Set(groups.flatMap((g) => [...g[field].keys()]));
    const rows = [...keys].map((k) => [k, groups.map((g) => g[field].get(k) ?? 0)]);
    rows.sort((a, b) => Math.max(...b[1]) - Math.max(...a[1]));
    for (const [key, values] of rows.slice(0, n)) {
      const diff = values.length === 2 ? ` ${(values[1] - values[0] >= 0 ? "+" : "") + (values[1] - values[0]).toFixed(0)}`.padStart(8) : "";
      console.log(`${values.map(ms).join("")}${diff}  ${key}`);
    }
    console.log();
  }
}

if (process.argv[1] === import.meta.filename) {
  const name = frameNamer(process.env.TRACKER_MAP);
  const groups = process.argv.slice(2).map((arg) =>
    attribute(arg.split(",").map((f) => JSON.parse(readFileSync(f, "utf8"))), name));
  printAttribution(groups, Number(process.env.TOP ?? 40));
}
