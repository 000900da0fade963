/**
 * The site's callbacks about what agents do (`start({ onAgentJoin, … })`): who started or
 * stopped watching, and when a controlling agent or a call starts and ends. Pure bookkeeping:
 * the tracker hands in each `watching` message and each change of the grants in force, and this
 * calls the site's callbacks with what changed, in order. A callback that throws is logged and
 * does not stop the others (nor the tracker).
 */

import { log } from "./log";
import type { Grant, GrantKind } from "./protocol";

/** An agent as the site's callbacks see it. */
export interface AgentInfo {
  /** The agent's name, when the server says it (`watchers` in `watching`; every grant names it). */
  name?: string;
}

/** What `onAgentJoin` / `onAgentLeave` receive. */
export interface WatchingChange {
  agent: AgentInfo;
  /** How many agents watch now. */
  watching: number;
}

/** What `onControlStart/End` and `onCallStart/End` receive. */
export interface GrantChange {
  /** The agent: `id` is the connection's, stable while they stay. */
  agent: { id: string; name: string };
  /** For a call: whether it is a video call. */
  video?: boolean;
}

export interface PageCallbacks {
  /** An agent started watching the session (once per agent). */
  onAgentJoin?: (change: WatchingChange) => void;
  /** An agent stopped watching. */
  onAgentLeave?: (change: WatchingChange) => void;
  /** The user let an agent control the page (the grant is in force). */
  onControlStart?: (change: GrantChange) => void;
  /** That control ended (the user stopped it, the agent released it or left). */
  onControlEnd?: (change: GrantChange) => void;
  /** An agent is in a call with the user (once per agent). */
  onCallStart?: (change: GrantChange) => void;
  /** That agent left the call (hung up, either side). */
  onCallEnd?: (change: GrantChange) => void;
}

/** The `watching` message, with the optional list of names a newer server sends. */
export interface Watching {
  agents: number;
  watchers?: { name: string }[] | null;
}

/**
 * Who joined and who left between two `watching` messages: by name when both name the watchers,
 * else by count (the names unknown).
 */
export function watchingChanges(before: Watching, after: Watching): { joined: AgentInfo[]; left: AgentInfo[] } {
  if (Array.isArray(before.watchers) && Array.isArray(after.watchers)) {
    const left = before.watchers.map((w) => w.name);
    const joined: AgentInfo[] = [];
    for (const { name } of after.watchers) {
      const at = left.indexOf(name);
      if (at === -1) joined.push({ name });
      else left.splice(at, 1);
    }
    return { joined, left: left.map((name) => ({ name })) };
  }
  const delta = after.agents - before.agents;
  const unnamed = (n: number): AgentInfo[] => Array.from({ length: Math.max(0, n) }, () => ({}));
  return { joined: unnamed(delta), left: unnamed(-delta) };
}

/** The grants of `kinds` that `after` has and `before` had not (by kind and agent id). */
function added(before: Grant[], after: Grant[], kind: GrantKind): Grant[] {
  const had = new Set(before.filter((g) => g.kind === kind).map((g) => g.agent.id));
  return after.filter((g) => g.kind === kind && !had.has(g.agent.id));
}

export class PageEvents {
  private readonly callbacks: PageCallbacks;
  private watching: Watching = { agents: 0, watchers: [] };
  private grants: Grant[] = [];

  constructor(callbacks: PageCallbacks) {
    this.callbacks = callbacks;
  }

  /** A `watching` message arrived. */
  watchingChanged(message: Watching): void {
    const { joined, left } = watchingChanges(this.watching, message);
    this.watching = message;
    const watching = message.agents;
    for (const agent of left) this.call("onAgentLeave", { agent, watching });
    for (const agent of joined) this.call("onAgentJoin", { agent, watching });
  }

  /** The grants in force changed (the server's list, or the user stopped one). */
  grantsChanged(grants: Grant[]): void {
    const before = this.grants;
    this.grants = [...grants];
    for (const g of added(grants, before, "control")) this.call("onControlEnd", change(g));
    for (const g of added(grants, before, "call")) this.call("onCallEnd", change(g));
    for (const g of added(before, grants, "control")) this.call("onControlStart", change(g));
    for (const g of added(before, grants, "call")) this.call("onCallStart", change(g));
  }

  /** The tracker stopped: what is still on ends for the site too. */
  stopped(): void {
    this.grantsChanged([]);
  }

  private call<K extends keyof PageCallbacks>(name: K, value: Parameters<NonNullable<PageCallbacks[K]>>[0]): void {
    const callback = this.callbacks[name] as ((value: unknown) => void) | undefined;
    if (typeof callback !== "function") return;
    try {
      callback(value);
    } catch (error) {
      log.error(`${name} threw`, error);
    }
  }
}

function change(grant: Grant): GrantChange {
  const out: GrantChange = { agent: { id: grant.agent.id, name: grant.agent.name } };
  if (grant.kind === "call") out.video = grant.video === true;
  return out;
}
