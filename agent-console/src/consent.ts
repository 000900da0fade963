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
  | "call_ended"
  /**
   * The server dropped this agent's request: it asked again less than 3 s after its last prompt
   * of that kind, or less than 10 s (doubling with each further no) after one the user declined
   * (protocol.md §9.5). Back to the start, with a word about it.
   */
  | "too_soon";

export interface KindState {
  status: ConsentStatus;
  reason: ConsentReason | null;
  /** Who holds control, for `busy`. */
  holder: AgentRef | null;
}

export const GRANT_KINDS: readonly GrantKind[] = ["control", "annotate", "call", "record"];

const NONE: KindState = { status: "none", reason: null, holder: null };

/** What the agent reads after the server dropped its request as `too_soon`. */
export const TOO_SOON_TEXT = "Asked too soon; try again in a few seconds";

/**
 * How long a request this console sent waits for its answer (`requested`, `busy`, or a `dropped`
 * request) before it is forgotten, ms. The server answers within moments; one that never comes
 * (the page was gone, the request was ignored) must not take the blame for a later drop.
 */
export const ASK_ANSWER_MS = 10_000;

type AgentGrants = Record<GrantKind, KindState>;

export class ConsentState {
  private readonly agents = new Map<string, AgentGrants>();
  private watching: AgentRef[] = [];
  /** Every agent's name, from any record that named it. */
  private readonly names = new Map<string, string>();
  /** Whether each agent's latest `call` request was for a video call. */
  private readonly callVideo = new Map<string, boolean>();
  private recordingId: string | null = null;
  /**
   * Each agent's requests sent from this console and not answered yet, oldest first: a `dropped`
   * request record does not say which kind it dropped, so it is matched with the oldest one here
   * (the server handles an agent's signals in order).
   */
  private readonly asking = new Map<string, Array<{ kind: GrantKind; at: number }>>();

  /** `now`: the clock for `ASK_ANSWER_MS` (ms). */
  constructor(private readonly now: () => number = Date.now) {}

  private grantsOf(agentId: string): AgentGrants {
    let g = this.agents.get(agentId);
    if (!g) this.agents.set(agentId, (g = { control: NONE, annotate: NONE, call: NONE, record: NONE, view: NONE }));
    return g;
  }

  private set(agentId: string, kind: GrantKind, status: ConsentStatus, reason: ConsentReason | null = null, holder: AgentRef | null = null): void {
    this.grantsOf(agentId)[kind] = { status, reason, holder };
  }

  /**
   * This console sent `request {kind}` as `agentId`. A request of a kind the agent already
   * holds or waits for is ignored by the server (no record answers it), so it is not counted.
   */
  asked(agentId: string, kind: GrantKind): void {
    const status = this.of(agentId, kind).status;
    if (status === "pending" || status === "granted") return;
    const queue = this.unanswered(agentId).filter((a) => a.kind !== kind);
    queue.push({ kind, at: this.now() });
    this.asking.set(agentId, queue);
  }

  /** `agentId`'s requests still waiting for an answer, without those too old to get one. */
  private unanswered(agentId: string): Array<{ kind: GrantKind; at: number }> {
    const now = this.now();
    return (this.asking.get(agentId) ?? []).filter((a) => now - a.at <= ASK_ANSWER_MS);
  }

  /** A record answered `agentId`'s request of `kind`. */
  private answered(agentId: string, kind: GrantKind): void {
    if (!this.asking.has(agentId)) return;
    this.asking.set(agentId, this.unanswered(agentId).filter((a) => a.kind !== kind));
  }

  /** The server dropped `count` of `agentId`'s requests (`reason`): the oldest unanswered ones. */
  private droppedRequests(agentId: string, reason: string, count: number): void {
    if (!this.asking.has(agentId)) return;
    const queue = this.unanswered(agentId);
    const dropped = queue.splice(0, Math.max(1, count));
    this.asking.set(agentId, queue);
    if (reason !== "too_soon") return;
    for (const { kind } of dropped) {
      const status = this.of(agentId, kind).status;
      if (status !== "pending" && status !== "granted") this.set(agentId, kind, "none", "too_soon");
    }
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
        this.answered(id, record.kind);
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
        this.answered(id, record.kind);
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
        // A dropped request (`too_soon`) sends the agent back to the start for that kind.
        if (record.what === "request") {
          this.droppedRequests(id, record.reason, record.count);
          break;
        }
        // `no_page` drops (the page was between two loads) leave the grant as it was, and an
        // Accept that could not be recorded leaves its request pending.
        if (record.reason !== "no_grant" || record.what === "answer") break;
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
        case "too_soon":
          return TOO_SOON_TEXT;
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
