/**
 * Events recorded but not yet acknowledged by the server, in `seq` order.
 *
 * An event stays here from the moment it is recorded until an `ack` covers it (or the server
 * `rejected` it), across reconnects. The buffer is saved to `sessionStorage` when the page is
 * hidden or unloaded and loaded by the next page of the same tab, so a reload or navigation does
 * not lose what was in flight.
 *
 * **Bound.** At most {@link DEFAULT_MAX_EVENTS} events and {@link DEFAULT_MAX_BYTES} bytes of
 * event data. When a new event would go over, the oldest events are dropped, first those that
 * are not *kept* (kept: rrweb Meta and FullSnapshot events, identify and metadata events), then,
 * only if that is not enough, the oldest kept ones. Dropping anything sets
 * {@link EventBuffer.snapshotNeeded}: the connection then takes a fresh full snapshot once it is
 * connected again, so the agent's view is whole even though some history is missing.
 *
 * **Saving** is best effort: browsers allow a few MiB of `sessionStorage` per origin. If the
 * whole buffer does not fit, the newest events that fit are saved and the loaded buffer asks for
 * a fresh snapshot (a reloaded page takes one anyway).
 */

import type { EventKind, TrackerEvent } from "./protocol";
import { type StorageLike, readJson, removeItem, writeJson } from "./storage";

export const DEFAULT_MAX_EVENTS = 5_000;
export const DEFAULT_MAX_BYTES = 20 * 1024 * 1024;

/** An event in the buffer. `keep` marks events dropped only as a last resort. */
export interface BufferedEvent extends TrackerEvent {
  keep: boolean;
}

export interface BufferLimits {
  maxEvents: number;
  maxBytes: number;
}

/** An event as saved: data as its JSON text (UTF-8 decodes and re-encodes byte for byte). */
export interface SavedEvent {
  s: number;
  t: number;
  k: EventKind;
  d: string;
  p?: 1;
}

/** The saved form, written by {@link saveEvents} and read by {@link loadSaved}. */
export interface SavedBuffer {
  v: 1;
  snapshotNeeded: boolean;
  events: SavedEvent[];
}

/**
 * Saves `events` (oldest first) under `key`, the way {@link EventBuffer.save} says: everything if
 * storage takes it, else the newest half, quarter, ... marked as needing a snapshot. Returns how
 * many were saved. The delivery worker's page copy saves through this too.
 */
export function saveEvents(storage: StorageLike, key: string, all: SavedEvent[], snapshotNeeded: boolean): number {
  if (all.length === 0 && !snapshotNeeded) {
    removeItem(storage, key);
    return 0;
  }
  for (let n = all.length; ; n = Math.floor(n / 2)) {
    const saved: SavedBuffer = { v: 1, snapshotNeeded: snapshotNeeded || n < all.length, events: all.slice(all.length - n) };
    if (writeJson(storage, key, saved)) return n;
    if (n === 0) {
      removeItem(storage, key);
      return 0;
    }
  }
}

