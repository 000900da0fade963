/**
 * Help codes, the page's side: the user asks for help, the tracker asks the server for a code on
 * its connection (`help_request`), and the server answers with six digits valid for a few minutes
 * (`help_code`) that the user reads out to an agent, who types them in the console and lands in
 * this session. One request is in flight at a time; a request made while the connection is down
 * goes out on the next `welcome`. Asking again while a code is valid gives the same code.
 */

import type { PageSignal, TrackerSignal } from "./protocol";

/** A code to read out, and when it stops working (ms since the Unix epoch). */
export interface HelpCode {
  code: string;
  expiresAt: number;
}

/** How long a request waits for the server before it fails. */
export const HELP_TIMEOUT_MS = 15_000;

interface Waiting {
  resolve: (code: HelpCode) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class HelpDesk {
  private readonly send: (signal: TrackerSignal) => boolean;
  private readonly timeoutMs: number;
  private waiting: { promise: Promise<HelpCode>; settle: Waiting } | null = null;
  private stopped = false;

  constructor(send: (signal: TrackerSignal) => boolean, timeoutMs = HELP_TIMEOUT_MS) {
    this.send = send;
    this.timeoutMs = timeoutMs;
  }

  /** A code for this tab: the one being asked for, else a new request. */
  request(): Promise<HelpCode> {
    if (this.stopped) return Promise.reject(new Error("cobrowse: the tracker is stopped"));
    if (this.waiting !== null) return this.waiting.promise;
    let settle!: Waiting;
    const promise = new Promise<HelpCode>((resolve, reject) => {
      const timer = setTimeout(
        () => this.settle(new Error("cobrowse: no help code: the server did not answer; try again")),
        this.timeoutMs,
      );
      settle = { resolve, reject, timer };
    });
    this.waiting = { promise, settle };
    this.send({ type: "help_request" });
    return promise;
  }

  /** Takes `help_code` and `help_unavailable`; false for any other signal. */
  receive(signal: PageSignal): boolean {
    switch (signal.type) {
      case "help_code":
        this.settle({ code: signal.code, expiresAt: signal.expires_at });
        return true;
      case "help_unavailable":
        this.settle(new Error(`cobrowse: no help code: ${signal.reason}`));
        return true;
      default:
        return false;
    }
  }

  /** The connection (re)opened: a request it may have missed goes out again. */
  connected(): void {
    if (this.waiting !== null) this.send({ type: "help_request" });
  }

  stop(): void {
    this.settle(new Error("cobrowse: the tracker is stopped"));
    this.stopped = true;
  }

  private settle(outcome: HelpCode | Error): void {
    const waiting = this.waiting;
    if (waiting === null) return;
    this.waiting = null;
    clearTimeout(waiting.settle.timer);
    if (outcome instanceof Error) waiting.settle.reject(outcome);
    else waiting.settle.resolve(outcome);
  }
}
