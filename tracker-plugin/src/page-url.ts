/**
 * The page's address as the tracker records it. Query strings and fragments carry secrets more
 * often than not (OAuth codes, password-reset and magic-link tokens, session ids in old apps),
 * so by default only the origin and path are recorded: in `hello` (the page and its referrer)
 * and in rrweb's Meta events. A site whose queries are safe to keep opts in with
 * `start({ recordQuery: true })`.
 */

import { EventType, type eventWithTime } from "rrweb";

/** `url` without its query string and fragment; a string that is not a URL is cut at `?` or `#`. */
export function withoutQuery(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.search = "";
    parsed.hash = "";
    return parsed.href;
  } catch {
    return url.split(/[?#]/, 1)[0] ?? "";
  }
}

/** `url` as the tracker records it: whole when the site opted in, else {@link withoutQuery}. */
export function recordedUrl(url: string, recordQuery: boolean): string {
  return recordQuery ? url : withoutQuery(url);
}

/** `event`, with a Meta event's `href` as the tracker records it. */
export function recordedEvent(event: eventWithTime, recordQuery: boolean): eventWithTime {
  if (recordQuery || event.type !== EventType.Meta) return event;
  return { ...event, data: { ...event.data, href: withoutQuery(event.data.href) } };
}
