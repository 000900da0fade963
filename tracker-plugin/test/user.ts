// jsdom cannot make a trusted event, so the tests mark the events that stand for the user's own
// input, and test/setup.ts has `byUser` (src/user-input.ts) accept exactly those.
export const userEvents = new WeakSet<Event>();

/** A click by the user (not by a script on the page) on `el`. */
export function userClick(el: Element): void {
  const click = new MouseEvent("click", { bubbles: true, cancelable: true, composed: true });
  userEvents.add(click);
  el.dispatchEvent(click);
}
