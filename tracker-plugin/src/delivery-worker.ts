/**
 * The delivery worker: the tracker's {@link EventBuffer} and {@link TrackerConnection}, run in a
 * Web Worker so that the page's main thread only records. Per event the page pays for
 * `JSON.stringify` and a `postMessage` of the text; UTF-8 encoding, batching, MessagePack, the
 * socket's sends, acks, resends and backoff happen here (docs/benchmarks.md, "Tracker main-thread
 * cost").
 *
 * What a worker cannot do it asks the page for, and what the page must know it is told (see
 * worker-protocol.ts): the page info and stored token `hello` needs (`hello?`), tokens to store
 * or forget, full snapshots to take, agents' signals, and every event that leaves the buffer, so
 * the page's copy of the unacknowledged events stays what this buffer holds.
 *
 * {@link runDeliveryWorker} takes the port it talks through, so tests run it without a Worker.
 */

import type { Backoff } from "./backoff";
import { EventBuffer } from "./buffer";
import { type HelloInfo, type SessionIdentity, TrackerConnection, type WebSocketFactory } from "./connection";
import { log } from "./log";
import type { FromWorker, PageEvent, ToWorker } from "./worker-protocol";

/** Where the worker's messages come from and go: `self` in a worker. */
export interface WorkerPort {
  postMessage(message: FromWorker): void;
  onmessage: ((event: { data: ToWorker }) => void) | null;
}

/** For tests: the worker's socket, backoff and clock. */
export interface WorkerEnv {
  webSocket?: WebSocketFactory;
  backoff?: Backoff;
  now?: () => number;
  /**
   * The worker is done (stopped, or the session ended): `self.close()` in a worker, called a
   * moment later so that the socket's close frame goes out first.
   */
  close?: () => void;
}

const encoder = new TextEncoder();
/** How long a stopped worker lives on, so its socket closes cleanly. */
const CLOSE_DELAY_MS = 1_000;

/** Runs the delivery side of the tracker on `port` until it stops. */
export function runDeliveryWorker(port: WorkerPort, env: WorkerEnv = {}): void {
  const post = (message: FromWorker): void => port.postMessage(message);
  let connection: TrackerConnection | null = null;
  let buffer: EventBuffer | null = null;
  /** What the page said in its last `hello`; read when the socket opens. */
  let hello: HelloInfo | undefined;
  let token: string | undefined;
  /** The `ready` callback of the connection attempt waiting for the page's `hello`. */
  let waiting: (() => void) | null = null;
  const closeSoon = (): void => {
    if (env.close !== undefined) setTimeout(env.close, CLOSE_DELAY_MS);
  };

  /** Adds an event unless the server would refuse it; either way the page hears what became of it. */
  const push = (event: PageEvent): void => {
    if (buffer === null || connection === null) return;
    if (event.seq <= buffer.lastSeq) {
      // Held already (a previous page of the tab saved it twice): the page's copy lets it go.
      post({ type: "removed", seq: event.seq });
      return;
    }
    const data = encoder.encode(event.json);
    if (data.byteLength > connection.limits.max_event_bytes) {
      log.warn(`not sending a ${event.kind} event of ${data.byteLength} bytes: over the server's limit`);
      post({ type: "removed", seq: event.seq });
      return;
    }
    const dropped = buffer.dropped;
    buffer.push({ seq: event.seq, ts: event.ts, kind: event.kind, data, keep: event.keep });
    if (buffer.dropped !== dropped) {
      post({ type: "kept", seqs: buffer.all().map((e) => e.seq), through: event.seq });
    }
  };

  const start = (init: Extract<ToWorker, { type: "init" }>): void => {
    const events = new ReportingBuffer(post);
    buffer = events;
    const identity: SessionIdentity = {
      tabId: init.tabId,
      sessionToken: () => token,
      storeToken(value) {
        token = value;
        post({ type: "store-token", token: value });
      },
      forgetToken(value) {
        if (value === undefined || value === token) token = undefined;
        post({ type: "forget-token", token: value });
      },
    };
    connection = new TrackerConnection({
      url: init.url,
      projectKey: init.projectKey,
      identity,
      buffer: events,
      hello: () => hello ?? { page: { url: "", user_agent: "", viewport: { width: 0, height: 0 } }, metadata: {} },
      prepare(ready) {
        waiting = ready;
        post({ type: "hello?" });
      },
      takeFullSnapshot: () => post({ type: "snapshot" }),
      onSignal: (signal) => post({ type: "signal", signal }),
      onWelcome: (welcome) => post({ type: "welcome", limits: connection!.limits, welcome, helpCodes: connection!.helpCodes }),
      onClosed: () => post({ type: "closed" }),
      onStopped: (reason) => {
        post({ type: "stopped", reason });
        closeSoon();
      },
      webSocket: env.webSocket,
      backoff: env.backoff,
      now: env.now,
    });
    for (const event of init.events) push(event);
    events.snapshotNeeded ||= init.snapshotNeeded;
    connection.start();
  };

  port.onmessage = ({ data: message }) => {
    switch (message.type) {
      case "init":
        if (connection === null) start(message);
        return;
      case "event":
        push(message.event);
        connection?.notify();
        return;
      case "hello": {
        hello = message.info;
        token = message.token;
        const ready = waiting;
        waiting = null;
        ready?.();
        return;
      }
      case "flush":
        connection?.flushNow();
        return;
      case "retry":
        connection?.retryNow();
        return;
      case "end":
        connection?.end(message.reason);
        return;
      case "stop":
        connection?.stop();
        closeSoon();
        return;
      case "signal":
        connection?.sendSignal(message.signal);
        return;
    }
  };
  post({ type: "ready" });
}

/** The worker's buffer, telling the page about every event that leaves it. */
class ReportingBuffer extends EventBuffer {
  private readonly post: (message: FromWorker) => void;

  constructor(post: (message: FromWorker) => void) {
    super();
    this.post = post;
  }

  override ack(seq: number): number {
    const n = super.ack(seq);
    if (n > 0) this.post({ type: "acked", seq });
    return n;
  }

  override remove(seq: number): boolean {
    const removed = super.remove(seq);
    if (removed) this.post({ type: "removed", seq });
    return removed;
  }

  override clear(): void {
    const through = this.lastSeq;
    super.clear();
    this.post({ type: "cleared", through });
  }
}
