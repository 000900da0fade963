/**
 * What the page and the delivery worker say to each other, and the page's copy of the events the
 * worker has not yet seen acknowledged.
 *
 * The page records; the worker delivers (delivery-worker.ts): it turns each event's JSON text into
 * UTF-8, keeps the {@link EventBuffer}, batches, encodes MessagePack and owns the socket. A worker
 * cannot reach `sessionStorage` and the page cannot ask a worker anything synchronously, yet the
 * page must save what is unacknowledged when it is hidden or unloaded (`pagehide` gives no time
 * for a round trip). So the page keeps a {@link PageCopy} of every event it hands over (the JSON
 * text it made anyway, no second copy of the data) and the worker tells it, in order, what left
 * its buffer; the copy is what `pagehide` saves, in the buffer's own saved form.
 *
 * Messages that name what left the buffer carry the highest `seq` the worker had seen (`through`),
 * because events the page posted meanwhile are still on their way and must stay in the copy.
 */

import type { EventKind, Limits, PageSignal, TrackerSignal } from "./protocol";
import { type SavedEvent, loadSaved, saveEvents } from "./buffer";
import type { HelloInfo, WelcomeInfo } from "./connection";
import type { StorageLike } from "./storage";

/** An event as the page hands it to the worker: its JSON text, not yet UTF-8. */
export interface PageEvent {
  seq: number;
  ts: number;
  kind: EventKind;
  json: string;
  /** Dropped by the buffer's bound only as a last resort (Meta, FullSnapshot, identify, metadata). */
  keep: boolean;
}

/** Page → worker. */
export type ToWorker =
  /** First message: where to connect, and the events a previous page of the tab left unsent. */
  | { type: "init"; url: string; projectKey: string; tabId: string; events: PageEvent[]; snapshotNeeded: boolean }
  | { type: "event"; event: PageEvent }
  /** The answer to `hello?`: what `hello` says, and the token to present. */
  | { type: "hello"; info: HelloInfo; token: string | undefined }
  | { type: "flush" }
  | { type: "retry" }
  | { type: "end"; reason: string | undefined }
  | { type: "stop" }
  | { type: "signal"; signal: TrackerSignal };

/** Worker → page. */
export type FromWorker =
  /** The worker runs (until then, an `error` on the Worker means it never will). */
  | { type: "ready" }
  /** A connection attempt waits for the page's `hello`. */
  | { type: "hello?" }
  | { type: "welcome"; limits: Limits; welcome: WelcomeInfo; helpCodes: boolean }
  | { type: "closed" }
  /** Every event with `seq <= seq` left the buffer (acknowledged). */
  | { type: "acked"; seq: number }
  /** The one event `seq` left the buffer (rejected, or too big to send). */
  | { type: "removed"; seq: number }
  /** The bound dropped events: of those with `seq <= through`, only `seqs` are still held. */
  | { type: "kept"; seqs: number[]; through: number }
  /** The buffer was emptied (a new session, or the session ended): everything `<= through` went. */
  | { type: "cleared"; through: number }
  /** Take a full snapshot now (`resync`, a new session, or events were dropped). */
  | { type: "snapshot" }
  | { type: "signal"; signal: PageSignal }
  | { type: "store-token"; token: string }
  | { type: "forget-token"; token: string | undefined }
  | { type: "stopped"; reason: string };

/**
 * The page's copy of the events handed to the worker and not yet known to have left its buffer,
 * oldest first. `snapshotNeeded` follows the worker buffer's flag: set when the bound dropped
 * events, cleared when the connection takes the snapshot that makes up for them.
 */
export class PageCopy {
  private events: PageEvent[] = [];
  snapshotNeeded = false;

  get size(): number {
    return this.events.length;
  }

  /** Length of the events' JSON held, in UTF-16 units: their bytes, near enough for pacing. */
  get bytes(): number {
    let total = 0;
    for (const e of this.events) total += e.json.length;
    return total;
  }

  /** Highest `seq` held, or 0. */
  get lastSeq(): number {
    return this.events[this.events.length - 1]?.seq ?? 0;
  }

  all(): readonly PageEvent[] {
    return this.events;
  }

  push(event: PageEvent): void {
    this.events.push(event);
  }

  /** Follows one worker message; messages that say nothing about the buffer are ignored. */
  apply(message: FromWorker): void {
    switch (message.type) {
      case "acked": {
        let n = 0;
        while (n < this.events.length && this.events[n]!.seq <= message.seq) n++;
        if (n > 0) this.events.splice(0, n);
        break;
      }
      case "removed":
        this.events = this.events.filter((e) => e.seq !== message.seq);
        break;
      case "kept": {
        const kept = new Set(message.seqs);
        this.events = this.events.filter((e) => e.seq > message.through || kept.has(e.seq));
        this.snapshotNeeded = true;
        break;
      }
      case "cleared":
        this.events = this.events.filter((e) => e.seq > message.through);
        this.snapshotNeeded = false;
        break;
      case "snapshot":
        this.snapshotNeeded = false;
        break;
    }
  }

  /** Saves the copy as {@link EventBuffer.save} saves a buffer, so either kind of page loads it. */
  save(storage: StorageLike, key: string): number {
    return saveEvents(storage, key, this.events.map(savedEvent), this.snapshotNeeded);
  }

  /** Loads what a previous page of the tab saved under `key` (and removes it); empty if none. */
  static load(storage: StorageLike, key: string): PageCopy {
    const copy = new PageCopy();
    const saved = loadSaved(storage, key);
    if (saved === null) return copy;
    for (const e of saved.events) {
      if (e.s <= copy.lastSeq) continue;
      copy.push({ seq: e.s, ts: e.t, kind: e.k, json: e.d, keep: e.p === 1 });
    }
    copy.snapshotNeeded = saved.snapshotNeeded;
    return copy;
  }
}

function savedEvent(e: PageEvent): SavedEvent {
  return e.keep ? { s: e.seq, t: e.ts, k: e.kind, d: e.json, p: 1 } : { s: e.seq, t: e.ts, k: e.kind, d: e.json };
}
