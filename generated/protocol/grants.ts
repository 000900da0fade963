// Generated from src/protocol/grants.rs by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.


/**
 * An agent connection as signals and records name it: `id` is given by the agent's node to each
 * connection, `name` is the authenticated agent's, so no agent can speak for another.
 */
export type AgentRef = { id: string, name: string, };

/**
 * What an agent may be granted.
 */
export type GrantKind =
  | "control"
  | "annotate"
  | "call"
  | "record"
  | "view";

/**
 * A grant the user gave, as the holding node keeps it and trackers are told.
 */
export type Grant = { kind: GrantKind, agent: AgentRef,
/**
 * For a call: the user accepted video.
 */
video?: boolean, };

export type DeclineReason =
  | "declined"
  | "timeout";

/**
 * What an agent may do, each role all the one below it may and more; the server checks it on
 * every request and every signal (`auth::Agent::may`).
 */
export type Role =
  | "viewer"
  | "helper"
  | "admin";
