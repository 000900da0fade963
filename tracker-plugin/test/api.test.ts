// The public API through start(), against a socket the test plays the server on: the session's
// id and console link on the handle and the module (the script tag's global), and the site's
// callbacks in the order the page learns things.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import * as Cobrowse from "../src/index";
import { type FakeSocket, stubWebSocket } from "./socket";

const ZERO = "00000000-0000-0000-0000-000000000000";

describe("the public API", () => {
  let sockets: FakeSocket[];
  let tracker: Cobrowse.Tracker | undefined;

  beforeEach(() => {
    sockets = stubWebSocket();
    localStorage.clear();
    sessionStorage.clear();
  });
  afterEach(() => {
    tracker?.stop();
    vi.unstubAllGlobals();
  });

  it("gives the session id and console link once connected, on the handle and the module", () => {
    tracker = Cobrowse.start({ server: "https://cobrowse.example/", projectKey: "k", worker: false });
    expect(tracker.sessionId()).toBeUndefined();
    expect(Cobrowse.sessionURL()).toBeUndefined();
    sockets[0]!.open();
    sockets[0]!.welcome("token-1");
    expect(tracker.sessionId()).toBe(ZERO);
    expect(Cobrowse.sessionId()).toBe(ZERO);
    expect(tracker.sessionURL()).toBe(`https://cobrowse.example/#/sessions/${ZERO}`);
    expect(Cobrowse.sessionURL({ atCurrentTime: true })).toMatch(
      new RegExp(`^https://cobrowse\\.example/#/sessions/${ZERO}\\?t=\\d+&tab=${tracker.tabId}$`),
    );
    tracker.stop();
    expect(Cobrowse.sessionURL()).toBeUndefined();
  });

  it("links to the console the site names", () => {
    tracker = Cobrowse.start({ server: "https://ingest.example", projectKey: "k", worker: false, consoleUrl: "https://support.example/cobrowse" });
    sockets[0]!.open();
    sockets[0]!.welcome("token-1");
    expect(tracker.sessionURL()).toBe(`https://support.example/cobrowse/#/sessions/${ZERO}`);
  });

  it("calls the site's callbacks as agents join, take control, call, and leave", () => {
    const log: string[] = [];
    tracker = Cobrowse.start({
      server: "https://cobrowse.example",
      projectKey: "k",
      worker: false,
      onAgentJoin: ({ agent, watching }) => log.push(`join ${agent.name ?? "?"} ${watching}`),
      onAgentLeave: ({ watching }) => log.push(`leave ${watching}`),
      onControlStart: ({ agent }) => log.push(`control start ${agent.name}`),
      onControlEnd: ({ agent }) => log.push(`control end ${agent.name}`),
      onCallStart: ({ agent, video }) => log.push(`call start ${agent.name} ${video}`),
      onCallEnd: ({ agent }) => log.push(`call end ${agent.name}`),
    });
    const socket = sockets[0]!;
    socket.open();
    socket.welcome("token-1");
    const alice = { id: "a-1", name: "Alice" };
    socket.receive({ type: "watching", agents: 1, watchers: [{ name: "Alice" }] });
    socket.receive({ type: "grants", grants: [{ kind: "control", agent: alice }] });
    socket.receive({ type: "grants", grants: [{ kind: "control", agent: alice }, { kind: "call", agent: alice, video: false }] });
    socket.receive({ type: "grants", grants: [{ kind: "call", agent: alice, video: false }] });
    socket.receive({ type: "watching", agents: 0, watchers: [] });
    tracker.stop();
    expect(log).toEqual([
      "join Alice 1",
      "control start Alice",
      "call start Alice false",
      "control end Alice",
      "leave 0",
      "call end Alice",
    ]);
  });
});
