/// <reference types="vitest/config" />
// Builds the tracker twice from one entry: an ES module (`dist/cobrowse-tracker.mjs`) and a
// single-file script-tag bundle (`dist/cobrowse-tracker.js`, IIFE exposing the global `Cobrowse`).
// Both are self-contained (rrweb and msgpack are bundled in), so the server can serve either as is.
import { defineConfig, type Plugin } from "vite";

/**
 * rrweb's `serializeNodeWithId` ends every serialized element with `delete serializedNode.needBlock`,
 * which puts the object into V8's slow "dictionary" mode; `JSON.stringify` of an event made of
 * such nodes takes about twice as long (2.2 ms against 0.9 ms for a 400 KB mutation event of
 * fixtures/table.html, docs/benchmarks.md), and the tracker stringifies every event on the page's
 * main thread. Setting the property to `undefined` instead keeps the object fast and serializes to
 * the same JSON (`JSON.stringify` leaves out undefined properties), and rrweb compares `needBlock`
 * only with `===`, to which a missing and an undefined property are alike. The build fails if rrweb
 * no longer has the statement, so an upgrade is looked at again.
 */
export function rrwebFastNodes(): Plugin {
  const statement = "delete serializedNode.needBlock;";
  return {
    name: "rrweb-fast-nodes",
    transform(code, id) {
      if (!/[\\/]node_modules[\\/]rrweb[\\/]dist[\\/]rrweb\.js$/.test(id)) return null;
      if (code.split(statement).length !== 2) {
        throw new Error(`rrweb-fast-nodes: expected one \`${statement}\` in ${id}; review this patch for the new rrweb`);
      }
      return { code: code.replace(statement, "serializedNode.needBlock = void 0;"), map: null };
    },
  };
}


export default defineConfig({
  plugins: [rrwebFastNodes()],
  build: {
    target: "es2020",
    sourcemap: true,
    lib: {
      entry: "src/index.ts",
      name: "Cobrowse",
      formats: ["es", "iife"],
      fileName: (format) => (format === "es" ? "cobrowse-tracker.mjs" : "cobrowse-tracker.js"),
    },
  },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    // rrweb goes through the plugins too, so the tests record with the rrweb the bundle has.
    server: { deps: { inline: ["rrweb"] } },
  },
});
