// The server's agent API (docs/protocol.md §3–4, §10.6): the session list, one session, a
// session's rrweb events, its call recordings' files, and the URL of its live WebSocket. Every
// call carries the agent token in a header; the WebSocket, which cannot, gets a single-use ticket
// fetched with it, so the token never appears in a URL (or a proxy's log).

import { readEvents, type DownloadProgress } from "./event-download";
import { JsonArrayError } from "./json-array";
import type { RrwebEvent } from "./rrweb-events";
import type {
  Activity,
  CodeRequest,
  CodeResolved,
  Recording,
  SessionPage,
  SessionSummary as WireSessionSummary,
  SignedInAgent,
  TicketResponse,
} from "../../generated/protocol";
import { queryParams, type ListQuery } from "./list-query";
import { liveQuery, type StartPoint } from "./protocol";

export type { RecordingFile, Role, SessionPage, SignedInAgent, Viewport } from "../../generated/protocol";

/**
 * One `agent` record of a session (protocol.md §9.5), as `GET /api/v1/sessions/{id}` lists it.
 * Its body stays unparsed here: agent-records.ts parses it, keeping actions this console does
 * not know.
 */
export type ActivityItem = Omit<Activity, "record"> & { record: unknown };

/** One recording of a session's call (protocol.md §10.6). */
export type RecordingInfo = Recording;

/**
 * A session as the server lists it; the answer of `session()` adds its `activity` (unless asked
 * without) and its `recordings`.
 */
export type SessionSummary = WireSessionSummary & {
  activity?: ActivityItem[];
  recordings?: RecordingInfo[];
};

export interface ListParams {
  limit?: number;
  cursor?: string | null;
  /** Search and filters; none: every session. */
  query?: ListQuery;
}

