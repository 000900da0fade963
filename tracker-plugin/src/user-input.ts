/**
 * Whether an event is the user's own input. The tracker's prompts live in an open shadow root,
 * so any script on the page can find the Accept button and call `click()` on it; only the
 * browser's own input events are trusted (`isTrusted`), and only those may answer for the user.
 * A module of its own so that tests, whose DOM cannot make a trusted event, can stand in for it.
 */
export function byUser(event: Event): boolean {
  return event.isTrusted;
}
