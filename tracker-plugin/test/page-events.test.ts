// The site's callbacks about agents: who joins and leaves, control and calls starting and ending.
import { describe, expect, it } from "vitest";

import { PageEvents, watchingChanges } from "../src/page-events";
import type { Grant } from "../src/protocol";
import { alice, bob, setupSignals } from "./page";

/** PageEvents whose callbacks write what they were told into `log`, in order. */
function recorder() {
  const log: string[] = [];
  const name = (n?: string): string => n ?? "?";
  const events = new PageEvents({
    onAgentJoin: ({ agent, watching }) => log.push(`join ${name(agent.name)} ${watching}`),
    onAgentLeave: ({ agent, watching }) => log.push(`leave ${name(agent.name)} ${watching}`),
    onControlStart: ({ agent }) => log.push(`control+ ${agent.name}`),
    onControlEnd: ({ agent }) => log.push(`control- ${agent.name}`),
    onCallStart: ({ agent, video }) => log.push(`call+ ${agent.name} ${video}`),
    onCallEnd: ({ agent }) => log.push(`call- ${agent.name}`),
  });
  return { log, events };
}

describe("agents joining and leaving", () => {
  it("names them when the server lists the watchers, one callback per agent", () => {
    const { log, events } = recorder();
    events.watchingChanged({ agents: 2, watchers: [{ name: "Alice" }, { name: "Bob" }] });
    events.watchingChanged({ agents: 2, watchers: [{ name: "Bob" }, { name: "Carol" }] });
    events.watchingChanged({ agents: 0, watchers: [] });
    expect(log).toEqual(["join Alice 2", "join Bob 2", "leave Alice 2", "join Carol 2", "leave Bob 0", "leave Carol 0"]);
  });

  it("tells joins and leaves by the count when the server gives no names", () => {
    const { log, events } = recorder();
    events.watchingChanged({ agents: 1 });
    events.watchingChanged({ agents: 3 });
    events.watchingChanged({ agents: 2 });
    expect(log).toEqual(["join ? 1", "join ? 3", "join ? 3", "leave ? 2"]);
    expect(watchingChanges({ agents: 2, watchers: [{ name: "A" }, { name: "A" }] }, { agents: 1, watchers: [{ name: "A" }] })).toEqual({
      joined: [],
      left: [{ name: "A" }],
    });
  });
});

describe("control and calls starting and ending", () => {
  const control = (agent = alice): Grant => ({ kind: "control", agent });
  const call = (agent = alice, video = false): Grant => ({ kind: "call", agent, video });

  it("fires once per grant that starts or ends, ends before starts, and ends what is on when the tracker stops", () => {
    const { log, events } = recorder();
    events.grantsChanged([control()]);
    events.grantsChanged([control(), call(alice, true)]);
    events.grantsChanged([control(), call(alice, true)]);
    events.grantsChanged([control(bob), call(alice, true), call(bob)]);
    events.stopped();
    expect(log).toEqual([
      "control+ Alice",
      "call+ Alice true",
      "control- Alice",
      "control+ Bob",
      "call+ Bob false",
      "control- Bob",
      "call- Alice",
      "call- Bob",
    ]);
  });

  it("keeps calling the others when one callback throws", () => {
    const seen: string[] = [];
    const events = new PageEvents({
      onControlStart: () => {
        throw new Error("site bug");
      },
      onCallStart: ({ agent }) => seen.push(agent.name),
    });
    events.grantsChanged([control(), call()]);
    expect(seen).toEqual(["Alice"]);
  });

  it("hears of the grants the page holds: the server's list, and a Stop the user pressed", () => {
    const { log, events } = recorder();
    const t = setupSignals({
      onGrants: (grants) => events.grantsChanged(grants),
      onWatching: (watching) => events.watchingChanged(watching),
    });
    t.receive({ type: "watching", agents: 1, watchers: [{ name: "Alice" }] });
    t.grant(control());
    (document.querySelector("cobrowse-ui")!.shadowRoot!.querySelector('[data-cobrowse="grant-stop"]') as HTMLElement).click();
    expect(log).toEqual(["join Alice 1", "control+ Alice", "control- Alice"]);
    t.signals.stop();
  });
});
