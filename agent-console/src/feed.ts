// A session's live WebSocket (`/api/v1/sessions/{id}/live`), kept open: it decodes frames,
// remembers the last `seq_num`, and reconnects after a drop from just after it, so the events it
// hands on have no gaps and no repeats. The decisions (when to stop, where to resume) are the
// pure `planAfterClose` in protocol.ts. The same socket carries what the agent sends back
// (requests, control input, strokes, call signalling: protocol.md §9.2, §10.2) and the server's
// call signalling for this agent; each connection is one agent connection to the server, named by
// the `joined` message it starts with, so a reconnect is a new agent id.

import { Api, ApiError } from "./api";
import {
  backoffMs,
  decodeAgentMessage,
  encodeAgentRequest,
  FrameError,
  planAfterClose,
  type AgentRef,
  type AgentRequest,
  type CallMessage,
  type DeliveredEvent,
  type StartPoint,
} from "./protocol";

/** What `#connection-status` shows. */
export type ConnectionStatus = "connecting" | "waiting" | "live" | "reconnecting" | "ended" | "error";

/** What the live view says while the user is asked whether this agent may watch. */
export const WAITING_FOR_USER = "Waiting for the user to accept…";

export interface FeedHandlers {
  /** Events in stream order, with the agent's clock when the frame arrived. */
  onEvents(events: DeliveredEvent[], receivedAt: number): void;
  onStatus(status: ConnectionStatus, detail: string): void;
  /** Every event stored before the subscription started has been handed on (`caught_up`). */
  onCaughtUp?(): void;
  /** This connection's agent, as `agent` records will name it (again after every reconnect). */
  onJoined(agent: AgentRef): void;
  /** The server dropped a frame this agent sent (`malformed`, `too_big`, `rate_limited`). */
  onServerError(error: string, message: string): void;
  /** `call_offer`, `call_candidate`, `call_closed` for this agent's call (protocol.md §10). */
  onCall(message: CallMessage): void;
}

export class LiveFeed {
  private socket: WebSocket | null = null;
  private lastSeq: number | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private sawEnd = false;
  status: ConnectionStatus = "connecting";

  constructor(
    private readonly api: Api,
    private readonly sessionId: string,
    private readonly start: StartPoint,
    private readonly handlers: FeedHandlers,
  ) {
    // Not from inside the constructor: the owner's handlers may need the feed to exist first.
    queueMicrotask(() => this.connect(start, "connecting"));
  }

  private setStatus(status: ConnectionStatus, detail: string): void {
    this.status = status;
    this.handlers.onStatus(status, detail);
  }

  private connect(start: StartPoint, status: ConnectionStatus): void {
    if (this.closed) return;
    this.setStatus(status, status === "connecting" ? "connecting…" : "reconnecting…");
    // Each connection needs its own ticket (single use, 30 s), fetched with the agent token.
    this.api.liveUrl(this.sessionId, start).then(
      (url) => this.open(url),
      (e: unknown) => {
        if (this.closed) return;
        if (e instanceof ApiError && e.status === 401) {
          this.setStatus("error", "agent token refused");
          return;
        }
        const delay = backoffMs(this.attempt++);
        this.setStatus("reconnecting", e instanceof Error ? e.message : "cannot reach the server");
        this.timer = setTimeout(() => this.connect(start, "reconnecting"), delay);
      },
    );
  }

  private open(url: string): void {
    if (this.closed) return;
    let opened = false;
    let gotMessage = false;
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.socket = ws;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (msg: MessageEvent) => {
      if (this.closed || !(msg.data instanceof ArrayBuffer)) return;
      let message;
      try {
        message = decodeAgentMessage(msg.data);
      } catch (e) {
        if (e instanceof FrameError) {
          console.warn("cobrowse: ignoring a frame:", e.message);
          return;
        }
        throw e;
      }
      if (!gotMessage) {
        gotMessage = true;
        this.attempt = 0;
      }
      if (message.type === "events" && message.events.length > 0) {
        this.lastSeq = message.events[message.events.length - 1]!.seq_num;
        if (message.events.some((e) => e.kind === "end")) this.sawEnd = true;
        this.handlers.onEvents(message.events, Date.now());
        if (this.sawEnd) this.setStatus("ended", "the session ended");
      } else if (message.type === "caught_up") {
        this.handlers.onCaughtUp?.();
        if (!this.sawEnd) this.setStatus("live", "live");
      } else if (message.type === "joined") {
        this.handlers.onJoined(message.agent);
      } else if (message.type === "error") {
        this.handlers.onServerError(message.error, message.message);
      } else if (message.type === "view_consent") {
        // The page asks its user first (`view: ask`): nothing of it arrives until they accept.
        if (message.state === "asking") this.setStatus("waiting", WAITING_FOR_USER);
        else if (message.state === "granted") this.setStatus("connecting", "the user accepted; loading the page…");
      } else if (message.type === "call_offer" || message.type === "call_candidate" || message.type === "call_closed") {
        this.handlers.onCall(message);
      }
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.closed || this.socket !== ws) return;
      this.socket = null;
      if (this.sawEnd) {
        this.setStatus("ended", "the session ended");
        return;
      }
      const plan = planAfterClose(ev.code, ev.reason, this.lastSeq, this.start);
      if (plan.action === "stop") {
        this.setStatus(plan.outcome === "ended" ? "ended" : "error", plan.message);
        return;
      }
      const retry = () => {
        const delay = backoffMs(this.attempt++);
        this.setStatus("reconnecting", plan.message);
        this.timer = setTimeout(() => this.connect(plan.start, "reconnecting"), delay);
      };
      if (opened) {
        retry();
        return;
      }
      // The upgrade was refused: the browser only says 1006. Ask the REST API why.
      this.api.session(this.sessionId, undefined, { activity: false }).then(
        () => retry(),
        (e: unknown) => {
          if (e instanceof ApiError && e.status === 404) this.setStatus("error", "no such session");
          else if (e instanceof ApiError && e.status === 401) this.setStatus("error", "agent token refused");
          else retry();
        },
      );
    };
  }

  /**
   * Sends `request` to the server. False when the socket is not open (connecting, reconnecting,
   * closed): nothing is queued, since input meant for the page a moment ago is no use later and a
   * grant does not survive a reconnect anyway.
   */
  send(request: AgentRequest): boolean {
    const ws = this.socket;
    if (this.closed || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(encodeAgentRequest(request));
    return true;
  }

  /** Closes the socket for good. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    const ws = this.socket;
    this.socket = null;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) ws.close(1000);
  }
}
