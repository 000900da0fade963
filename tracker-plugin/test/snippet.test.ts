// The async snippet (snippet.js, as a site pastes it) and the bundle's replay of its queue.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { afterEach, describe, expect, it } from "vitest";

import { replayQueued } from "../src/snippet";

const SNIPPET = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../snippet.js"), "utf8");

type StandIn = Record<string, (...args: unknown[]) => Promise<unknown>> & { q: unknown };

/** Runs the snippet as the page would, and returns the stand-in `Cobrowse` it defined. */
function paste(): StandIn {
  new Function(SNIPPET)();
  return (globalThis as unknown as { Cobrowse: StandIn }).Cobrowse;
}

describe("the async snippet", () => {
  afterEach(() => {
    delete (globalThis as { Cobrowse?: unknown }).Cobrowse;
    document.head.innerHTML = "";
  });

  it("loads the bundle with async and queues every call made before it arrives", () => {
    const cobrowse = paste();
    const script = document.head.querySelector("script")!;
    expect(script.src).toBe("https://cobrowse.example/tracker.js");
    expect(script.async).toBe(true);
    void cobrowse["start"]!({ server: "https://cobrowse.example", projectKey: "shop" });
    void cobrowse["identify"]!("user-42");
    expect((cobrowse.q as unknown[]).map((entry) => (entry as unknown[])[0])).toEqual(["start", "identify"]);
  });

  it("replays the calls in order when the bundle loads, and settles each one's promise", async () => {
    const cobrowse = paste();
    const started = cobrowse["start"]!({ projectKey: "shop" });
    const identified = cobrowse["identify"]!("user-42");
    const url = cobrowse["sessionURL"]!({ atCurrentTime: true });
    const calls: string[] = [];
    const api = {
      start: (options: { projectKey: string }) => {
        calls.push(`start ${options.projectKey}`);
        return { running: true };
      },
      identify: (id: string) => {
        calls.push(`identify ${id}`);
        throw new TypeError("bad id");
      },
      sessionURL: (options: { atCurrentTime: boolean }) => {
        calls.push(`sessionURL ${options.atCurrentTime}`);
        return "https://cobrowse.example/#/sessions/x?t=5";
      },
    };
    replayQueued(cobrowse, api);
    expect(calls).toEqual(["start shop", "identify user-42", "sessionURL true"]);
    await expect(started).resolves.toEqual({ running: true });
    await expect(identified).rejects.toThrow("bad id");
    await expect(url).resolves.toBe("https://cobrowse.example/#/sessions/x?t=5");

    // A reference to the stand-in kept by a script still works: its calls are made at once.
    const again = cobrowse["sessionURL"]!({ atCurrentTime: false });
    expect(calls.at(-1)).toBe("sessionURL false");
    await expect(again).resolves.toBe("https://cobrowse.example/#/sessions/x?t=5");
  });

  it("rejects a queued call the API does not have, and goes on with the next", async () => {
    const standIn = { q: [] as unknown[] };
    const results: string[] = [];
    standIn.q.push(["toString", [], () => results.push("called"), (e: Error) => results.push(e.message)]);
    standIn.q.push(["stop", [], () => results.push("stopped"), () => results.push("failed")]);
    replayQueued(standIn, { stop: () => undefined });
    expect(results).toEqual(['cobrowse: no method "toString"; see the README for the API', "stopped"]);
  });

  it("does nothing without a snippet's queue (the script tag alone, or loaded twice)", () => {
    expect(() => replayQueued(undefined, {})).not.toThrow();
    expect(() => replayQueued({ start: () => 1 }, {})).not.toThrow();
  });
});

describe("the README's snippet", () => {
  it("is snippet.js, so what sites paste is what is tested", () => {
    const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../README.md"), "utf8");
    const code = SNIPPET.split("\n").filter((line) => !line.startsWith("//")).join("\n").trim();
    expect(readme).toContain(code);
  });
});
