// The words the session view shows about where things stand: the connection status in the header
// and the message over the stage when there is no page to show. Pure, so each case is a test.

import type { ConnectionStatus } from "./feed";
import { formatClockTime } from "./format";

/** The live connection, for a live session; null for a recorded one. */
export interface LiveStatus {
  status: ConnectionStatus;
  detail: string;
}

/** The header's status: the connection of a live session, how a recorded one ended. */
export function statusText(live: LiveStatus | null, session: { ended_ms: number | null; end_reason: string | null }): string {
  if (live) {
    const texts: Record<ConnectionStatus, string> = {
      connecting: "Connecting…",
      waiting: "Waiting for the user…",
      live: "● Live",
      reconnecting: "Reconnecting…",
      ended: "Ended",
      error: `Error: ${live.detail}`,
    };
    return texts[live.status];
  }
  if (!session.ended_ms) return "Recorded";
  const reason = session.end_reason ? ` (${session.end_reason})` : "";
  return `Recorded · ended ${formatClockTime(session.ended_ms).slice(0, 8)}${reason}`;
}

export interface StageInput {
  /** A replayer (or its loading) is on the stage rather than the live view. */
  inPast: boolean;
  loading: boolean;
  problem: string | null;
  /** The live connection; null for a recorded session. */
  live: LiveStatus | null;
  /** The live player of the watched tab has a page to show. */
  liveReady: boolean;
}

/** What the stage says instead of a page; "" when it shows one. */
export function stageMessage(input: StageInput): string {
  if (input.inPast) {
    if (input.loading) return "Loading the recording…";
    return input.problem ?? "";
  }
  if (!input.live || input.liveReady) return "";
  if (input.live.status === "ended") return "The session ended.";
  if (input.live.status === "error") return input.live.detail;
  if (input.live.status === "waiting") return input.live.detail;
  return "Waiting for the user's page…";
}
