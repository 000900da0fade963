// The audit trail as the agent reads it: one line per `agent` record (docs/protocol.md §9.5), in
// words ("alice asked to control the page", "the user granted control to alice", "alice drew an
// arrow"). Runs of the same small action by the same agent (pointer moves, typed characters,
// scrolls, laser strokes, dropped input) become one growing line, so an agent moving the mouse at
// 15 moves a second does not bury everything else. Pure: records in, lines out.

import type { AgentRecord, RecordedInput } from "./agent-records";
import { isPrintableKey } from "./keys";
import type { GrantKind, Stroke } from "./protocol";

export interface ActivityEntry {
  /** When the (first) record was stored, server time, ms. */
  ts: number;
  /** The record's `action` as the server wrote it (also for actions this console does not know). */
  action: string;
  agentId: string;
  text: string;
  /** How many records this line stands for. */
  count: number;
  /** Records with the same non-null key in a row are merged into this line. */
  mergeKey: string | null;
}

/** Why the server dropped input, as an agent reads it. */
const DROP_REASONS: Record<string, string> = {
  no_grant: "no grant",
  no_page: "the page was loading",
  too_soon: "asked again too soon",
  no_record: "it could not be recorded",
  other_origin: "it would leave the page's site",
};

/** What was dropped, as a count of it reads. */
const DROPPED_THINGS = { control: "input", stroke: "stroke", request: "request", answer: "accepted request" } as const;

/** Lines kept; older ones are dropped. */
const MAX_ENTRIES = 1000;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function asking(kind: GrantKind, video = false): string {
  switch (kind) {
    case "control":
      return "to control the page";
    case "annotate":
      return "to draw on the page";
    case "call":
      return video ? "for a video call" : "for a call";
    case "record":
      return "to record the call";
    case "view":
      return "to see the page";
  }
}

/** "alice's control", "alice's call", … */
function grantOf(kind: GrantKind): string {
  return { control: "control", annotate: "drawing", call: "call", record: "recording", view: "view" }[kind];
}

function grantedText(name: string, kind: GrantKind): string {
  switch (kind) {
    case "control":
      return `the user granted control to ${name}`;
    case "annotate":
      return `the user let ${name} draw`;
    case "call":
      return `the user accepted ${name}'s call`;
    case "record":
      return `the user let ${name} record the call`;
    case "view":
      return `the user let ${name} see the page`;
  }
}

function releasedText(name: string, kind: GrantKind): string {
  switch (kind) {
    case "control":
      return `${name} released control`;
    case "annotate":
      return `${name} stopped drawing`;
    case "call":
      return `${name} hung up`;
    case "record":
      return `${name} stopped recording`;
    case "view":
      return `${name} stopped watching`;
  }
}

/** Why a grant ended, from an `ended` record's reason. */
const END_REASONS: Record<string, string> = {
  session_ended: "the session ended",
  moved: "the user's page moved to another server",
  call_ended: "the call ended",
};

function inputText(name: string, input: RecordedInput, count: number): string {
  switch (input.action) {
    case "move":
      return `${name} moved the pointer`;
    case "click":
      return count > 1 ? `${name} clicked ${count} times` : `${name} clicked`;
    case "dblclick":
      return `${name} double-clicked`;
    case "scroll":
      return input.id === null ? `${name} scrolled the page` : `${name} scrolled an element`;
    case "key":
      return isPrintableKey(input.key) ? `${name} typed ${plural(count, "character")}` : `${name} pressed ${input.key}`;
    case "input":
      return `${name} typed ${plural(input.chars, "character")}`;
    case "select":
      return `${name} chose "${input.value}" in a list`;
    case "focus":
      return `${name} focused an element`;
    case "navigate":
      switch (input.to) {
        case "back":
          return `${name} went back`;
        case "forward":
          return `${name} went forward`;
        case "reload":
          return `${name} reloaded the page`;
        case "url":
          return `${name} opened ${input.url ?? "a page"}`;
      }
      break;
    case "other":
      return `${name} sent a ${input.name} input`;
  }
  return `${name} used the page`;
}

