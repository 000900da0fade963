// What the call panel shows and offers, from what the `agent` records say (this agent's `call`
// and `record` grants, who else holds them) and where this agent's own connection is (call.ts).
// Pure: state in, words and buttons out, so every combination is a unit test.

import type { CallPhase } from "./call";
import { TOO_SOON_TEXT, type KindState } from "./consent";
import type { AgentRef } from "./protocol";

export interface CallPanelInput {
  /** The live socket is open and the server named this agent: requests can be sent. */
  connected: boolean;
  /** This agent's `call` and `record` grants. */
  call: KindState;
  record: KindState;
  /** Every agent that holds a `call` / `record` grant now (this one included). */
  callHolders: readonly AgentRef[];
  recordHolders: readonly AgentRef[];
  selfId: string | null;
  /** This agent's connection (call.ts). */
  phase: CallPhase;
  closedReason: string | null;
  problem: string;
  hasAudio: boolean;
  hasVideo: boolean;
}

/**
 * - `none`: no call, or one this agent is not in and could not join;
 * - `running`: a call runs without this agent (it can join);
 * - `pending`: waiting for the user to accept;
 * - `declined`: the user declined (or did not answer);
 * - `joining`: granted, getting the devices and the connection up;
 * - `in-call`: media flows;
 * - `closed`: granted, but the server closed the connection (rejoin);
 * - `failed`: granted, but the connection failed.
 */
export type CallPanelState = "none" | "running" | "pending" | "declined" | "joining" | "in-call" | "closed" | "failed";

export interface CallPanelModel {
  state: CallPanelState;
  text: string;
  /** A device or connection problem beside the state ("Camera unavailable…"); "" for none. */
  notice: string;
  /** "Voice call" / "Video call": no call runs and this agent is not asking. */
  showStart: boolean;
  /** "Join call": a call runs without this agent. */
  showJoin: boolean;
  /** Label of the hang-up button ("Cancel" while asking), or null when hidden. */
  hangUp: string | null;
  /** The server closed this agent's connection while its grant holds: offer to join again. */
  showRejoin: boolean;
  showMute: boolean;
  showCamera: boolean;
  /** Start buttons can be used (the socket is open). */
  enabled: boolean;
  /** "Record": shown while this agent is in the call; enabled unless a recording runs or is asked for. */
  showRecord: boolean;
  recordEnabled: boolean;
  /** Label of the stop-recording button ("Cancel" while asking), or null when hidden. */
  stopRecording: string | null;
  /** The red "● REC" indicator: someone holds a `record` grant. */
  recording: boolean;
  /** What the recording is doing, from this agent's side ("" for nothing to say). */
  recordText: string;
  /** "In the call: the user, alice (you), bob" while a call runs; "" otherwise. */
  members: string;
}

const JOINING_TEXT: Partial<Record<CallPhase, string>> = {
  idle: "Joining the call…",
  media: "Starting your microphone…",
  joining: "Joining the call…",
  connecting: "Connecting…",
};

/** The names of those in the call: the user first (the page is in every call), then the agents. */
export function callMembers(holders: readonly AgentRef[], selfId: string | null): string {
  if (holders.length === 0) return "";
  const names = holders.map((a) => (a.id === selfId ? `${a.name} (you)` : a.name));
  return `In the call: the user, ${names.join(", ")}`;
}

function ownCallText(input: CallPanelInput): { state: CallPanelState; text: string } {
  const { call } = input;
  switch (call.status) {
    case "pending":
      return { state: "pending", text: "Waiting for the user…" };
    case "declined":
      return {
        state: "declined",
        text: call.reason === "timeout" ? "The user did not answer (timed out)" : "The user declined the call",
      };
    case "granted":
      switch (input.phase) {
        case "connected":
          return { state: "in-call", text: input.hasAudio ? "In the call" : "In the call (listening only)" };
        case "closed":
          return { state: "closed", text: `The call's connection closed (${input.closedReason ?? "closed"})` };
        case "failed":
          return { state: "failed", text: input.problem || "The call's connection failed" };
        default:
          return { state: "joining", text: JOINING_TEXT[input.phase] ?? "Joining the call…" };
      }
    case "busy":
    case "none":
      break;
  }
  const others = input.callHolders.filter((a) => a.id !== input.selfId);
  if (others.length > 0) return { state: "running", text: "A call is in progress" };
  switch (call.reason) {
    case "revoked":
      return { state: "none", text: "The user ended the call" };
    case "agent_left":
      return { state: "none", text: "The call ended with your connection; call again" };
    case "session_ended":
      return { state: "none", text: "The session ended" };
    case "moved":
      return { state: "none", text: "The user's page reconnected elsewhere; call again" };
    default:
      return { state: "none", text: "" };
  }
}

function recordText(input: CallPanelInput): string {
  const { record } = input;
  const others = input.recordHolders.filter((a) => a.id !== input.selfId);
  switch (record.status) {
    case "pending":
      return "Waiting for the user to allow recording…";
    case "granted":
      return "Recording the call";
    case "declined":
      return record.reason === "timeout" ? "The user did not answer about recording" : "The user declined recording";
    case "busy":
      return `${record.holder?.name ?? others[0]?.name ?? "Another agent"} is already recording`;
    case "none":
      if (others.length > 0) return `${others.map((a) => a.name).join(", ")} is recording the call`;
      if (record.reason === "revoked") return "The user stopped the recording";
      if (record.reason === "call_ended") return "The recording stopped: the call ended";
      if (record.reason === "too_soon") return "Asked too soon to record; try again in a few seconds";
      return "";
  }
}

export function callPanelModel(input: CallPanelInput): CallPanelModel {
  const { state, text } = ownCallText(input);
  const granted = input.call.status === "granted";
  const asking = input.call.status === "pending";
  const running = input.callHolders.length > 0;
  const inCall = granted && (state === "joining" || state === "in-call");
  const recording = input.recordHolders.length > 0;
  const ownRecord = input.record.status;
  return {
    state,
    text,
    notice: state === "failed" ? "" : input.problem || (input.call.reason === "too_soon" ? TOO_SOON_TEXT : ""),
    showStart: !granted && !asking && !running,
    showJoin: !granted && !asking && running,
    hangUp: asking ? "Cancel" : granted ? "Hang up" : null,
    showRejoin: granted && (state === "closed" || state === "failed"),
    showMute: inCall && input.hasAudio,
    showCamera: inCall && input.hasVideo,
    enabled: input.connected,
    showRecord: granted && ownRecord !== "pending" && ownRecord !== "granted",
    recordEnabled: input.connected && inCall && !recording,
    stopRecording: ownRecord === "pending" ? "Cancel recording request" : ownRecord === "granted" ? "Stop recording" : null,
    recording,
    recordText: recordText(input),
    members: callMembers(input.callHolders, input.selfId),
  };
}