/** Reads what {@link saveEvents} saved under `key` and removes it; `null` if nothing valid. */
export function loadSaved(storage: StorageLike, key: string): SavedBuffer | null {
  const saved = readJson(storage, key);
  removeItem(storage, key);
  return isSavedBuffer(saved) ? saved : null;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class EventBuffer {
  private events: BufferedEvent[] = [];
  private byteCount = 0;
  private readonly limits: BufferLimits;
  /** Events were dropped (by the bound or a failed save): take a full snapshot when connected. */
  snapshotNeeded = false;
  /** Events dropped by the bound since the buffer was made. */
  dropped = 0;

  constructor(limits: Partial<BufferLimits> = {}) {
    this.limits = {
      maxEvents: limits.maxEvents ?? DEFAULT_MAX_EVENTS,
      maxBytes: limits.maxBytes ?? DEFAULT_MAX_BYTES,
    };
  }

  get size(): number {
    return this.events.length;
  }

  /** Bytes of event data held. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Highest `seq` held, or 0. */
  get lastSeq(): number {
    return this.events[this.events.length - 1]?.seq ?? 0;
  }

  /** Adds an event; its `seq` must be above every held one. Applies the bound. */
  push(event: BufferedEvent): void {
    if (event.seq <= this.lastSeq) {
      throw new Error(`event seq ${event.seq} is not above ${this.lastSeq}`);
    }
    this.events.push(event);
    this.byteCount += event.data.byteLength;
    this.enforceBound();
  }

  /** Drops every event with `seq <= ack`. Returns how many were dropped. */
  ack(seq: number): number {
    const n = this.indexAfter(seq);
    if (n === 0) return 0;
    for (let i = 0; i < n; i++) this.byteCount -= this.events[i]!.data.byteLength;
    this.events.splice(0, n);
    return n;
  }

  /** Drops the one event `seq` (the server rejected it for good). */
  remove(seq: number): boolean {
    const i = this.indexAfter(seq - 1);
    const event = this.events[i];
    if (event === undefined || event.seq !== seq) return false;
    this.byteCount -= event.data.byteLength;
    this.events.splice(i, 1);
    return true;
  }

  /** Number of events with `seq > after`. */
  countAfter(after: number): number {
    return this.events.length - this.indexAfter(after);
  }

  /**
   * The next batch to send: events with `seq > after`, in order, at most `maxEvents` of them
   * and at most `maxBytes` of data (a single larger event goes alone).
   */
  batchAfter(after: number, maxEvents: number, maxBytes: number): BufferedEvent[] {
    const batch: BufferedEvent[] = [];
    let bytes = 0;
    for (let i = this.indexAfter(after); i < this.events.length && batch.length < maxEvents; i++) {
      const event = this.events[i]!;
      if (batch.length > 0 && bytes + event.data.byteLength > maxBytes) break;
      batch.push(event);
      bytes += event.data.byteLength;
    }
    return batch;
  }

  /** Every held event, oldest first. */
  all(): readonly BufferedEvent[] {
    return this.events;
  }

  clear(): void {
    this.events = [];
    this.byteCount = 0;
  }

  /**
   * Saves the buffer under `key`. Returns how many events were saved; fewer than held when
   * storage refused the whole buffer (then the saved part asks for a full snapshot).
   */
  save(storage: StorageLike, key: string): number {
    const all = this.events.map((e) => ({
      s: e.seq,
      t: e.ts,
      k: e.kind,
      d: decoder.decode(e.data),
      ...(e.keep ? { p: 1 as const } : {}),
    }));
    return saveEvents(storage, key, all, this.snapshotNeeded);
  }

  /** Loads a buffer saved under `key` (and removes it from storage); empty if none. */
  static load(storage: StorageLike, key: string, limits: Partial<BufferLimits> = {}): EventBuffer {
    const buffer = new EventBuffer(limits);
    const saved = loadSaved(storage, key);
    if (saved === null) return buffer;
    for (const e of saved.events) {
      if (e.s <= buffer.lastSeq) continue;
      buffer.push({ seq: e.s, ts: e.t, kind: e.k, data: encoder.encode(e.d), keep: e.p === 1 });
    }
    buffer.snapshotNeeded ||= saved.snapshotNeeded;
    return buffer;
  }

  /** Index of the first event with `seq > after` (binary search; events are sorted by seq). */
  private indexAfter(after: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.seq <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private overBound(): boolean {
    return this.events.length > this.limits.maxEvents || this.byteCount > this.limits.maxBytes;
  }

  private enforceBound(): void {
    if (!this.overBound()) return;
    const before = this.events.length;
    // First pass: drop the oldest events that are not kept, until within the bound.
    const survivors: BufferedEvent[] = [];
    let count = this.events.length;
    let bytes = this.byteCount;
    for (const event of this.events) {
      const over = count > this.limits.maxEvents || bytes > this.limits.maxBytes;
      if (over && !event.keep) {
        count--;
        bytes -= event.data.byteLength;
      } else {
        survivors.push(event);
      }
    }
    // Second pass, only if kept events alone are over: drop the oldest of them too.
    while (survivors.length > 1 && (count > this.limits.maxEvents || bytes > this.limits.maxBytes)) {
      const event = survivors.shift()!;
      count--;
      bytes -= event.data.byteLength;
    }
    this.events = survivors;
    this.byteCount = bytes;
    this.dropped += before - survivors.length;
    this.snapshotNeeded = true;
  }
}

function isSavedBuffer(v: unknown): v is SavedBuffer {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Partial<SavedBuffer>;
  return (
    s.v === 1 &&
    Array.isArray(s.events) &&
    s.events.every(
      (e) =>
        typeof e === "object" &&
        e !== null &&
        Number.isSafeInteger(e.s) &&
        e.s > 0 &&
        typeof e.t === "number" &&
        (e.k === "rrweb" || e.k === "identify" || e.k === "metadata") &&
        typeof e.d === "string",
    )
  );
}
