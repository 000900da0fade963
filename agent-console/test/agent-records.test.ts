import { describe, expect, it } from "vitest";
import { TYPED_CHARACTER, parseAgentRecord, parseRecordedInput } from "../src/agent-records";

const alice = { id: "a1", name: "alice" };
const bob = { id: "b1", name: "bob" };

describe("parseAgentRecord", () => {
  it("reads a typed character the server recorded as a count, and a request dropped as too soon", () => {
    expect(parseRecordedInput({ action: "key", key: { chars: 1 } })).toEqual({ action: "key", key: TYPED_CHARACTER });
    expect(parseRecordedInput({ action: "key", key: "Enter" })).toEqual({ action: "key", key: "Enter" });
    expect(parseAgentRecord({ action: "dropped", agent: alice, what: "request", reason: "too_soon", count: 2 })).toMatchObject({
      what: "request",
      reason: "too_soon",
      count: 2,
    });
  });

  it("parses the spec's example record", () => {
    const json = JSON.parse('{"action":"granted","agent":{"id":"5f0c","name":"alice"},"kind":"control","request_id":"9a1e"}');
    expect(parseAgentRecord(json)).toEqual({ action: "granted", agent: { id: "5f0c", name: "alice" }, kind: "control", request_id: "9a1e" });
  });

  it("parses presence with its watchers list", () => {
    expect(parseAgentRecord({ action: "joined", agent: alice, watchers: [alice, bob] })).toEqual({
      action: "joined",
      agent: alice,
      watchers: [alice, bob],
    });
    expect(parseAgentRecord({ action: "left", agent: bob, reason: "lost", watchers: [alice] })).toEqual({
      action: "left",
      agent: bob,
      reason: "lost",
      watchers: [alice],
    });
  });

  it("parses busy with its holder, declined with its reason, dropped with its count", () => {
    expect(parseAgentRecord({ action: "busy", agent: alice, kind: "control", holder: bob })).toMatchObject({ holder: bob });
    expect(parseAgentRecord({ action: "declined", agent: alice, kind: "annotate", request_id: "r", reason: "timeout" })).toMatchObject({
      kind: "annotate",
      reason: "timeout",
    });
    expect(parseAgentRecord({ action: "dropped", agent: alice, what: "stroke", reason: "no_grant", count: 3 })).toMatchObject({
      what: "stroke",
      count: 3,
    });
    expect(parseAgentRecord({ action: "dropped", agent: alice, what: "answer", reason: "no_record", count: 1 })).toMatchObject({
      what: "answer",
      reason: "no_record",
    });
  });

  it("parses a recorded input, whose typed value is only a length", () => {
    expect(parseAgentRecord({ action: "control", agent: alice, tab: "t", input: { action: "input", id: 7, value: { chars: 5 } } })).toEqual({
      action: "control",
      agent: alice,
      tab: "t",
      input: { action: "input", id: 7, chars: 5 },
    });
    expect(parseRecordedInput({ action: "scroll", x: 0, y: 120 })).toEqual({ action: "scroll", id: null, x: 0, y: 120 });
    expect(parseRecordedInput({ action: "navigate", to: "url", url: "/checkout" })).toEqual({ action: "navigate", to: "url", url: "/checkout" });
  });

  it("parses a stroke record", () => {
    const stroke = { id: "s", tool: "rect", color: "#00ff00", points: [[1, 2], [3, 4]] };
    expect(parseAgentRecord({ action: "stroke", agent: alice, tab: "t", stroke })).toEqual({ action: "stroke", agent: alice, tab: "t", stroke });
  });

  it("drops bodies that lack what their action needs", () => {
    expect(parseAgentRecord({ action: "granted", agent: alice, kind: "control" })).toBeNull(); // no request_id
    expect(parseAgentRecord({ action: "granted", agent: alice, kind: "sing", request_id: "r" })).toBeNull();
    expect(parseAgentRecord({ action: "joined", agent: alice, watchers: [{ id: 1 }] })).toBeNull();
    expect(parseAgentRecord({ action: "requested", kind: "control", request_id: "r" })).toBeNull(); // no agent
    expect(parseAgentRecord({ action: "stroke", agent: alice, tab: "t", stroke: { id: "s", tool: "spray", color: "#000000", points: [] } })).toBeNull();
    expect(parseAgentRecord("granted")).toBeNull();
  });

  it("keeps an action it does not know, so a newer server's records still show", () => {
    expect(parseAgentRecord({ action: "waved", agent: alice })).toEqual({ action: "other", agent: alice, name: "waved" });
    expect(parseRecordedInput({ action: "pinch", scale: 2 })).toEqual({ action: "other", name: "pinch" });
  });
});
