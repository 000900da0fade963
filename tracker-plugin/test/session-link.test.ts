// The console link a site puts into a support ticket (`sessionURL`).
import { describe, expect, it } from "vitest";

import { SessionLink } from "../src/session-link";
import { MemoryStorage } from "../src/storage";

const ID = "0b7e4a52-6f1c-4f4e-9d8e-2b8f0f6f3a10";

function link(storage = new MemoryStorage(), clock = { now: 1_000_000 }, consoleUrl = "https://cobrowse.example") {
  return new SessionLink({ storage, projectKey: "shop", consoleUrl, tabId: "t-1", now: () => clock.now });
}

describe("session link", () => {
  it("has no id and no link before the first welcome", () => {
    const l = link();
    expect(l.sessionId).toBeUndefined();
    expect(l.url()).toBeUndefined();
  });

  it("links to the session, and at the current time to the moment and tab, in ms after its start", () => {
    const clock = { now: 1_000_000 };
    const l = link(new MemoryStorage(), clock, "https://cobrowse.example/support/");
    l.welcome(ID, false);
    clock.now += 65_432;
    expect(l.sessionId).toBe(ID);
    expect(l.url()).toBe(`https://cobrowse.example/support/#/sessions/${ID}`);
    expect(l.url({ atCurrentTime: true })).toBe(`https://cobrowse.example/support/#/sessions/${ID}?t=65432&tab=t-1`);
  });

  it("counts from the start another page of the session noted, and leaves t out when none did", () => {
    const storage = new MemoryStorage();
    const clock = { now: 5_000 };
    link(storage, clock).welcome(ID, false);
    clock.now = 35_000;
    const next = link(storage, clock);
    next.welcome(ID, true);
    expect(next.url({ atCurrentTime: true })).toContain("?t=30000&tab=t-1");

    const other = link(storage, clock);
    other.welcome("1b7e4a52-6f1c-4f4e-9d8e-2b8f0f6f3a10", true);
    expect(other.url({ atCurrentTime: true })).toBe(
      "https://cobrowse.example/#/sessions/1b7e4a52-6f1c-4f4e-9d8e-2b8f0f6f3a10?tab=t-1",
    );
  });
});
