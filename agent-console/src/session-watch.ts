// The session list's live feed: `GET /api/v1/sessions/watch` for the list's query, read as
// Server-Sent Events and handed on as `ready` (subscribed: load the list now and nothing is
// missed), `session` (new or changed), `gone` and `reset` (the feed fell behind: load the list
// again). When the stream ends or fails it reconnects with a growing delay; each new `ready` tells
// the list to reload, since changes in between were not seen. The decoding is pure and tested;
// the loop around it is the small I/O part.

import { ApiError, type Api, type SessionSummary } from "./api";
import type { ListQuery } from "./list-query";
import { SseParser, type SseEvent } from "./sse";

export type WatchEvent =
  | { kind: "ready" }
  | { kind: "session"; session: SessionSummary }
  | { kind: "gone"; id: string }
  | { kind: "reset" };

/** The feed's state, for the list's status line. */
export type FeedState = { state: "connecting" } | { state: "open" } | { state: "retrying"; reason: string } | { state: "failed"; reason: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Whether `value` has what the list reads of a summary; the server's anything else is dropped. */
function isSummary(value: unknown): value is SessionSummary {
  return (
    isObject(value) &&
    typeof value["id"] === "string" &&
    typeof value["live"] === "boolean" &&
    typeof value["started_ms"] === "number" &&
    typeof value["last_activity_ms"] === "number" &&
    typeof value["url"] === "string" &&
    typeof value["user_agent"] === "string" &&
    Array.isArray(value["tabs"])
  );
}

/** One SSE event of the watch as the list uses it; null for one it does not know or cannot read. */
export function decodeWatchEvent(event: SseEvent): WatchEvent | null {
  if (event.type === "ready") return { kind: "ready" };
  if (event.type === "reset") return { kind: "reset" };
  if (event.type !== "session" && event.type !== "gone") return null;
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    return null;
  }
  if (event.type === "session") return isSummary(data) ? { kind: "session", session: data } : null;
  return isObject(data) && typeof data["id"] === "string" ? { kind: "gone", id: data["id"] } : null;
}

/** How long to wait before reconnect number `attempt` (0-based): 0.5 s doubling to 15 s. */
export function retryDelay(attempt: number): number {
  return Math.min(15_000, 500 * 2 ** Math.max(0, attempt));
}

/** Whether a refused watch is worth retrying: not when the query or the token is wrong. */
export function retryable(error: unknown): boolean {
  return !(error instanceof ApiError) || error.status === 0 || error.status === 429 || error.status >= 500;
}

/**
 * Watches the sessions `query` asks for until the returned function is called. `onEvent` gets
 * every event in order; `onState` how the feed is doing.
 */
export function watchSessions(
  api: Api,
  query: ListQuery,
  onEvent: (event: WatchEvent) => void,
  onState: (state: FeedState) => void,
): () => void {
  const abort = new AbortController();
  let retry: ReturnType<typeof setTimeout> | null = null;
  let attempt = 0;

  async function connect(): Promise<void> {
    onState({ state: "connecting" });
    let reason = "the feed ended";
    try {
      const body = await api.watchSessions(query, abort.signal);
      const reader = body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done || abort.signal.aborted) break;
        for (const sse of parser.push(decoder.decode(value, { stream: true }))) {
          const event = decodeWatchEvent(sse);
          if (!event) continue;
          if (event.kind === "ready") {
            attempt = 0;
            onState({ state: "open" });
          }
          onEvent(event);
        }
      }
    } catch (e) {
      if (abort.signal.aborted) return;
      if (!retryable(e)) {
        onState({ state: "failed", reason: (e as Error).message });
        return;
      }
      reason = (e as Error).message;
    }
    if (abort.signal.aborted) return;
    onState({ state: "retrying", reason });
    retry = setTimeout(() => void connect(), retryDelay(attempt++));
  }

  void connect();
  return () => {
    abort.abort();
    if (retry !== null) clearTimeout(retry);
  };
}
