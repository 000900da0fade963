// Generated from the constants of src/protocol/ by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.

import type { Media } from "./call";
import type { GrantKind } from "./grants";
import type { NavigateTo, StrokeTool } from "./input";

/** The protocol version a tracker announces in `hello`. */
export const PROTOCOL_VERSION = 1;
/** Named keys an agent may press; any single character is allowed too. */
export const NAMED_KEYS = ["Enter", "Tab", "Backspace", "Delete", "Escape", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", " "] as const;
/** The longest `value` an `input` or `select` control may carry, in characters (code points). */
export const MAX_INPUT_CHARS = 4096;
/** The longest `url` a `navigate` control may carry, in UTF-8 bytes. */
export const MAX_URL_BYTES = 2048;
/** The most points a stroke may have. */
export const MAX_STROKE_POINTS = 1000;
/** The longest stroke id, in UTF-8 bytes. */
export const MAX_STROKE_ID_BYTES = 64;
/** The participant id of the page's user in a call; agents are named by their connection id. */
export const USER_PARTICIPANT = "user";
/** Every `type` a tracker may send. */
export const TRACKER_MESSAGE_TYPES = ["hello", "events", "end", "consent", "revoke", "refused", "call_join", "call_answer", "call_candidate", "hangup", "help_request"] as const;
/** Every `type` an agent may send on its live connection. */
export const AGENT_SIGNAL_TYPES = ["request", "release", "control", "stroke", "resync", "call_join", "call_answer", "call_candidate", "canvas"] as const;
/** Every grant kind. */
export const GRANT_KINDS = ["control", "annotate", "call", "record", "view"] as const satisfies readonly GrantKind[];
/** Every media a call slot may carry. */
export const MEDIA_KINDS = ["audio", "video", "canvas"] as const satisfies readonly Media[];
/** Every annotation tool. */
export const STROKE_TOOLS = ["pen", "arrow", "rect", "laser"] as const satisfies readonly StrokeTool[];
/** Every target of a `navigate` control. */
export const NAVIGATE_TARGETS = ["back", "forward", "reload", "url"] as const satisfies readonly NavigateTo[];

/** WebSocket close codes the server uses (`protocol::close`). */
export const CLOSE = {
  /** Server shutting down; reconnect (to another node) and resend what was not acknowledged. */
  GOING_AWAY: 1001,
  /** A frame could not be decoded as a message of this protocol. */
  INVALID_FRAME: 1007,
  /** A frame was larger than `max_frame_bytes`. */
  TOO_BIG: 1009,
  /** The store failed; reconnect and resend. */
  INTERNAL: 1011,
  /** Wrong, missing or expired project key, session token or agent token. */
  UNAUTHORIZED: 4001,
  /** A message out of order (no `hello` first), an unknown `type`, or an unsupported version. */
  PROTOCOL: 4002,
  /** The page's origin is not allowed for this project. */
  FORBIDDEN_ORIGIN: 4003,
  /** No such session. */
  NOT_FOUND: 4004,
  /** An agent that could not keep up; reconnect with `from_seq` given in the reason. */
  TOO_SLOW: 4008,
  /** Another node took the session over; this connection is no longer its writer. */
  TAKEN_OVER: 4009,
  /** The session has ended; a tracker must start a new one. */
  ENDED: 4010,
  /** The user declined to be watched, or stopped it (`view: ask`); asking again opens a new prompt. */
  NOT_ALLOWED: 4403,
  /** Too many events per second in this session. */
  RATE_LIMITED: 4029,
} as const;
