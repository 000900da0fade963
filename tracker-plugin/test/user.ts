// jsdom cannot make a trusted event, so the tests mark the events that stand for the user's own
// input, and test/setup.ts has `byUser` (src/user-input.ts) accept exactly those.
export const userEvents = new WeakSet<Event>();

/**
 * When events happened, by the tests' say (ms on `performance.now()`'s clock). The tracker reads
 * `timeStamp` through `Event.prototype`'s getter, which test/setup.ts wraps to answer from here.
 */
export const stamps = new WeakMap<Event, number>();

/** A click by the user (not by a script on the page) on `el`. */
export function userClick(el: Element): void {
  const click = new MouseEvent("click", { bubbles: true, cancelable: true, composed: true });
  userEvents.add(click);
  el.dispatchEvent(click);
}
