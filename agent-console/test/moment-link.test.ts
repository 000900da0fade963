import { describe, expect, it } from "vitest";
import { momentHash, momentUrl, parseMomentHash, shownHash } from "../src/moment-link";

const ID = "0190f3a2-7b1c-7def-8abc-0123456789ab";

describe("parseMomentHash", () => {
  it("reads the moment and the tab of a session link", () => {
    expect(parseMomentHash(`#/sessions/${ID}?t=65400&tab=tab-2`)).toEqual({ session: ID, t: 65_400, tab: "tab-2" });
  });

  it("opens the session as before when the link names no moment", () => {
    expect(parseMomentHash(`#/sessions/${ID}`)).toEqual({ session: ID, t: null, tab: null });
    expect(parseMomentHash(`#/sessions/${ID}?tab=a`)).toEqual({ session: ID, t: null, tab: "a" });
  });

  it("lower-cases the session id, as the server names sessions", () => {
    expect(parseMomentHash(`#/sessions/${ID.toUpperCase()}?t=0`)?.session).toBe(ID);
  });

  it("ignores a t that is not a whole number of ms, and an empty tab", () => {
    for (const t of ["-5", "1.5", "abc", "", "1e3", "9999999999999999"]) {
      expect(parseMomentHash(`#/sessions/${ID}?t=${t}&tab=`)).toEqual({ session: ID, t: null, tab: null });
    }
  });

  it("is null for what is not a session link", () => {
    expect(parseMomentHash("#/")).toBeNull();
    expect(parseMomentHash("#/sessions?q=x")).toBeNull();
    expect(parseMomentHash("#/sessions/not-a-uuid?t=5")).toBeNull();
    expect(parseMomentHash(`#/grid/${ID}`)).toBeNull();
  });
});

describe("momentHash", () => {
  it("round-trips through parseMomentHash, with a tab id that needs escaping", () => {
    const moment = { session: ID, t: 12_345, tab: "a b&c=d" };
    expect(parseMomentHash(momentHash(moment))).toEqual(moment);
  });

  it("writes whole ms, never negative, and leaves out what is unknown", () => {
    expect(momentHash({ session: ID, t: 1234.6, tab: "t1" })).toBe(`#/sessions/${ID}?t=1235&tab=t1`);
    expect(momentHash({ session: ID, t: -3, tab: null })).toBe(`#/sessions/${ID}?t=0`);
    expect(momentHash({ session: ID, t: null, tab: null })).toBe(`#/sessions/${ID}`);
  });

  it("makes a full URL from the console's address, replacing any hash", () => {
    expect(momentUrl("https://help.example/console/#/sessions?q=x", { session: ID, t: 5000, tab: "t1" })).toBe(
      `https://help.example/console/#/sessions/${ID}?t=5000&tab=t1`,
    );
  });
});

describe("shownHash", () => {
  const shown = { session: ID, live: false, t: 65_400.6, tab: "tab-2", pinned: false };

  it("names the moment and the tab of a replay, which the link opens again", () => {
    expect(shownHash(shown)).toBe(`#/sessions/${ID}?t=65401&tab=tab-2`);
    expect(parseMomentHash(shownHash(shown))).toEqual({ session: ID, t: 65_401, tab: "tab-2" });
  });

  it("names no moment while live, and the tab only when the agent picked it", () => {
    expect(shownHash({ ...shown, live: true })).toBe(`#/sessions/${ID}`);
    expect(shownHash({ ...shown, live: true, pinned: true })).toBe(`#/sessions/${ID}?tab=tab-2`);
  });
});
