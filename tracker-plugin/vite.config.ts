/// <reference types="vitest/config" />
// Builds the tracker three times (`npm run build` runs one `vite build` per mode):
// - default: `dist/cobrowse-tracker.mjs`, an ES module with rrweb and msgpack bundled in;
// - `--mode script`: `dist/cobrowse-tracker.js`, the script-tag bundle the server serves at
//   `/tracker.js` (IIFE defining the global `Cobrowse`, from src/global.ts: it also replays the
//   calls the async snippet queued), self-contained too;
// - `--mode package`: `dist/package/index.mjs`, the npm package's entry for bundler users, with
//   rrweb, its console plugin and msgpack left as imports (`dependencies` in package.json), so a
//   site that has them already ships them once. The delivery worker is inlined as a `blob:` and
//   cannot import anything, so Vite bundles msgpack into it in every build.
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


/** The packages the `package` build leaves to the consumer's bundler (`dependencies`). */
const DEPENDENCIES = /^(rrweb|@rrweb\/rrweb-plugin-console-record|@msgpack\/msgpack)(\/.*)?$/;

export default defineConfig(({ mode }) => ({
  // rrweb is bundled only in the self-contained builds, the only ones the patch can reach; the
  // package build leaves rrweb to the consumer's bundler (README, "Package").
  plugins: [rrwebFastNodes()],
  build: {
    target: "es2020",
    sourcemap: true,
    // The three builds share `dist/`: only the first one empties it.
    emptyOutDir: mode !== "script" && mode !== "package",
    outDir: mode === "package" ? "dist/package" : "dist",
    lib:
      mode === "script"
        ? { entry: "src/global.ts", name: "Cobrowse", formats: ["iife" as const], fileName: () => "cobrowse-tracker.js" }
        : mode === "package"
          ? { entry: "src/index.ts", formats: ["es" as const], fileName: () => "index.mjs" }
          : { entry: "src/index.ts", formats: ["es" as const], fileName: () => "cobrowse-tracker.mjs" },
    rollupOptions: mode === "package" ? { external: (id: string) => DEPENDENCIES.test(id) } : {},
  },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    // rrweb goes through the plugins too, so the tests record with the rrweb the bundle has.
    server: { deps: { inline: ["rrweb"] } },
  },
}));
