/**
 * Reconnect delays: exponential backoff with full jitter. The n-th delay (n from 0) is uniform in
 * `[0, min(cap, base · 2^n))`, so reconnecting trackers spread out instead of arriving together
 * when a server comes back. A successful handshake resets it.
 */

export interface BackoffOptions {
  /** Upper end of the first delay, ms. */
  baseMs?: number;
  /** Largest delay, ms. */
  capMs?: number;
  /** Uniform in [0, 1), like `Math.random`. */
  random?: () => number;
}

export const DEFAULT_BASE_MS = 500;
export const DEFAULT_CAP_MS = 30_000;

export class Backoff {
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly random: () => number;
  private attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? DEFAULT_BASE_MS;
    this.capMs = options.capMs ?? DEFAULT_CAP_MS;
    this.random = options.random ?? Math.random;
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** Upper end of the next delay (exclusive), ms. */
  ceiling(): number {
    // 2^attempt overflows to Infinity long after it passes any cap; min() keeps it finite.
    return Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 52));
  }

  /** The delay before the next attempt, ms; each call counts one more failure. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceiling());
    this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}
