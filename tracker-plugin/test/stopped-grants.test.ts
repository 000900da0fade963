// A grant the user stopped stays stopped across lost connections and page loads, until the
// server's `grants` list no longer holds it: the connection and the page's signals wired together
// as index.ts wires them, with the test playing the server.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { STOPPED_GRANTS_KEY } from "../src/grants";
import type { Grant } from "../src/protocol";
import type { StorageLike } from "../src/storage";
import { alice, bob, find, TAB } from "./page";
import { FakeSocket } from "./socket";
import { userClick } from "./user";

/**
 * One page of the tab: fresh modules (nothing kept in memory from an earlier page), the tab's
 * `storage`, a connection to a fake server and the page's signals.
 */
async function openPage(storage: StorageLike) {
  vi.resetModules();
  const { Backoff } = await import("../src/backoff");
  const { EventBuffer } = await import("../src/buffer");
  const { TrackerConnection } = await import("../src/connection");
  const { Identity } = await import("../src/identity");
  const { MemoryStorage } = await import("../src/storage");
  const { PageSignals } = await import("../src/signals");

  document.body.innerHTML = '<button id="buy">Buy</button>';
  const buy = document.getElementById("buy")!;
  let clicks = 0;
  buy.addEventListener("click", () => clicks++);

  const sockets: FakeSocket[] = [];
  const signals = new PageSignals({
    tabId: TAB,
    send: (signal) => connection.sendSignal(signal),
    nodeById: (id) => (id === 1 ? buy : null),
    storage,
  });
  const connection = new TrackerConnection({
    url: "ws://cobrowse.test/api/v1/track",
    projectKey: "demo",
    identity: new Identity({ projectKey: "demo", local: new MemoryStorage(), tab: storage }),
    buffer: new EventBuffer(),
    hello: () => ({ page: { url: "https://shop.test/", user_agent: "test", viewport: { width: 800, height: 600 } }, metadata: {} }),
    takeFullSnapshot: () => {},
    onSignal: (signal) => signals.receive(signal),
    onWelcome: () => signals.connected(),
    webSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    backoff: new Backoff({ baseMs: 100, capMs: 100, random: () => 0.5 }),
  });
  connection.start();

  const server = () => sockets[sockets.length - 1]!;
  return {
    server,
    /** The server accepts the (re)connection and sends `grants` after `welcome`. */
    welcome(...grants: Grant[]): void {
      server().open();
      server().welcome("tok");
      server().receive({ type: "grants", grants });
    },
    grants(...grants: Grant[]): void {
      server().receive({ type: "grants", grants });
    },
    /** The server passes on a click of `agentId` on the Buy button. */
    click(agentId = alice.id): void {
      server().receive({ type: "control", agent_id: agentId, tab: TAB, input: { action: "click", id: 1, x: 1, y: 1 } });
    },
    clicks: () => clicks,
    revokes: () => sockets.flatMap((s) => s.sent.filter((m) => m["type"] === "revoke")),
    close(): void {
      signals.stop();
      connection.stop();
    },
  };
}

const control: Grant = { kind: "control", agent: alice };
const revokeAlice = { type: "revoke", kind: "control", agent_id: alice.id };

describe("a grant the user stopped", () => {
  let page: Awaited<ReturnType<typeof openPage>> | undefined;
  beforeEach(() => {
    vi.useFakeTimers();
    sessionStorage.clear();
  });
  afterEach(() => {
    page?.close();
    page = undefined;
    vi.useRealTimers();
  });

  it("stopped while disconnected is revoked after the next welcome and stays off while the server lists it", async () => {
    page = await openPage(sessionStorage);
    page.welcome(control);
    page.click();
    expect(page.clicks()).toBe(1);

    page.server().serverClose(1006);
    find("grant-stop")!.click();
    expect(page.revokes()).toEqual([]); // nowhere to send it
    expect(find("grant-indicator")).toBeNull();

    vi.advanceTimersByTime(100);
    page.server().open();
    page.server().welcome("tok");
    // Sent right after welcome, before the server's grants list.
    expect(page.server().sent.filter((m) => m["type"] === "revoke")).toEqual([revokeAlice]);
    page.grants(control);
    page.click();
    expect(page.clicks()).toBe(1);
    expect(find("grant-indicator")).toBeNull();
  });

  it("whose revoke was lost with the connection is revoked again after every welcome until the server drops it", async () => {
    page = await openPage(sessionStorage);
    page.welcome(control);
    // The socket takes the revoke, then drops before the server reads it.
    find("grant-stop")!.click();
    expect(page.revokes()).toEqual([revokeAlice]);
    page.server().serverClose(1006);

    for (let attempt = 1; attempt <= 2; attempt++) {
      vi.advanceTimersByTime(100);
      page.welcome(control); // the server still holds the grant
      expect(page.server().sent.filter((m) => m["type"] === "revoke")).toEqual([revokeAlice]);
      page.click();
      expect(page.clicks()).toBe(0);
      expect(find("grant-indicator")).toBeNull();
      page.server().serverClose(1006);
    }

    // The server finally saw it: its list no longer holds the grant, and the Stop is settled.
    vi.advanceTimersByTime(100);
    page.welcome(control);
    page.grants();
    expect(sessionStorage.getItem(STOPPED_GRANTS_KEY)).toBeNull();
    page.server().serverClose(1006);
    vi.advanceTimersByTime(100);
    page.welcome();
    expect(page.server().sent.filter((m) => m["type"] === "revoke")).toEqual([]);
  });

  it("stays off on the tab's next page, which revokes it again", async () => {
    page = await openPage(sessionStorage);
    page.welcome(control, { kind: "annotate", agent: bob });
    find("grant-stop", '[data-kind="control"]')!.click();
    page.close(); // the page navigates away before the server read the revoke

    page = await openPage(sessionStorage);
    page.welcome(control, { kind: "annotate", agent: bob });
    expect(page.server().sent.filter((m) => m["type"] === "revoke")).toEqual([revokeAlice]);
    page.click();
    expect(page.clicks()).toBe(0);
    expect(find("grant-indicator")!.textContent).not.toContain("Alice");
    expect(find("grant-indicator")!.textContent).toContain("Bob can draw on this page");
  });

  it("is lifted when the user accepts the same agent again", async () => {
    page = await openPage(sessionStorage);
    page.welcome(control);
    find("grant-stop")!.click();
    page.server().receive({ type: "consent_request", request_id: "r-2", kind: "control", agent: alice });
    vi.advanceTimersByTime(1_000);
    userClick(find("consent-accept")!);
    page.grants(control);
    page.click();
    expect(page.clicks()).toBe(1);
    expect(sessionStorage.getItem(STOPPED_GRANTS_KEY)).toBeNull();

    page.close();
    page = await openPage(sessionStorage);
    page.welcome(control);
    expect(page.revokes()).toEqual([]);
    page.click();
    expect(page.clicks()).toBe(1);
  });

  it("ignores a stored list that is not well-formed", async () => {
    sessionStorage.setItem(STOPPED_GRANTS_KEY, JSON.stringify([{ kind: "admin", agent_id: alice.id }, "x", null, { kind: "control" }]));
    page = await openPage(sessionStorage);
    page.welcome(control);
    expect(page.revokes()).toEqual([]);
    page.click();
    expect(page.clicks()).toBe(1);
  });
});