/** An HTTP error from the server, with its `ErrorBody` when it sent one. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  /**
   * `token` is the agent token, or null for an agent signed in with the identity provider, whose
   * session cookie (HttpOnly, so never seen here) the browser sends itself; `base` the server's
   * origin ("" = the page's own, which is how the server serves the console). `onUnauthorized`
   * runs when the server refuses the token.
   */
  constructor(
    readonly token: string | null,
    private readonly onUnauthorized: () => void = () => {},
    readonly base = "",
  ) {}

  private get(path: string, signal?: AbortSignal, accept = "application/json"): Promise<Response> {
    return this.call("GET", path, signal, accept);
  }

  private async call(
    method: string,
    path: string,
    signal?: AbortSignal,
    accept = "application/json",
    json?: unknown,
  ): Promise<Response> {
    let res: Response;
    const headers: Record<string, string> = { Accept: accept };
    if (this.token !== null) headers["Authorization"] = `Bearer ${this.token}`;
    if (json !== undefined) headers["Content-Type"] = "application/json";
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        signal: signal ?? null,
        ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      });
    } catch (e) {
      if ((e as Error).name === "AbortError") throw e;
      throw new ApiError(0, "network", `cannot reach the server: ${(e as Error).message}`);
    }
    if (!res.ok) {
      let code = "http";
      let message = `${res.status} ${res.statusText}`;
      try {
        const text = await res.text();
        try {
          const body = JSON.parse(text) as { error?: string; message?: string };
          if (body.error) code = body.error;
          if (body.message) message = body.message;
        } catch {
          if (text.trim()) message = text.trim();
        }
      } catch {
        // Keep the status line.
      }
      if (res.status === 401) this.onUnauthorized();
      throw new ApiError(res.status, code, message);
    }
    return res;
  }

  /** `GET /api/v1/me`: who the server takes this agent for, with its role and projects. */
  async me(signal?: AbortSignal): Promise<SignedInAgent> {
    const res = await this.get("/api/v1/me", signal);
    return (await res.json()) as SignedInAgent;
  }

  /** `GET /api/v1/sign-in` (no credentials): whether the identity provider sign-in is on. */
  async signInOptions(): Promise<{ oidc: boolean }> {
    const res = await this.get("/api/v1/sign-in");
    return (await res.json()) as { oidc: boolean };
  }

  /** `POST /api/v1/oidc/logout`: drops the identity provider session cookie. */
  async signOut(): Promise<void> {
    await this.call("POST", "/api/v1/oidc/logout");
  }

  /** `GET /api/v1/sessions`: newest first, paged by `next_cursor`. */
  async listSessions(params: ListParams = {}, signal?: AbortSignal): Promise<SessionPage> {
    const q = params.query ? queryParams(params.query) : new URLSearchParams();
    if (params.limit !== undefined) q.set("limit", String(params.limit));
    if (params.cursor) q.set("cursor", params.cursor);
    const qs = q.toString();
    const res = await this.get(`/api/v1/sessions${qs ? `?${qs}` : ""}`, signal);
    return (await res.json()) as SessionPage;
  }

  /**
   * `GET /api/v1/sessions/watch`: Server-Sent Events about the sessions `query` asks for, read
   * through fetch() so the token stays in a header. Resolves once the server accepted it.
   */
  async watchSessions(query: ListQuery, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const qs = queryParams(query).toString();
    const res = await this.get(`/api/v1/sessions/watch${qs ? `?${qs}` : ""}`, signal, "text/event-stream");
    if (!res.body) throw new ApiError(0, "network", "the server sent no event stream");
    return res.body;
  }

  /**
   * `GET /api/v1/sessions/{id}`. With `activity: false` the server skips reading the whole stream
   * for the agent records; a refreshed summary does not need them.
   */
  async session(id: string, signal?: AbortSignal, { activity = true } = {}): Promise<SessionSummary> {
    const q = activity ? "" : "?activity=false";
    const res = await this.get(`/api/v1/sessions/${encodeURIComponent(id)}${q}`, signal);
    return (await res.json()) as SessionSummary;
  }

  /**
   * `GET /api/v1/sessions/{id}/events?format=rrweb&tab=T`: the tab's rrweb events so far, read as
   * they download (event-download.ts); `onEvents` gets each chunk's events with the progress, and
   * the answer is all of them. Aborting `signal` stops the download.
   */
  async events(
    id: string,
    tab: string | null,
    signal?: AbortSignal,
    onEvents: (events: RrwebEvent[], progress: DownloadProgress) => void = () => {},
  ): Promise<RrwebEvent[]> {
    const q = new URLSearchParams({ format: "rrweb" });
    if (tab !== null) q.set("tab", tab);
    const res = await this.get(`/api/v1/sessions/${encodeURIComponent(id)}/events?${q}`, signal);
    if (!res.body) throw new ApiError(0, "network", "the server sent no events");
    const all: RrwebEvent[] = [];
    try {
      await readEvents(
        res.body,
        (events, progress) => {
          for (const e of events) all.push(e);
          onEvents(events, progress);
        },
        signal,
      );
    } catch (e) {
      if (e instanceof JsonArrayError) throw new ApiError(0, "bad_events", `the recording could not be read: ${e.message}`);
      if ((e as Error).name === "AbortError") throw e;
      throw new ApiError(0, "network", `the recording stopped downloading: ${(e as Error).message}`);
    }
    return all;
  }

  /**
   * `GET /api/v1/sessions/{id}/recordings/{recording}/{file}`: one recorded file (`audio/ogg` or
   * `video/x-ivf`). Fetched rather than linked, since the token goes in a header.
   */
  async recordingFile(id: string, recording: string, file: string, signal?: AbortSignal): Promise<Blob> {
    const res = await this.get(recordingFilePath(id, recording, file), signal, "*/*");
    return await res.blob();
  }

  /**
   * `POST /api/v1/codes`: the session and tab of the help code a user read out. Errors: 400 not
   * six digits, 404 no such code in the agent's projects, 410 expired or used, 429 locked out.
   */
  async resolveCode(code: string, signal?: AbortSignal): Promise<CodeResolved> {
    const body: CodeRequest = { code };
    const res = await this.call("POST", "/api/v1/codes", signal, "application/json", body);
    return (await res.json()) as CodeResolved;
  }

  /** `POST /api/v1/tickets`: a ticket that opens one live socket within 30 s. */
  async ticket(): Promise<string> {
    const res = await this.call("POST", "/api/v1/tickets");
    return ((await res.json()) as TicketResponse).ticket;
  }

  /**
   * The URL of `GET /api/v1/sessions/{id}/live` (a WebSocket, which cannot carry a header): with
   * a fresh ticket, so fetch it just before connecting, once per connection.
   */
  async liveUrl(id: string, start: StartPoint): Promise<string> {
    const ticket = await this.ticket();
    const origin = this.base || window.location.origin;
    const url = new URL(`/api/v1/sessions/${encodeURIComponent(id)}/live`, origin);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.search = liveQuery(start, ticket);
    return url.toString();
  }
}

/** The path of a recorded file (protocol.md §10.6), each part escaped. */
export function recordingFilePath(sessionId: string, recording: string, file: string): string {
  const e = encodeURIComponent;
  return `/api/v1/sessions/${e(sessionId)}/recordings/${e(recording)}/${e(file)}`;
}
