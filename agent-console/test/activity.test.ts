import { describe, expect, it } from "vitest";
import { ActivityLog, describeRecord } from "../src/activity";
import { parseAgentRecord, type AgentRecord } from "../src/agent-records";

const alice = { id: "a1", name: "alice" };
const bob = { id: "b1", name: "bob" };
const mallory = { id: "m1", name: "mallory" };

function record(json: Record<string, unknown>): AgentRecord {
  const r = parseAgentRecord(json);
  if (r === null) throw new Error(`not a record: ${JSON.stringify(json)}`);
  return r;
}

const text = (json: Record<string, unknown>) => describeRecord(record(json));
const control = (input: Record<string, unknown>, agent = alice) => ({ action: "control", agent, tab: "t", input });

describe("describeRecord", () => {
  it("says who asked, what the user answered, and how it ended", () => {
    expect(text({ action: "requested", agent: alice, kind: "control", request_id: "r" })).toBe("alice asked to control the page");
    expect(text({ action: "requested", agent: alice, kind: "annotate", request_id: "r" })).toBe("alice asked to draw on the page");
    expect(text({ action: "granted", agent: alice, kind: "control", request_id: "r" })).toBe("the user granted control to alice");
    expect(text({ action: "granted", agent: alice, kind: "annotate", request_id: "r" })).toBe("the user let alice draw");
    expect(text({ action: "declined", agent: alice, kind: "control", request_id: "r", reason: "declined" })).toBe(
      "the user declined alice's request to control the page",
    );
    expect(text({ action: "declined", agent: alice, kind: "control", request_id: "r", reason: "timeout" })).toBe(
      "alice's request to control the page timed out",
    );
    expect(text({ action: "busy", agent: alice, kind: "control", holder: bob })).toBe("alice asked to control the page, but bob is in control");
    expect(text({ action: "revoked", agent: alice, kind: "control" })).toBe("the user stopped alice's control");
    expect(text({ action: "released", agent: alice, kind: "annotate" })).toBe("alice stopped drawing");
    expect(text({ action: "ended", agent: alice, kind: "control", reason: "agent_left" })).toBe("alice's control ended: alice left");
    expect(text({ action: "joined", agent: bob, watchers: [bob] })).toBe("bob started watching");
    expect(text({ action: "left", agent: bob, reason: "lost", watchers: [] })).toBe("bob stopped watching (connection lost)");
  });

  it("says what an agent did on the page", () => {
    expect(text(control({ action: "click", id: 4, x: 1, y: 2 }))).toBe("alice clicked");
    expect(text(control({ action: "dblclick", id: 4, x: 1, y: 2 }))).toBe("alice double-clicked");
    expect(text(control({ action: "input", id: 4, value: { chars: 5 } }))).toBe("alice typed 5 characters");
    expect(text(control({ action: "key", key: "Enter" }))).toBe("alice pressed Enter");
    expect(text(control({ action: "select", id: 4, value: "gold" }))).toBe('alice chose "gold" in a list');
    expect(text(control({ action: "navigate", to: "url", url: "https://shop.example/cart" }))).toBe("alice opened https://shop.example/cart");
    expect(text(control({ action: "navigate", to: "reload" }))).toBe("alice reloaded the page");
    expect(text({ action: "stroke", agent: alice, tab: "t", stroke: { id: "s", tool: "arrow", color: "#ff0000", points: [[0, 0], [9, 9]] } })).toBe(
      "alice drew an arrow",
    );
    expect(text({ action: "refused", agent: alice, tab: "t", input: "click", reason: "target gone" })).toBe(
      "the page could not perform alice's click: target gone",
    );
  });

  it("says what the server refused an agent by its role", () => {
    expect(text({ action: "forbidden", agent: mallory, what: "request control", role: "viewer", needs: "helper" })).toBe(
      "the server refused to let mallory (a viewer) request control: that takes the helper role",
    );
    expect(parseAgentRecord({ action: "forbidden", agent: mallory, what: "request control" })).toBeNull();
  });

  it("says who joined with the user's help code", () => {
    expect(text({ action: "code", agent: alice, tab: "t1" })).toBe("alice joined with the user's help code");
    expect(parseAgentRecord({ action: "code", agent: alice })).toBeNull();
  });

  it("says how much input the server dropped and why", () => {
    expect(text({ action: "dropped", agent: mallory, what: "control", reason: "no_grant", count: 3 })).toBe("dropped 3 inputs from mallory: no grant");
    expect(text({ action: "dropped", agent: mallory, what: "answer", reason: "no_record", count: 1 })).toBe(
      "dropped 1 accepted request from mallory: it could not be recorded",
    );
    expect(text({ action: "dropped", agent: mallory, what: "control", reason: "other_origin", count: 1 })).toBe(
      "dropped 1 input from mallory: it would leave the page's site",
    );
  });
});

describe("ActivityLog", () => {
  it("keeps one line per record, with its time and action", () => {
    const log = new ActivityLog();
    log.add(1000, record({ action: "requested", agent: alice, kind: "control", request_id: "r" }));
    log.add(2000, record({ action: "granted", agent: alice, kind: "control", request_id: "r" }));
    expect(log.entries.map((e) => [e.ts, e.action, e.text])).toEqual([
      [1000, "requested", "alice asked to control the page"],
      [2000, "granted", "the user granted control to alice"],
    ]);
  });

  it("merges a run of typed characters into one growing line", () => {
    const log = new ActivityLog();
    for (const key of ["h", "e", "l", "l", "o"]) log.add(1000, record(control({ action: "key", key })));
    log.add(1100, record(control({ action: "key", key: "Enter" })));
    log.add(1200, record(control({ action: "key", key: "x" })));
    expect(log.entries.map((e) => e.text)).toEqual(["alice typed 5 characters", "alice pressed Enter", "alice typed 1 character"]);
  });

  it("merges pointer moves, but not across agents or other actions", () => {
    const log = new ActivityLog();
    log.add(1, record(control({ action: "move", x: 1, y: 1 })));
    log.add(2, record(control({ action: "move", x: 2, y: 2 })));
    log.add(3, record(control({ action: "move", x: 2, y: 2 }, bob)));
    log.add(4, record(control({ action: "click", id: 1, x: 2, y: 2 })));
    log.add(5, record(control({ action: "move", x: 3, y: 3 })));
    expect(log.entries.map((e) => [e.text, e.count])).toEqual([
      ["alice moved the pointer", 2],
      ["bob moved the pointer", 1],
      ["alice clicked", 1],
      ["alice moved the pointer", 1],
    ]);
  });

  it("adds up dropped counts from consecutive records", () => {
    const log = new ActivityLog();
    log.add(1, record({ action: "dropped", agent: mallory, what: "control", reason: "no_grant", count: 3 }));
    log.add(2, record({ action: "dropped", agent: mallory, what: "control", reason: "no_grant", count: 1 }));
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]!.text).toBe("dropped 4 inputs from mallory: no grant");
  });

  it("names an unknown action as the server wrote it", () => {
    const log = new ActivityLog();
    log.add(1, record({ action: "waved", agent: alice }));
    expect(log.entries[0]).toMatchObject({ action: "waved", text: "alice: waved" });
  });
});
