/// <reference types="vitest/config" />
// Builds the tracker twice from one entry: an ES module (`dist/cobrowse-tracker.mjs`) and a
// single-file script-tag bundle (`dist/cobrowse-tracker.js`, IIFE exposing the global `Cobrowse`).
// Both are self-contained (rrweb and msgpack are bundled in), so the server can serve either as is.
import { defineConfig } from "vite";

export default defineConfig({
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
  },
});
