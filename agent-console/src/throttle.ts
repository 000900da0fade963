// Rate limiting for input the agent sends: the server accepts 50 frames a second per connection
// (protocol.md §9.2) and the page needs far fewer pointer moves than a mouse makes. A throttled
// call runs at once when the interval has passed, else once at its end with the latest arguments,
// so the last position is never lost.

export interface Throttled<A extends unknown[]> {
  (...args: A): void;
  /** Drops a call waiting for the end of the interval. */
  cancel(): void;
}

export function throttle<A extends unknown[]>(fn: (...args: A) => void, intervalMs: number, now: () => number = Date.now): Throttled<A> {
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending: A | null = null;
  const run = () => {
    timer = null;
    if (pending === null) return;
    const args = pending;
    pending = null;
    last = now();
    fn(...args);
  };
  const throttled = (...args: A) => {
    pending = args;
    const wait = last + intervalMs - now();
    if (wait <= 0 && timer === null) run();
    else if (timer === null) timer = setTimeout(run, Math.max(0, wait));
  };
  throttled.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    pending = null;
  };
  return throttled;
}
