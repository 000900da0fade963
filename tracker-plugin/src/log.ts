/**
 * The tracker's own logging. The console plugin wraps `console.*` once recording starts, so the
 * methods are captured when this module loads: the tracker's messages reach the developer's
 * console without being recorded into the session as if the page had logged them.
 */

const PREFIX = "[cobrowse]";
const original = {
  debug: console.debug.bind(console),
  warn: console.warn.bind(console),
  error: console.error.bind(console),
};

export const log = {
  debug: (...args: unknown[]): void => original.debug(PREFIX, ...args),
  warn: (...args: unknown[]): void => original.warn(PREFIX, ...args),
  error: (...args: unknown[]): void => original.error(PREFIX, ...args),
};
