import { defineConfig } from "vitest/config";

// Node's `process`, without pulling in @types/node for one line.
declare const process: { env: Record<string, string | undefined> };

// The server serves dist/index.html at `/` and the bundle under `/assets/`.
// `npm run dev` proxies the API to a local `cobrowse serve` (default 127.0.0.1:7070; override with
// COBROWSE_URL), so the console can be developed with hot reload against a real server.
const server = process.env.COBROWSE_URL ?? "http://127.0.0.1:7070";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    // rrweb alone is ~400 kB minified; one chunk is simpler to serve and cache.
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // The wire types live in ../generated (shared with the tracker), outside this package.
    fs: { allow: [".", "../generated"] },
    proxy: {
      "/api": { target: server, ws: true, changeOrigin: true },
    },
  },
  test: {
    environment: "node",
    include: ["test/**/*.test.ts"],
  },
});
