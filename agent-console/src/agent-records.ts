// The bodies of `agent` records (docs/protocol.md §9.5, §10.5): every request, answer and agent action
// the server writes to the session stream, which every agent reads like any other event. Parsed
// into typed values here, once, so the consent state and the activity list never look at raw JSON.
// A body that does not have the fields its action needs is dropped (`null`); an action this
// console does not know is kept as `other`, so a newer server's records still show up.

import type { AgentRef, GrantKind, NavigateTo, Stroke, StrokeTool } from "./protocol";

/** Stands for a character an agent typed, which records do not repeat. */
export const TYPED_CHARACTER = "•";

/**
 * A `ControlInput` as recorded: the same as sent, except that an `input` action's typed text is
 * replaced by its length (the stream does not keep what the agent typed into the user's fields).
 */
export type RecordedInput =
  | { action: "move"; x: number; y: number }
  | { action: "click" | "dblclick"; id: number | null; x: number; y: number }
  | { action: "scroll"; id: number | null; x: number; y: number }
  | { action: "key"; key: string }
  | { action: "input"; id: number | null; chars: number }
  | { action: "select"; id: number | null; value: string }
  | { action: "focus"; id: number | null }
  | { action: "navigate"; to: NavigateTo; url: string | null }
  | { action: "other"; name: string };

export type AgentRecord =
  | { action: "joined"; agent: AgentRef; watchers: AgentRef[] }
  | { action: "left"; agent: AgentRef; reason: string; watchers: AgentRef[] }
  /** `video` says whether a `call` request was for a video call (false for other kinds). */
  | { action: "requested"; agent: AgentRef; kind: GrantKind; request_id: string; video: boolean }
  | { action: "busy"; agent: AgentRef; kind: GrantKind; holder: AgentRef }
  | { action: "granted"; agent: AgentRef; kind: GrantKind; request_id: string }
  /** `reason` is `declined` (the user said no) or `timeout` (nobody answered). */
  | { action: "declined"; agent: AgentRef; kind: GrantKind; request_id: string; reason: string }
  | { action: "withdrawn"; agent: AgentRef; kind: GrantKind; request_id: string }
  | { action: "revoked"; agent: AgentRef; kind: GrantKind }
  | { action: "released"; agent: AgentRef; kind: GrantKind }
  | { action: "ended"; agent: AgentRef; kind: GrantKind; reason: string }
  | { action: "control"; agent: AgentRef; tab: string; input: RecordedInput }
  | { action: "stroke"; agent: AgentRef; tab: string; stroke: Stroke }
  /** Input, strokes or requests the server threw away (`reason`), `count` of them within a second. */
  | { action: "dropped"; agent: AgentRef; what: "control" | "stroke" | "request" | "answer"; reason: string; count: number }
  /** The page could not perform an input; `input` names which (null when the record does not say). */
  | { action: "refused"; agent: AgentRef; tab: string; input: string | null; reason: string }
  /** The server started or stopped recording the call (`recording` is its id, protocol.md §10.5). */
  | { action: "recording"; agent: AgentRef; recording: string; state: "started" | "stopped" }
  /** The server refused the agent `what` (e.g. `request control`): its `role` is below `needs`. */
  | { action: "forbidden"; agent: AgentRef; what: string; role: string; needs: string }
  /** The agent found the session by the help code the user read out, for tab `tab`. */
  | { action: "code"; agent: AgentRef; tab: string }
  | { action: "other"; agent: AgentRef; name: string };

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string): string | null {
  const v = o[key];
  return typeof v === "string" ? v : null;
}

