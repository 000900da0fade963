// `start` as a site calls it, against a socket the test plays the server on: what it records of
// the page's address and console by default, and when the site opts in.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { type StartOptions, type Tracker, start } from "../src/index";
import { type FakeSocket, stubWebSocket } from "./socket";

/** The page's own fetch: a server error, answered without a network. */
const pageFetch = () => Promise.resolve(new Response("oops", { status: 500 }));

describe("start: privacy defaults", () => {
  let sockets: FakeSocket[];
  let tracker: Tracker | undefined;

  beforeEach(() => {
    sockets = stubWebSocket();
    history.replaceState(null, "", "/reset?token=s3cret&code=oauth#access_token=t0ken");
    localStorage.clear();
    sessionStorage.clear();
    document.body.innerHTML = "<p>hello</p>";
  });
  afterEach(() => {
    tracker?.stop();
    vi.unstubAllGlobals();
    history.replaceState(null, "", "/");
  });

  /** Starts a tracker, answers its `hello`, logs to the console, and returns all it sent. */
  async function run(options: Partial<StartOptions> = {}): Promise<{ hello: Record<string, unknown>; sent: string }> {
    vi.stubGlobal("fetch", pageFetch);
    tracker = start({ server: "http://localhost:3000", projectKey: "k", ...options });
    await fetch("/shop/cart?coupon=s3cret");
    const socket = sockets.at(-1)!;
    socket.open();
    const hello = socket.sent[0]!;
    socket.welcome("token-1");
    window.console.log("user secret in the console");
    // Acknowledge what was sent, so that what waits goes out; then let the 1 s batch timer run.
    const seqs = socket.batches().flat();
    socket.receive({ type: "ack", seq: Math.max(0, ...seqs) });
    await new Promise((done) => setTimeout(done, 1200));
    const decoder = new TextDecoder();
    const events = socket.sent
      .filter((m) => m["type"] === "events")
      .flatMap((m) => (m["events"] as { data: Uint8Array }[]).map((e) => decoder.decode(e.data)));
    return { hello, sent: events.join("\n") };
  }

  it("records the page's address without its query or fragment, and no console", async () => {
    const { hello, sent } = await run();
    expect((hello["page"] as { url: string }).url).toBe("http://localhost:3000/reset");
    expect(sent).toContain('"href":"http://localhost:3000/reset"');
    expect(sent).not.toMatch(/s3cret|oauth|t0ken/);
    expect(sent).not.toContain("user secret in the console");
  });

  it("records the page's requests, without their query, as network plugin events", async () => {
    const { sent } = await run();
    const line = sent.split("\n").find((e) => e.includes("cobrowse/network@1"));
    expect(line).toBeDefined();
    const event = JSON.parse(line!) as { type: number; data: { payload: Record<string, unknown> } };
    expect(event.type).toBe(6);
    expect(line!.startsWith('{"type":6,')).toBe(true);
    expect(event.data.payload).toMatchObject({ type: "fetch", method: "GET", url: "http://localhost:3000/shop/cart", status: 500, failed: true });
  });

  it("gives the page its own fetch back on stop, and records no requests with `network: false`", async () => {
    await run();
    expect(globalThis.fetch).not.toBe(pageFetch);
    tracker?.stop();
    expect(globalThis.fetch).toBe(pageFetch);
    const { sent } = await run({ network: false });
    expect(globalThis.fetch).toBe(pageFetch);
    expect(sent).not.toContain("cobrowse/network@1");
  });

  it("records queries (but secret-named parameters) and the console when the site opts in", async () => {
    const { hello, sent } = await run({ recordQuery: true, console: true });
    const url = (hello["page"] as { url: string }).url;
    const redacted = encodeURIComponent("[redacted]");
    expect(url).toContain(`/reset?token=${redacted}&code=${redacted}#access_token=${redacted}`);
    expect(sent).not.toMatch(/oauth|t0ken/);
    expect(sent).toContain("coupon=s3cret");
    expect(sent).toContain("user secret in the console");
  });

  it("tells the server the site's view option, leaving the default out", async () => {
    expect((await run()).hello).not.toHaveProperty("view");
    tracker?.stop();
    sockets.length = 0;
    expect((await run({ view: "ask" })).hello["view"]).toBe("ask");
    tracker?.stop();
    // @ts-expect-error: a value the option does not take.
    expect(() => start({ server: "http://localhost:3000", projectKey: "k", view: "sometimes" })).toThrow(/view/);
  });
});
