// The npm package as a consumer meets it: importing it changes nothing on the page until
// start(), its manifest points at what the build makes, and its type declarations resolve and
// type a consumer's code under TypeScript (strict, with bundler and Node resolution).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it, vi } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;

describe("importing the package", () => {
  it("patches nothing until start() (sideEffects: false holds)", async () => {
    // jsdom has no constructed stylesheets' replaceSync; give it one, as browsers have.
    const proto = CSSStyleSheet.prototype as { replaceSync?: unknown };
    proto.replaceSync ??= function () {};
    const replaceSync = proto.replaceSync;
    const globals = new Set(Object.keys(globalThis));
    vi.resetModules();
    const api = await import("../src/index");
    expect(proto.replaceSync).toBe(replaceSync);
    expect(Object.keys(globalThis).filter((key) => !globals.has(key))).toEqual([]);
    expect(document.querySelector("cobrowse-ui")).toBeNull();
    expect(api.sessionId()).toBeUndefined();

    vi.stubGlobal(
      "WebSocket",
      class {
        readyState = 0;
        close() {}
        send() {}
      },
    );
    const tracker = api.start({ server: "http://localhost:3000", projectKey: "k", worker: false });
    expect(proto.replaceSync).not.toBe(replaceSync);
    tracker.stop();
    vi.unstubAllGlobals();
  });
});

describe("the package's manifest", () => {
  it("is publishable, with types, import and default for each entry, and no side effects", () => {
    expect(manifest["private"]).toBeUndefined();
    expect(manifest["sideEffects"]).toBe(false);
    expect(manifest["license"]).toBe("MIT");
    expect(manifest["repository"]).toBeTruthy();
    expect(manifest["files"]).toEqual(["dist", "snippet.js"]);
    const exports = manifest["exports"] as Record<string, Record<string, string>>;
    for (const entry of [".", "./bundle"]) {
      expect(Object.keys(exports[entry]!)).toEqual(["types", "import", "default"]);
    }
    expect(exports["."]!["import"]).toBe("./dist/package/index.mjs");
    expect(exports["./tracker.js"]).toBe("./dist/cobrowse-tracker.js");
    // The package build leaves these to the consumer: they must be dependencies, not dev ones.
    expect(Object.keys(manifest["dependencies"] as object).sort()).toEqual([
      "@msgpack/msgpack",
      "@rrweb/rrweb-plugin-console-record",
      "rrweb",
    ]);
  });
});

describe("the type declarations, as a consumer's TypeScript sees them", () => {
  const dir = mkdtempSync(join(tmpdir(), "cobrowse-consumer-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("type a consumer's use of the whole API, and reject misuse", { timeout: 120_000 }, () => {
    const modules = join(dir, "node_modules");
    const pkg = join(modules, "@cobrowse", "tracker");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, "package.json"), JSON.stringify(manifest));
    const tsc = join(ROOT, "node_modules", ".bin", "tsc");
    execFileSync(tsc, ["-p", "tsconfig.types.json", "--outDir", join(pkg, "dist", "types")], { cwd: ROOT });
    execFileSync("node", ["scripts/declarations.mjs", join(pkg, "dist", "types")], { cwd: ROOT, stdio: "ignore" });
    // The package's dependencies, as npm would install them beside it.
    for (const name of readdirSync(join(ROOT, "node_modules"))) {
      if (!name.startsWith(".")) symlinkSync(join(ROOT, "node_modules", name), join(modules, name));
    }
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(
      join(dir, "consumer.ts"),
      `import { start, sessionURL, LOCALES, type ConsentRequestInfo, type StartOptions, type Tracker } from "@cobrowse/tracker";

const options: StartOptions = {
  server: "https://cobrowse.example",
  projectKey: "shop",
  locale: "de",
  labels: { accept: "Ja" },
  nonce: "abc",
  onAgentJoin: ({ agent, watching }) => console.log(agent.name?.toUpperCase(), watching + 1),
  onAgentLeave: ({ agent }) => console.log(agent.name),
  onControlStart: ({ agent }) => console.log(agent.id, agent.name),
  onControlEnd: () => {},
  onCallStart: ({ video }) => console.log(video),
  onCallEnd: () => {},
  onConsentRequest: (request: ConsentRequestInfo) => {
    const button = document.createElement("button");
    button.textContent = request.title;
    button.addEventListener("click", (event) => request.accept(event), { signal: request.signal });
    return request.kind === "control";
  },
};
const tracker: Tracker = start(options);
const id: string | undefined = tracker.sessionId();
const link: string | undefined = tracker.sessionURL({ atCurrentTime: true });
const global: string | undefined = sessionURL();
const german: string = LOCALES["de"]!.accept;
console.log(id, link, global, german);

// @ts-expect-error projectKey is required
start({ server: "https://cobrowse.example" });
// @ts-expect-error a misspelt option
tracker.sessionURL({ atCurrentTme: true });
// @ts-expect-error accept takes the user's event
start({ ...options, onConsentRequest: (r) => r.accept("yes") });
// @ts-expect-error no such text
start({ ...options, labels: { acept: "Ja" } });
`,
    );
    for (const resolution of ["bundler", "nodenext"]) {
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            target: "ES2022",
            module: resolution === "bundler" ? "ESNext" : "NodeNext",
            moduleResolution: resolution,
            lib: ["ES2022", "DOM", "DOM.Iterable"],
            types: [],
            skipLibCheck: true,
          },
          files: ["consumer.ts"],
        }),
      );
      try {
        execFileSync(tsc, ["-p", "tsconfig.json"], { cwd: dir, encoding: "utf8" });
      } catch (error) {
        throw new Error(`consumer typecheck (${resolution}) failed:\n${(error as { stdout?: string }).stdout ?? error}`);
      }
    }
  });
});
