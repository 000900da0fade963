// Who is watching a session and what each agent may do to the page (control, drawing) or with
// the user (a call, a recording of it), derived from the `agent` records in stream order
// (docs/protocol.md §9.5, §10). The server decides; this only follows what it
// recorded, so every agent's console agrees with the page. Pure: records in, state out.
//
// Grants belong to an agent *connection* (its `joined` id): an agent that reconnects gets a new
// id and starts with nothing, which is also what the server does (its grants ended with the old
// connection).

import type { AgentRecord } from "./agent-records";
import type { AgentRef, GrantKind, PageGrantKind } from "./protocol";

export type ConsentStatus = "none" | "pending" | "granted" | "declined" | "busy";

/** Why the status is what it is, when that is worth telling the agent. */
export type ConsentReason =
  /** The user said no. */
  | "declined"
  /** Nobody answered the prompt in time. */
  | "timeout"
  /** Someone else holds control (`holder`). */
  | "busy"
  /** The user stopped the grant. */
  | "revoked"
  /** The grant ended with the agent's connection. */
  | "agent_left"
  /** The server dropped this agent's input for lack of a grant: it no longer honours one. */
  | "dropped"
  /** The session ended, and the grant with it. */
  | "session_ended"
  /** The user's page moved to another server, which starts with no grants. */
  | "moved"
  /** A recording stopped because the last call grant ended. */
  | "call_ended";

export interface KindState {
  status: ConsentStatus;
  reason: ConsentReason | null;
  /** Who holds control, for `busy`. */
  holder: AgentRef | null;
}

export const GRANT_KINDS: readonly GrantKind[] = ["control", "annotate", "call", "record"];

const NONE: KindState = { status: "none", reason: null, holder: null };

type AgentGrants = Record<GrantKind, KindState>;

export class ConsentState {
  private readonly agents = new Map<string, AgentGrants>();
  private watching: AgentRef[] = [];
  /** Every agent's name, from any record that named it. */
  private readonly names = new Map<string, string>();
  /** Whether each agent's latest `call` request was for a video call. */
  private readonly callVideo = new Map<string, boolean>();
  private recordingId: string | null = null;

  private grantsOf(agentId: string): AgentGrants {
    let g = this.agents.get(agentId);
    if (!g) this.agents.set(agentId, (g = { control: NONE, annotate: NONE, call: NONE, record: NONE }));
    return g;
  }

  private set(agentId: string, kind: GrantKind, status: ConsentStatus, reason: ConsentReason | null = null, holder: AgentRef | null = null): void {
    this.grantsOf(agentId)[kind] = { status, reason, holder };
  }

  /** Takes the next `agent` record of the stream. */
  observe(record: AgentRecord): void {
    const id = record.agent.id;
    this.names.set(id, record.agent.name);
    if (record.action === "busy") this.names.set(record.holder.id, record.holder.name);
    switch (record.action) {
      case "joined":
      case "left":
        this.watching = record.watchers;
        if (record.action === "left") {
          // Whatever it had ended with it; the server writes `ended`/`withdrawn` too.
          for (const kind of GRANT_KINDS) {
            const s = this.grantsOf(id)[kind];
            if (s.status === "granted" || s.status === "pending") this.set(id, kind, "none", "agent_left");
          }
        }
        break;
      case "requested":
        this.set(id, record.kind, "pending");
        if (record.kind === "call") this.callVideo.set(id, record.video);
        break;
      case "granted":
        this.set(id, record.kind, "granted");
        break;
      case "declined":
        this.set(id, record.kind, "declined", record.reason === "timeout" ? "timeout" : "declined");
        break;
      case "busy":
        this.set(id, record.kind, "busy", "busy", record.holder);
        break;
      case "withdrawn":
      case "released":
        this.set(id, record.kind, "none");
        break;
      case "revoked":
        this.set(id, record.kind, "none", "revoked");
        break;
      case "ended":
        this.set(id, record.kind, "none", endReason(record.reason));
        break;
      case "recording":
        this.recordingId = record.state === "started" ? record.recording : null;
        break;
      case "dropped": {
        // `no_page` drops (the page was between two loads) leave the grant as it was; dropped
        // requests (`too_soon`) say nothing about a grant.
        if (record.reason !== "no_grant" || record.what === "request") break;
        const kind: GrantKind = record.what === "control" ? "control" : "annotate";
        if (this.grantsOf(id)[kind].status === "granted") this.set(id, kind, "none", "dropped");
        break;
      }
      default:
        break;
    }
  }

