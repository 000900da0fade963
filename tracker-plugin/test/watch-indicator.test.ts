import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ACCEPT_DELAY_MS } from "../src/consent-prompt";
import { decodeServerMessage } from "../src/protocol";
import { ENGLISH } from "../src/labels";
import { viewMode, watchingText } from "../src/watch-indicator";
import { alice, find, findAll, setupSignals } from "./page";
import { userClick } from "./user";
import { encode } from "@msgpack/msgpack";

describe("watching with the user's knowledge", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    document.body.innerHTML = "";
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("notify (the default) names the agents who see the page, and goes when nobody does", () => {
    const t = setupSignals();
    t.receive({ type: "watching", agents: 2, watchers: [{ name: "Alice" }, { name: "Bob" }] });
    const badge = find("watching")!;
    expect(badge.textContent).toBe("Alice and Bob can see this page");
    expect(badge.getAttribute("role")).toBe("status");
    t.receive({ type: "watching", agents: 1, watchers: [{ name: "Alice" }] });
    expect(find("watching")!.textContent).toBe("Alice can see this page");
    t.receive({ type: "watching", agents: 0, watchers: [] });
    expect(find("watching")).toBeNull();
    t.signals.stop();
  });

  it("silent shows nothing, and ask leaves who sees the page to the grant indicator", () => {
    for (const mode of ["silent", "ask"] as const) {
      const t = setupSignals({ view: mode });
      t.receive({ type: "watching", agents: 1, watchers: [{ name: "Alice" }] });
      expect(find("watching")).toBeNull();
      t.signals.stop();
    }
  });

  it("follows the session's mode from welcome, not this page's option", () => {
    // The session began on a notify page; this page says ask, and the server lets agents in unasked.
    const t = setupSignals({ view: "ask" });
    t.receive({ type: "watching", agents: 1, watchers: [{ name: "Alice" }] });
    expect(find("watching")).toBeNull();
    t.signals.connected("notify");
    expect(find("watching")!.textContent).toBe("Alice can see this page");
    // The other way round: a notify page in a session that asks leaves it to the grant indicator.
    t.signals.connected("ask");
    expect(find("watching")).toBeNull();
    t.signals.stop();
    // An older server says nothing: the page's own option stands.
    const older = setupSignals({ view: "notify" });
    older.signals.connected(undefined);
    older.receive({ type: "watching", agents: 1, watchers: [{ name: "Bob" }] });
    expect(find("watching")!.textContent).toBe("Bob can see this page");
    older.signals.stop();
  });

  it("ask shows the view prompt with its own texts, and the grant with a Stop", () => {
    const t = setupSignals({ view: "ask" });
    t.receive({ type: "consent_request", request_id: "r-1", kind: "view", agent: alice });
    const prompt = findAll("consent-prompt")[0]!;
    expect(prompt.dataset["kind"]).toBe("view");
    expect(prompt.textContent).toContain("Alice asks to see this page");
    expect(prompt.textContent).toContain(ENGLISH.detailView);
    vi.advanceTimersByTime(ACCEPT_DELAY_MS);
    userClick(find("consent-accept")!);
    expect(t.sent).toEqual([{ type: "consent", request_id: "r-1", granted: true }]);
    t.grant({ kind: "view", agent: alice });
    expect(find("grant-indicator")!.textContent).toContain("Alice can see this page");
    t.signals.stop();
  });

  it("joins names for the badge and checks the option", () => {
    expect(watchingText(ENGLISH, ["Alice", "Bob", "Carol"])).toBe("Alice, Bob and Carol can see this page");
    expect(watchingText(ENGLISH, ["Alice", "Alice"])).toBe("Alice can see this page");
    expect(viewMode(undefined)).toBe("notify");
    expect(viewMode("ask")).toBe("ask");
    expect(() => viewMode("sometimes")).toThrow(/silent, notify, ask/);
  });

  it("decodes the session's mode in welcome, and none from an older server", () => {
    const welcome = {
      type: "welcome",
      session_id: new Uint8Array(16),
      session_token: "t",
      tab: "tab-1",
      resumed: true,
      limits: { max_frame_bytes: 1, max_event_bytes: 1, events_per_sec: 1, bytes_per_sec: 1 },
    };
    expect(decodeServerMessage(encode({ ...welcome, view: "ask" }))).toMatchObject({ view: "ask" });
    expect(decodeServerMessage(encode(welcome))).not.toHaveProperty("view");
    expect(decodeServerMessage(encode({ ...welcome, view: "sometimes" }))).not.toHaveProperty("view");
  });

  it("decodes watchers, and none from an older server", () => {
    const named = decodeServerMessage(encode({ type: "watching", agents: 1, watchers: [{ name: "Alice" }] }));
    expect(named).toEqual({ type: "watching", agents: 1, watchers: [{ name: "Alice" }] });
    const older = decodeServerMessage(encode({ type: "watching", agents: 3 }));
    expect(older).toEqual({ type: "watching", agents: 3, watchers: [] });
  });
});
