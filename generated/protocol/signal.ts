// Generated from src/protocol/signal.rs by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.

import type { CallMessage, IceCandidate } from "./call";
import type { AgentRef, GrantKind, Role } from "./grants";
import type { ControlInput, Stroke } from "./input";
import type { SessionId } from "./session";

/**
 * What an agent's node sends toward the session's tracker through `cluster/signals`: the
 * agent's own requests (also what an agent sends on its WebSocket), and its presence.
 */
export type Signal =
  | { "type": "request", kind: GrantKind,
/**
 * For a call: ask for video too.
 */
video?: boolean, }
  | { "type": "release", kind: GrantKind, }
  | { "type": "control", tab: string, input: ControlInput, }
  | { "type": "stroke", tab: string, stroke: Stroke, }
  | { "type": "resync" }
  | { "type": "call_join", audio: boolean, video: boolean, }
  | { "type": "call_answer", sdp: string, }
  | { "type": "call_candidate", candidate: IceCandidate, }
  | { "type": "canvas", on: boolean, }
  | { "type": "joined" }
  | { "type": "view", account: string,
/**
 * The agent's node saw the user let it in (the `granted` record): a node that took the
 * session over since restores the grant rather than ask again.
 */
granted?: boolean, }
  | { "type": "left" }
  | { "type": "heartbeat" }
  | { "type": "to_agent", message: CallMessage, }
  | { "type": "forbidden", what: string, role: Role, needs: Role, };

/**
 * One record of `cluster/signals` (MessagePack).
 */
export type SignalRecord = { session: SessionId, agent: AgentRef,
/**
 * The agent's node.
 */
node: string, signal: Signal, };
