// Which keys the agent's keyboard sends to the user's page (protocol.md §9.2 `key`): one
// printable character, or one of a few named keys. Anything with Ctrl/Cmd/Alt held stays with the
// agent's own browser (copy, switching tabs, …), as do keys the page would not act on.

import { NAMED_KEYS } from "../../generated/protocol";

/** Named keys the page performs, besides printable characters. */
const NAMED: ReadonlySet<string> = new Set(NAMED_KEYS);

/** A `KeyboardEvent.key` that types one character (as opposed to Enter, Shift, F5, …). */
export function isPrintableKey(key: string): boolean {
  return [...key].length === 1;
}

/** The key to send for a keydown, or null when it is not one the page is sent. */
export function sendableKey(e: { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean; isComposing?: boolean }): string | null {
  if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return null;
  return isPrintableKey(e.key) || NAMED.has(e.key) ? e.key : null;
}
