import { describe, expect, it } from "vitest";
import { parseAgentRecord, type AgentRecord } from "../src/agent-records";
import { consentText, ConsentState, watchersText } from "../src/consent";

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

const requested = (agent = alice, kind = "control") => ({ action: "requested", agent, kind, request_id: `r-${agent.id}-${kind}` });
const granted = (agent = alice, kind = "control") => ({ action: "granted", agent, kind, request_id: `r-${agent.id}-${kind}` });

describe("ConsentState", () => {
  it("goes none → pending → granted for the agent that asked", () => {
    const state = new ConsentState();
    expect(state.of(alice.id, "control").status).toBe("none");
    state.observe(record(requested()));
    expect(state.of(alice.id, "control").status).toBe("pending");
    expect(consentText("control", state.of(alice.id, "control"))).toBe("Waiting for the user…");
    state.observe(record(granted()));
    expect(state.of(alice.id, "control").status).toBe("granted");
    expect(consentText("control", state.of(alice.id, "control"))).toBe("You control the page");
    // The other kind and the other agents are untouched.
    expect(state.of(alice.id, "annotate").status).toBe("none");
    expect(state.of(bob.id, "control").status).toBe("none");
  });

  it("shows a declined request as declined", () => {
    const s = stateAfter(requested(), { action: "declined", agent: alice, kind: "control", request_id: "r", reason: "declined" });
    expect(s.of(alice.id, "control")).toMatchObject({ status: "declined", reason: "declined" });
    expect(consentText("control", s.of(alice.id, "control"))).toBe("The user declined");
  });

  it("shows an unanswered request as timed out", () => {
    const s = stateAfter(requested(alice, "annotate"), { action: "declined", agent: alice, kind: "annotate", request_id: "r", reason: "timeout" });
    expect(s.of(alice.id, "annotate")).toMatchObject({ status: "declined", reason: "timeout" });
    expect(consentText("annotate", s.of(alice.id, "annotate"))).toBe("The user did not answer (timed out)");
  });

  it("shows busy with who holds control", () => {
    const s = stateAfter(requested(bob), granted(bob), { action: "busy", agent: alice, kind: "control", holder: bob });
    expect(s.of(alice.id, "control")).toMatchObject({ status: "busy", holder: bob });
    expect(consentText("control", s.of(alice.id, "control"))).toBe("bob is in control");
    expect(s.controlHolder).toEqual(expect.objectContaining({ id: bob.id }));
    // An agent that has not asked yet is told too.
    expect(consentText("control", s.of("c1", "control"), s.controlHolder)).toBe("bob is in control");
  });

  it("ends a grant the user revoked, saying so", () => {
    const s = stateAfter(requested(), granted(), { action: "revoked", agent: alice, kind: "control" });
    expect(s.of(alice.id, "control")).toMatchObject({ status: "none", reason: "revoked" });
    expect(consentText("control", s.of(alice.id, "control"))).toBe("The user stopped the control");
    expect(s.controlHolder).toBeNull();
  });

  it("ends a grant the agent released, and a request it withdrew", () => {
    const released = stateAfter(requested(), granted(), { action: "released", agent: alice, kind: "control" });
    expect(released.of(alice.id, "control")).toMatchObject({ status: "none", reason: null });
    const withdrawn = stateAfter(requested(), { action: "withdrawn", agent: alice, kind: "control", request_id: "r" });
    expect(withdrawn.of(alice.id, "control").status).toBe("none");
  });

  it("ends a grant with the agent's connection", () => {
    const s = stateAfter(requested(alice, "annotate"), granted(alice, "annotate"), {
      action: "ended",
      agent: alice,
      kind: "annotate",
      reason: "agent_left",
    });
    expect(s.of(alice.id, "annotate")).toMatchObject({ status: "none", reason: "agent_left" });
  });

  it("treats a dropped record as the grant being gone", () => {
    const s = stateAfter(requested(), granted(), { action: "dropped", agent: alice, what: "control", reason: "no_grant", count: 2 });
    expect(s.of(alice.id, "control")).toMatchObject({ status: "none", reason: "dropped" });
    // Dropped strokes concern drawing, not control.
    const t = stateAfter(requested(), granted(), { action: "dropped", agent: alice, what: "stroke", reason: "no_grant", count: 1 });
    expect(t.of(alice.id, "control").status).toBe("granted");
  });

  it("says why a grant ended: the session, or the page moving to another server", () => {
    const s = stateAfter(requested(), granted(), { action: "ended", agent: alice, kind: "control", reason: "moved" });
    expect(s.of(alice.id, "control")).toMatchObject({ status: "none", reason: "moved" });
    const t = stateAfter(requested(), granted(), { action: "ended", agent: alice, kind: "control", reason: "session_ended" });
    expect(t.of(alice.id, "control")).toMatchObject({ status: "none", reason: "session_ended" });
  });

  it("keeps the grant when input was dropped only because the page was loading", () => {
    const s = stateAfter(requested(), granted(), { action: "dropped", agent: alice, what: "control", reason: "no_page", count: 1 });
    expect(s.of(alice.id, "control").status).toBe("granted");
  });

  it("gives a reconnected agent (new id) nothing from its old connection", () => {
    const s = stateAfter(requested(), granted());
    expect(s.of("a2", "control").status).toBe("none");
    expect(s.of(null, "control").status).toBe("none");
  });

  it("lists the watchers of the latest joined/left record", () => {
    const s = stateAfter({ action: "joined", agent: alice, watchers: [alice] }, { action: "joined", agent: bob, watchers: [alice, bob] });
    expect(s.watchers).toEqual([alice, bob]);
    s.observe(record({ action: "left", agent: alice, reason: "closed", watchers: [bob] }));
    expect(s.watchers).toEqual([bob]);
  });

  it("ends everything when the session ends", () => {
    const s = stateAfter(requested(), granted(), requested(bob, "annotate"));
    s.sessionEnded();
    expect(s.of(alice.id, "control")).toMatchObject({ status: "none", reason: "session_ended" });
    expect(s.of(bob.id, "annotate").status).toBe("none");
  });
});

describe("watchersText", () => {
  it("names every agent, marks this one, counts a name twice connected", () => {
    expect(watchersText([alice, bob], null)).toBe("Watching now: alice, bob");
    expect(watchersText([alice, bob, { id: "b2", name: "bob" }], "a1")).toBe("Watching now: alice (you), bob ×2");
    expect(watchersText([], "a1")).toBe("");
  });
});
