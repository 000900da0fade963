// `start` as a site calls it, against a socket the test plays the server on: what it records of
// the page's address and console by default, and when the site opts in.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { type StartOptions, type Tracker, start } from "../src/index";
import { FakeSocket } from "./socket";

describe("start: privacy defaults", () => {
  let sockets: FakeSocket[];
  let tracker: Tracker | undefined;

  beforeEach(() => {
    sockets = [];
    vi.stubGlobal(
      "WebSocket",
      class extends FakeSocket {
        constructor(url: string) {
          super(url);
          sockets.push(this);
        }
      },
    );
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
    tracker = start({ server: "http://localhost:3000", projectKey: "k", ...options });
    const socket = sockets[0]!;
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

  it("records queries and the console when the site opts in", async () => {
    const { hello, sent } = await run({ recordQuery: true, console: true });
    expect((hello["page"] as { url: string }).url).toContain("?token=s3cret&code=oauth#access_token=t0ken");
    expect(sent).toContain("s3cret");
    expect(sent).toContain("user secret in the console");
  });
});