function strokeText(name: string, stroke: Stroke): string {
  switch (stroke.tool) {
    case "pen":
      return `${name} drew with the pen`;
    case "arrow":
      return `${name} drew an arrow`;
    case "rect":
      return `${name} highlighted an area`;
    case "laser":
      return `${name} pointed with the laser`;
  }
}

/** How many records a record stands for (a `dropped` record counts what it dropped). */
function weightOf(record: AgentRecord): number {
  return record.action === "dropped" ? Math.max(1, record.count) : 1;
}

/** The words for one record, standing for `count` merged records (by default, itself). */
export function describeRecord(record: AgentRecord, count = weightOf(record)): string {
  const name = record.agent.name;
  switch (record.action) {
    case "joined":
      return `${name} started watching`;
    case "left":
      return record.reason === "lost" ? `${name} stopped watching (connection lost)` : `${name} stopped watching`;
    case "requested":
      return `${name} asked ${asking(record.kind, record.video)}`;
    case "busy":
      return `${name} asked ${asking(record.kind)}, but ${record.holder.name} is in control`;
    case "granted":
      return grantedText(name, record.kind);
    case "declined":
      return record.reason === "timeout"
        ? `${name}'s request ${asking(record.kind)} timed out`
        : `the user declined ${name}'s request ${asking(record.kind)}`;
    case "withdrawn":
      return `${name} withdrew the request ${asking(record.kind)}`;
    case "revoked":
      return record.kind === "call" ? `the user ended ${name}'s call` : `the user stopped ${name}'s ${grantOf(record.kind)}`;
    case "released":
      return releasedText(name, record.kind);
    case "ended":
      return `${name}'s ${grantOf(record.kind)} ended: ${END_REASONS[record.reason] ?? `${name} left`}`;
    case "recording":
      return record.state === "started" ? "the call is being recorded" : "the recording stopped";
    case "control":
      return inputText(name, record.input, count);
    case "stroke":
      return strokeText(name, record.stroke);
    case "dropped":
      return `dropped ${plural(count, DROPPED_THINGS[record.what])} from ${name}: ${DROP_REASONS[record.reason] ?? record.reason.replace(/_/g, " ")}`;
    case "refused":
      return `the page could not perform ${name}'s ${record.input ?? "input"}${record.reason ? `: ${record.reason}` : ""}`;
    case "forbidden":
      return `the server refused to let ${name} (a ${record.role}) ${record.what}: that takes the ${record.needs} role`;
    case "code":
      return `${name} joined with the user's help code`;
    case "other":
      return `${name}: ${record.name}`;
  }
}

/** Which records merge into one line: same agent, same small action. Null: never merged. */
export function mergeKeyOf(record: AgentRecord): string | null {
  const who = record.agent.id;
  switch (record.action) {
    case "control": {
      const input = record.input;
      if (input.action === "move") return `${who}|move`;
      if (input.action === "scroll") return `${who}|scroll|${input.id ?? "window"}`;
      if (input.action === "key" && isPrintableKey(input.key)) return `${who}|type`;
      return null;
    }
    case "stroke":
      return record.stroke.tool === "laser" ? `${who}|laser` : null;
    case "dropped":
      return `${who}|dropped|${record.what}|${record.reason}`;
    default:
      return null;
  }
}

export class ActivityLog {
  private readonly list: ActivityEntry[] = [];
  /** Bumped on every change, so a view redraws only when something happened. */
  version = 0;

  /** Adds the record stored at `ts` (server time). */
  add(ts: number, record: AgentRecord): void {
    this.version++;
    const key = mergeKeyOf(record);
    const last = this.list[this.list.length - 1];
    if (key !== null && last !== undefined && last.mergeKey === key) {
      last.count += weightOf(record);
      last.text = describeRecord(record, last.count);
      return;
    }
    const count = weightOf(record);
    const action = record.action === "other" ? record.name : record.action;
    this.list.push({ ts, action, agentId: record.agent.id, text: describeRecord(record, count), count, mergeKey: key });
    if (this.list.length > MAX_ENTRIES) this.list.splice(0, this.list.length - MAX_ENTRIES);
  }

  get entries(): readonly ActivityEntry[] {
    return this.list;
  }
}
