import { describe, expect, it } from "vitest";
import { formatClockTime } from "../src/format";
import { stageMessage, statusText, type StageInput } from "../src/session-status";

describe("statusText", () => {
  const recorded = { ended_ms: null, end_reason: null };

  it("names the live connection's state", () => {
    expect(statusText({ status: "live", detail: "" }, recorded)).toBe("● Live");
    expect(statusText({ status: "reconnecting", detail: "" }, recorded)).toBe("Reconnecting…");
    expect(statusText({ status: "error", detail: "token rejected" }, recorded)).toBe("Error: token rejected");
  });

  it("says when and why a recorded session ended", () => {
    const ended = Date.UTC(2025, 0, 2, 12, 4, 7, 250);
    const clock = formatClockTime(ended).slice(0, 8);
    expect(statusText(null, { ended_ms: ended, end_reason: "idle" })).toBe(`Recorded · ended ${clock} (idle)`);
    expect(statusText(null, { ended_ms: ended, end_reason: null })).toBe(`Recorded · ended ${clock}`);
    expect(statusText(null, recorded)).toBe("Recorded");
  });
});

describe("stageMessage", () => {
  const live: StageInput = { inPast: false, loading: false, problem: null, live: { status: "live", detail: "" }, liveReady: false };

  it("waits for the user's page until the live player has one", () => {
    expect(stageMessage(live)).toBe("Waiting for the user's page…");
    expect(stageMessage({ ...live, liveReady: true })).toBe("");
  });

  it("says the session ended, or why the connection failed", () => {
    expect(stageMessage({ ...live, live: { status: "ended", detail: "" } })).toBe("The session ended.");
    expect(stageMessage({ ...live, live: { status: "error", detail: "session not found" } })).toBe("session not found");
  });

  it("in the past, says the recording is loading, or why it cannot be shown", () => {
    expect(stageMessage({ ...live, inPast: true, loading: true, problem: "old" })).toBe("Loading the recording…");
    expect(stageMessage({ ...live, inPast: true, problem: "Nothing recorded in this tab yet." })).toBe(
      "Nothing recorded in this tab yet.",
    );
    expect(stageMessage({ ...live, inPast: true })).toBe("");
  });
});

describe("a page that asks its user first (view: ask)", () => {
  it("says the view waits for the user, and why it ended when they declined", () => {
    const waiting = { status: "waiting" as const, detail: "Waiting for the user to accept…" };
    expect(statusText(waiting, { ended_ms: null, end_reason: null })).toBe("Waiting for the user…");
    const stage = { inPast: false, loading: false, problem: null, liveReady: false };
    expect(stageMessage({ ...stage, live: waiting })).toBe("Waiting for the user to accept…");
    const refused = { status: "error" as const, detail: "The user did not let you watch this session." };
    expect(stageMessage({ ...stage, live: refused })).toBe("The user did not let you watch this session.");
  });
});
