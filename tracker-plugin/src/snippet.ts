/**
 * The async snippet's queue (snippet.js, README "Async snippet"): a site pastes a few lines that
 * define a stand-in `Cobrowse` and load `/tracker.js` with `async`, so the page never waits for
 * the tracker, and can call `Cobrowse.start(…)`, `identify(…)`, `sessionURL(…)` and the rest at
 * once. Each call on the stand-in is queued as `[method, arguments, resolve, reject]` and returns
 * a promise; when the bundle loads, {@link replayQueued} makes the calls in order and settles
 * each promise with what the real call returned (or threw).
 *
 * The stand-in stays usable afterwards (a script may have kept a reference to it): its queue is
 * replaced by one whose `push` makes the call at once.
 */

import { log } from "./log";

/** One queued call, as the snippet pushes it. */
type QueuedCall = [method: string, args: ArrayLike<unknown>, resolve?: (value: unknown) => void, reject?: (error: unknown) => void];

/** The snippet's stand-in: whatever methods it defined, and `q`. */
interface StandIn {
  q?: unknown;
}

/**
 * Makes the calls `standIn.q` holds on `api`, in order. Does nothing when `standIn` is not the
 * snippet's (no snippet on the page, or the bundle loaded twice).
 */
export function replayQueued(standIn: unknown, api: object): void {
  if (typeof standIn !== "object" || standIn === null) return;
  const queue = (standIn as StandIn).q;
  if (!Array.isArray(queue)) return;
  const run = (entry: unknown): number => {
    call(api, entry);
    return 0;
  };
  // Calls made while replaying (a callback of `start` calling `identify`) are pushed onto the
  // same array: the loop reaches them in turn.
  for (let i = 0; i < queue.length; i++) run(queue[i]);
  (standIn as StandIn).q = { push: run };
}

function call(api: object, entry: unknown): void {
  if (!Array.isArray(entry) || typeof entry[0] !== "string") {
    log.warn("ignoring a queued call that is not the snippet's");
    return;
  }
  const [method, args, resolve, reject] = entry as QueuedCall;
  const fn = (api as Record<string, unknown>)[method];
  try {
    if (typeof fn !== "function" || !Object.prototype.hasOwnProperty.call(api, method)) {
      throw new TypeError(`cobrowse: no method "${method}"; see the README for the API`);
    }
    const result: unknown = fn(...Array.from(args ?? []));
    resolve?.(result);
  } catch (error) {
    if (reject === undefined) log.error(error);
    else reject(error);
  }
}