  /** The session's `end` record: every grant and pending request is over. */
  sessionEnded(): void {
    this.recordingId = null;
    for (const [id, grants] of this.agents) {
      for (const kind of GRANT_KINDS) {
        const s = grants[kind].status;
        if (s === "granted" || s === "pending") this.set(id, kind, "none", "session_ended");
      }
    }
  }

  /** `agentId`'s state for `kind`; `none` for an agent not joined yet (`null`). */
  of(agentId: string | null, kind: GrantKind): KindState {
    return agentId === null ? NONE : (this.agents.get(agentId)?.[kind] ?? NONE);
  }

  /** The agent that holds control now, if any (only one can). */
  get controlHolder(): AgentRef | null {
    for (const [id, grants] of this.agents) {
      if (grants.control.status === "granted") return { id, name: this.names.get(id) ?? "another agent" };
    }
    return null;
  }

  /** The agents that hold a `kind` grant now, in the order they were first seen. */
  holders(kind: GrantKind): AgentRef[] {
    const out: AgentRef[] = [];
    for (const [id, grants] of this.agents) {
      if (grants[kind].status === "granted") out.push({ id, name: this.names.get(id) ?? "another agent" });
    }
    return out;
  }

  /** Whether `agentId`'s latest call request was for a video call. */
  wantsVideo(agentId: string): boolean {
    return this.callVideo.get(agentId) ?? false;
  }

  /** The id of the recording running now, from the latest `recording` record (null: none). */
  get recording(): string | null {
    return this.recordingId;
  }

  /** The agents watching the session now, as the latest `joined`/`left` record listed them. */
  get watchers(): readonly AgentRef[] {
    return this.watching;
  }
}

/**
 * What the state line of `kind` says to the agent itself: "Waiting for the user…",
 * "You control the page", "bob is in control", … `holder` is whoever holds control now, so an
 * agent without it knows before asking.
 */
export function consentText(kind: PageGrantKind, state: KindState, holder: AgentRef | null = null): string {
  const what = kind === "control" ? "control" : "drawing";
  switch (state.status) {
    case "pending":
      return "Waiting for the user…";
    case "granted":
      return kind === "control" ? "You control the page" : "You can draw on the page";
    case "declined":
      return state.reason === "timeout" ? "The user did not answer (timed out)" : "The user declined";
    case "busy":
      return `${state.holder?.name ?? "Another agent"} is in control`;
    case "none":
      switch (state.reason) {
        case "revoked":
          return `The user stopped the ${what}`;
        case "agent_left":
          return `The ${what} ended with your connection; ask again`;
        case "dropped":
          return `The page no longer accepts your ${kind === "control" ? "input" : "drawing"}; ask again`;
        case "session_ended":
          return "The session ended";
        case "moved":
          return `The user's page reconnected elsewhere; ask again for the ${what}`;
        default:
          if (kind === "control" && holder !== null) return `${holder.name} is in control`;
          return kind === "control" ? "You do not control the page" : "Not drawing";
      }
  }
}

/** What ended a grant, from an `ended` record's reason. */
function endReason(reason: string): ConsentReason {
  if (reason === "session_ended" || reason === "moved" || reason === "call_ended") return reason;
  return "agent_left";
}

/** "Watching now: alice (you), bob ×2" for the session header; "" when nobody is listed. */
export function watchersText(watchers: readonly AgentRef[], selfId: string | null): string {
  if (watchers.length === 0) return "";
  const counts = new Map<string, { n: number; self: boolean }>();
  for (const w of watchers) {
    const c = counts.get(w.name) ?? { n: 0, self: false };
    c.n += 1;
    c.self ||= w.id === selfId;
    counts.set(w.name, c);
  }
  const names = [...counts].map(([name, c]) => `${name}${c.self ? " (you)" : ""}${c.n > 1 ? ` ×${c.n}` : ""}`);
  return `Watching now: ${names.join(", ")}`;
}
