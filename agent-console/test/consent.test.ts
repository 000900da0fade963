import { describe, expect, it } from "vitest";
import { parseAgentRecord, type AgentRecord } from "../src/agent-records";
import { ASK_ANSWER_MS, consentText, ConsentState, TOO_SOON_TEXT, watchersText } from "../src/consent";

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

describe("ConsentState: requests dropped as too soon", () => {
  const tooSoon = (count = 1, agent = alice) => record({ action: "dropped", agent, what: "request", reason: "too_soon", count });
  const declined = (kind = "call") => record({ action: "declined", agent: alice, kind, request_id: `r-a1-${kind}`, reason: "declined" });

  it("sends the agent back to the start of the kind it asked for, with a word about it", () => {
    const s = stateAfter(requested(alice, "call"), { action: "declined", agent: alice, kind: "call", request_id: "r", reason: "declined" });
    s.asked(alice.id, "call");
    s.observe(tooSoon());
    expect(s.of(alice.id, "call")).toMatchObject({ status: "none", reason: "too_soon" });
    for (const kind of ["control", "annotate", "record"] as const) {
      const t = new ConsentState();
      t.asked(alice.id, kind);
      t.observe(tooSoon());
      expect(t.of(alice.id, kind), kind).toMatchObject({ status: "none", reason: "too_soon" });
    }
    const c = new ConsentState();
    c.asked(alice.id, "control");
    c.observe(tooSoon());
    expect(consentText("control", c.of(alice.id, "control"))).toBe(TOO_SOON_TEXT);
    expect(consentText("annotate", { status: "none", reason: "too_soon", holder: null })).toBe(TOO_SOON_TEXT);
    // Asking again in time goes on as usual.
    c.asked(alice.id, "control");
    c.observe(record(requested()));
    expect(c.of(alice.id, "control").status).toBe("pending");
  });

  it("blames the oldest request still unanswered, and as many as the record counts", () => {
    const s = new ConsentState();
    s.asked(alice.id, "control");
    s.asked(alice.id, "call");
    s.observe(tooSoon());
    expect(s.of(alice.id, "control").reason).toBe("too_soon");
    expect(s.of(alice.id, "call")).toMatchObject({ status: "none", reason: null });
    s.observe(record(requested(alice, "call")));
    expect(s.of(alice.id, "call").status).toBe("pending");

    // A second drop within a second comes later, counted with others.
    const t = new ConsentState();
    t.asked(alice.id, "annotate");
    t.asked(alice.id, "call");
    t.asked(alice.id, "control");
    t.observe(record(requested(alice, "annotate")));
    t.observe(tooSoon(2));
    expect(t.of(alice.id, "annotate").status).toBe("pending");
    expect(t.of(alice.id, "call").reason).toBe("too_soon");
    expect(t.of(alice.id, "control").reason).toBe("too_soon");
  });

  it("leaves other agents, answered requests and other drops alone", () => {
    const s = new ConsentState();
    s.asked(alice.id, "call");
    s.observe(tooSoon(1, bob));
    expect(s.of(alice.id, "call").reason).toBeNull();
    expect(s.of(bob.id, "call").reason).toBeNull();
    s.observe(record(requested(alice, "call")));
    s.observe(declined());
    // The request was answered: a later drop (of a request sent elsewhere) is not it.
    s.observe(tooSoon());
    expect(s.of(alice.id, "call")).toMatchObject({ status: "declined", reason: "declined" });
    // A record request refused for want of a call grant says nothing about the call.
    const t = new ConsentState();
    t.asked(alice.id, "record");
    t.observe(record({ action: "dropped", agent: alice, what: "request", reason: "no_grant", count: 1 }));
    expect(t.of(alice.id, "record")).toMatchObject({ status: "none", reason: null });
  });

  it("does not count a request the server ignores, nor one never answered", () => {
    let now = 1_000;
    const s = new ConsentState(() => now);
    s.observe(record(requested(alice, "call")));
    s.asked(alice.id, "call"); // already pending: the server says nothing
    s.asked(alice.id, "control");
    now += ASK_ANSWER_MS + 1; // the page was away: no answer ever came
    s.asked(alice.id, "annotate");
    s.observe(tooSoon());
    expect(s.of(alice.id, "call").status).toBe("pending");
    expect(s.of(alice.id, "control").reason).toBeNull();
    expect(s.of(alice.id, "annotate").reason).toBe("too_soon");
  });
});

describe("watchersText", () => {
  it("names every agent, marks this one, counts a name twice connected", () => {
    expect(watchersText([alice, bob], null)).toBe("Watching now: alice, bob");
    expect(watchersText([alice, bob, { id: "b2", name: "bob" }], "a1")).toBe("Watching now: alice (you), bob ×2");
    expect(watchersText([], "a1")).toBe("");
  });
});
