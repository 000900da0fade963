#!/usr/bin/env node
// The tracker's size budget, checked by `npm run build` (so by CI): the gzip size of each build a
// site loads must stay within its budget, or the build fails. The budgets leave room of about
// a tenth for features to come; raising one is a decision to make in review, with the README's
// "Size" table updated to the new figures this prints.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

/** Gzip bytes (level 9) allowed per file. */
const BUDGETS = {
  // The script tag at /tracker.js: rrweb, its console plugin and msgpack bundled, minified.
  "dist/cobrowse-tracker.js": 132_000,
  // The self-contained ES module: the same, not minified (a site's bundler minifies it).
  "dist/cobrowse-tracker.mjs": 146_000,
  // The npm package's entry: the tracker alone, rrweb and msgpack imported (the inlined
  // delivery worker still carries its own msgpack).
  "dist/package/index.mjs": 63_000,
};

let over = false;
for (const [file, budget] of Object.entries(BUDGETS)) {
  let size;
  try {
    size = gzipSync(readFileSync(new URL(`../${file}`, import.meta.url)), { level: 9 }).length;
  } catch (error) {
    console.error(`size budget: cannot read ${file} (${error.message}); build it first`);
    process.exit(1);
  }
  const fits = size <= budget;
  over ||= !fits;
  console.error(
    `size budget: ${file} ${(size / 1000).toFixed(1)} kB gzip, budget ${(budget / 1000).toFixed(1)} kB${fits ? "" : "  OVER"}`,
  );
}
if (over) {
  console.error("size budget: a build is over its budget (tracker-plugin/scripts/size-budget.mjs)");
  process.exit(1);
}
