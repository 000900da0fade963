import { describe, expect, it } from "vitest";
import { describeRecord } from "../src/activity";
import { parseAgentRecord, type AgentRecord } from "../src/agent-records";
import { ConsentState } from "../src/consent";

const alice = { id: "a1", name: "alice" };
const bob = { id: "b1", name: "bob" };

function record(json: Record<string, unknown>): AgentRecord {
  const r = parseAgentRecord(json);
  if (r === null) throw new Error(`not a record: ${JSON.stringify(json)}`);
  return r;
}

function stateAfter(...records: Array<Record<string, unknown>>): ConsentState {
  const state = new ConsentState();
  for (const r of records) state.observe(record(r));
  return state;
}

const requested = (agent: typeof alice, kind: string, video?: boolean) => ({
  action: "requested",
  agent,
  kind,
  request_id: `r-${agent.id}-${kind}`,
  ...(video === undefined ? {} : { video }),
});
const granted = (agent: typeof alice, kind: string) => ({ action: "granted", agent, kind, request_id: `r-${agent.id}-${kind}` });

describe("call and record records (protocol.md §10.5)", () => {
  it("parses call and record grants, a call request's video, and recording", () => {
    expect(parseAgentRecord(requested(alice, "call", true))).toEqual({
      action: "requested",
      agent: alice,
      kind: "call",
      request_id: "r-a1-call",
      video: true,
    });
    expect(parseAgentRecord(requested(alice, "call"))).toMatchObject({ kind: "call", video: false });
    expect(parseAgentRecord(granted(alice, "record"))).toMatchObject({ action: "granted", kind: "record" });
    expect(parseAgentRecord({ action: "ended", agent: alice, kind: "record", reason: "call_ended" })).toMatchObject({
      kind: "record",
      reason: "call_ended",
    });
    expect(parseAgentRecord({ action: "recording", agent: alice, recording: "rec-1", state: "started" })).toEqual({
      action: "recording",
      agent: alice,
      recording: "rec-1",
      state: "started",
    });
    expect(parseAgentRecord({ action: "recording", agent: alice, recording: "rec-1", state: "paused" })).toBeNull();
    expect(parseAgentRecord({ action: "granted", agent: alice, kind: "screen", request_id: "r" })).toBeNull();
  });

  it("knows who is in the call and who records it", () => {
    const s = stateAfter(requested(alice, "call", true), granted(alice, "call"), requested(bob, "call"), granted(bob, "call"));
    expect(s.holders("call")).toEqual([alice, bob]);
    expect(s.wantsVideo(alice.id)).toBe(true);
    expect(s.wantsVideo(bob.id)).toBe(false);
    expect(s.holders("record")).toEqual([]);
    s.observe(record(requested(alice, "record")));
    s.observe(record(granted(alice, "record")));
    s.observe(record({ action: "recording", agent: alice, recording: "rec-1", state: "started" }));
    expect(s.holders("record")).toEqual([alice]);
    expect(s.recording).toBe("rec-1");
    // The page's hangup ends every call and record grant (recorded as revoked).
    for (const r of [
      { action: "revoked", agent: alice, kind: "record" },
      { action: "revoked", agent: alice, kind: "call" },
      { action: "revoked", agent: bob, kind: "call" },
      { action: "recording", agent: alice, recording: "rec-1", state: "stopped" },
    ]) {
      s.observe(record(r));
    }
    expect(s.holders("call")).toEqual([]);
    expect(s.holders("record")).toEqual([]);
    expect(s.recording).toBeNull();
    expect(s.of(alice.id, "call")).toMatchObject({ status: "none", reason: "revoked" });
  });

  it("ends a recording with the call, and call grants with the agent", () => {
    const s = stateAfter(
      granted(alice, "call"),
      granted(alice, "record"),
      { action: "ended", agent: alice, kind: "record", reason: "call_ended" },
    );
    expect(s.of(alice.id, "record")).toMatchObject({ status: "none", reason: "call_ended" });
    s.observe(record({ action: "left", agent: alice, reason: "closed", watchers: [] }));
    expect(s.of(alice.id, "call")).toMatchObject({ status: "none", reason: "agent_left" });
  });

  it("keeps control and call apart", () => {
    const s = stateAfter(granted(alice, "call"), { action: "dropped", agent: alice, what: "control", reason: "no_grant", count: 1 });
    expect(s.of(alice.id, "call").status).toBe("granted");
    expect(s.controlHolder).toBeNull();
  });

  it("says what happened in the activity trail", () => {
    const text = (json: Record<string, unknown>) => describeRecord(record(json));
    expect(text(requested(alice, "call", true))).toBe("alice asked for a video call");
    expect(text(requested(alice, "call"))).toBe("alice asked for a call");
    expect(text(requested(alice, "record"))).toBe("alice asked to record the call");
    expect(text(granted(alice, "call"))).toBe("the user accepted alice's call");
    expect(text(granted(alice, "record"))).toBe("the user let alice record the call");
    expect(text({ action: "released", agent: alice, kind: "call" })).toBe("alice hung up");
    expect(text({ action: "revoked", agent: alice, kind: "call" })).toBe("the user ended alice's call");
    expect(text({ action: "ended", agent: alice, kind: "record", reason: "call_ended" })).toBe("alice's recording ended: the call ended");
    expect(text({ action: "recording", agent: alice, recording: "r", state: "started" })).toBe("the call is being recorded");
  });
});