function num(o: Obj, key: string): number | null {
  const v = o[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** A node id: a number, or null when absent (the window, the focused element). */
function nodeId(o: Obj): number | null {
  return num(o, "id");
}

function agentRef(v: unknown): AgentRef | null {
  if (!isObj(v)) return null;
  const id = str(v, "id");
  const name = str(v, "name");
  return id === null || name === null ? null : { id, name };
}

function agentList(v: unknown): AgentRef[] | null {
  if (!Array.isArray(v)) return null;
  const refs = v.map(agentRef);
  return refs.every((r): r is AgentRef => r !== null) ? refs : null;
}

const GRANT_KINDS: readonly string[] = ["control", "annotate", "call", "record"];

function grantKind(o: Obj): GrantKind | null {
  const k = str(o, "kind");
  return k !== null && GRANT_KINDS.includes(k) ? (k as GrantKind) : null;
}

const NAVIGATE: readonly string[] = ["back", "forward", "reload", "url"];
const TOOLS: readonly string[] = ["pen", "arrow", "rect", "laser"];

/** A recorded `ControlInput`, or null when it lacks what its action needs. */
export function parseRecordedInput(v: unknown): RecordedInput | null {
  if (!isObj(v)) return null;
  const action = str(v, "action");
  if (action === null) return null;
  const x = num(v, "x");
  const y = num(v, "y");
  switch (action) {
    case "move":
      return x === null || y === null ? null : { action, x, y };
    case "click":
    case "dblclick":
    case "scroll":
      return x === null || y === null ? null : { action, id: nodeId(v), x, y };
    case "key": {
      // The server records a typed character as `{"chars": 1}` (not the character itself).
      const raw = v["key"];
      const key = typeof raw === "string" ? raw : isObj(raw) ? TYPED_CHARACTER : null;
      return key === null ? null : { action, key };
    }
    case "input": {
      // The server records `{"chars": n}`; a plain string (an older server) counts the same.
      const value = v["value"];
      const chars = isObj(value) ? num(value, "chars") : typeof value === "string" ? [...value].length : null;
      return chars === null ? null : { action, id: nodeId(v), chars };
    }
    case "select": {
      const value = str(v, "value");
      return value === null ? null : { action, id: nodeId(v), value };
    }
    case "focus":
      return { action, id: nodeId(v) };
    case "navigate": {
      const to = str(v, "to");
      return to !== null && NAVIGATE.includes(to) ? { action, to: to as NavigateTo, url: str(v, "url") } : null;
    }
    default:
      return { action: "other", name: action };
  }
}

function parseStroke(v: unknown): Stroke | null {
  if (!isObj(v)) return null;
  const id = str(v, "id");
  const tool = str(v, "tool");
  const color = str(v, "color");
  const points = v["points"];
  if (id === null || tool === null || !TOOLS.includes(tool) || color === null || !Array.isArray(points)) return null;
  const pairs: Array<[number, number]> = [];
  for (const p of points) {
    if (!Array.isArray(p) || typeof p[0] !== "number" || typeof p[1] !== "number") return null;
    pairs.push([p[0], p[1]]);
  }
  return { id, tool: tool as StrokeTool, color, points: pairs };
}

/** The body of an `agent` record (already parsed JSON), or null when it is not a valid one. */
export function parseAgentRecord(json: unknown): AgentRecord | null {
  if (!isObj(json)) return null;
  const action = str(json, "action");
  const agent = agentRef(json["agent"]);
  if (action === null || agent === null) return null;
  const kind = grantKind(json);
  const requestId = str(json, "request_id");
  const reason = str(json, "reason");
  switch (action) {
    case "joined": {
      const watchers = agentList(json["watchers"]);
      return watchers === null ? null : { action, agent, watchers };
    }
    case "left": {
      const watchers = agentList(json["watchers"]);
      return watchers === null ? null : { action, agent, reason: reason ?? "closed", watchers };
    }
    case "requested":
      if (kind === null || requestId === null) return null;
      return { action, agent, kind, request_id: requestId, video: kind === "call" && json["video"] === true };
    case "granted":
    case "withdrawn":
      return kind === null || requestId === null ? null : { action, agent, kind, request_id: requestId };
    case "busy": {
      const holder = agentRef(json["holder"]);
      return kind === null || holder === null ? null : { action, agent, kind, holder };
    }
    case "declined":
      return kind === null || requestId === null
        ? null
        : { action, agent, kind, request_id: requestId, reason: reason ?? "declined" };
    case "revoked":
    case "released":
      return kind === null ? null : { action, agent, kind };
    case "ended":
      return kind === null ? null : { action, agent, kind, reason: reason ?? "agent_left" };
    case "control": {
      const tab = str(json, "tab");
      const input = parseRecordedInput(json["input"]);
      return tab === null || input === null ? null : { action, agent, tab, input };
    }
    case "stroke": {
      const tab = str(json, "tab");
      const stroke = parseStroke(json["stroke"]);
      return tab === null || stroke === null ? null : { action, agent, tab, stroke };
    }
    case "dropped": {
      const what = str(json, "what");
      if (what !== "control" && what !== "stroke" && what !== "request" && what !== "answer") return null;
      return { action, agent, what, reason: reason ?? "no_grant", count: num(json, "count") ?? 1 };
    }
    case "refused": {
      const input = str(json, "input");
      return { action, agent, tab: str(json, "tab") ?? "", input, reason: reason ?? "" };
    }
    case "forbidden": {
      const what = str(json, "what");
      const role = str(json, "role");
      const needs = str(json, "needs");
      return what === null || role === null || needs === null ? null : { action, agent, what, role, needs };
    }
    case "code": {
      const tab = str(json, "tab");
      return tab === null ? null : { action, agent, tab };
    }
    case "recording": {
      const recording = str(json, "recording");
      const state = str(json, "state");
      if (recording === null || (state !== "started" && state !== "stopped")) return null;
      return { action, agent, recording, state };
    }
    default:
      return { action: "other", agent, name: action };
  }
}
