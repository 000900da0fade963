/**
 * Whether an event is the user's own input. The tracker's prompts live in an open shadow root,
 * so any script on the page can find the Accept button and call `click()` on it; only the
 * browser's own input events are trusted (`isTrusted`), and only those may answer for the user.
 * A module of its own so that tests, whose DOM cannot make a trusted event, can stand in for it.
 *
 * `isTrusted` is read through the browser's own getter, taken when the tracker loads: it reads a
 * real event's internal flag and throws on anything else, so an object a script made up
 * (`{ isTrusted: true }`) is not taken for an event. (On a real event the property cannot be
 * redefined; any event's getter reads any other event.)
 */
const isTrusted = Object.getOwnPropertyDescriptor(new Event("cobrowse"), "isTrusted")?.get;

export function byUser(event: Event): boolean {
  if (isTrusted === undefined) return false;
  try {
    return isTrusted.call(event) === true;
  } catch {
    return false;
  }
}
