#!/usr/bin/env node
// Makes the emitted type declarations (`tsc -p tsconfig.types.json`) resolve under Node's ESM
// resolution too (`moduleResolution: node16/nodenext`), not only a bundler's: there a relative
// import must name its file, so `from "./labels"` becomes `from "./labels.js"` (TypeScript maps
// that to `labels.d.ts`). The sources keep extensionless imports, as Vite and the tests expect.
// Usage: node scripts/declarations.mjs DIR (default dist/types).
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const root = resolve(process.argv[2] ?? "dist/types");

function* declarations(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* declarations(path);
    else if (name.endsWith(".d.ts")) yield path;
  }
}

const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"']*)\2/g;

let rewritten = 0;
for (const file of declarations(root)) {
  const text = readFileSync(file, "utf8");
  const fixed = text.replace(SPECIFIER, (whole, lead, quote, spec) => {
    if (/\.(m?js|json)$/.test(spec)) return whole;
    const target = resolve(dirname(file), spec);
    if (existsSync(`${target}.d.ts`)) return `${lead}${quote}${spec}.js${quote}`;
    if (existsSync(join(target, "index.d.ts"))) return `${lead}${quote}${spec}/index.js${quote}`;
    throw new Error(`${file}: cannot find the declaration of "${spec}"`);
  });
  if (fixed !== text) {
    writeFileSync(file, fixed);
    rewritten++;
  }
}
console.error(`declarations: ${rewritten} files under ${root} import their neighbours by file name`);
