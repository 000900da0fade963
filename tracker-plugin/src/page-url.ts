/**
 * The page's address as the tracker records it. Query strings and fragments carry secrets more
 * often than not (OAuth codes, password-reset and magic-link tokens, session ids in old apps),
 * so by default only the origin and path are recorded: in `hello` (the page and its referrer),
 * in rrweb's Meta events and in network entries. A site whose queries are safe to keep opts in
 * with `start({ recordQuery: true })`. Credentials in a URL (`https://user:password@host/`) are
 * never recorded, whatever the options: they are a password in clear. With queries on, the
 * values of parameters named like secrets (`access_token`, `X-Amz-Signature`, `?code=`, the
 * rules of network-privacy.ts) are still replaced by `[redacted]`, in the query and in a
 * fragment made of parameters (`#access_token=…`, OAuth's implicit flow).
 */

import { EventType, type eventWithTime } from "rrweb";

import { REDACTED, isSecretName } from "./network-privacy";

/** A URL's `scheme://user:password@` prefix, for strings the URL parser does not take. */
const CREDENTIALS = /^([a-z][a-z\d+.-]*:\/\/)[^/?#]*@/i;

/** `url` without a username and password; a string that is not a URL loses `…@` after `scheme://`. */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === "" && parsed.password === "") return url;
    parsed.username = "";
    parsed.password = "";
    return parsed.href;
  } catch {
    return url.replace(CREDENTIALS, "$1");
  }
}

/**
 * `url` without its credentials, query string and fragment; a string that is not a URL is cut
 * at `?` or `#`.
 */
export function withoutQuery(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    parsed.search = "";
    parsed.hash = "";
    return parsed.href;
  } catch {
    return withoutCredentials(url.split(/[?#]/, 1)[0] ?? "");
  }
}

/**
 * `url` as the tracker records it: without credentials, and with its query and fragment only
 * when the site opted in ({@link withoutQuery} else).
 */
export function recordedUrl(url: string, recordQuery: boolean): string {
  return recordQuery ? withoutSecretParams(withoutCredentials(url)) : withoutQuery(url);
}

/** `url` with the values of its secret-named query and fragment parameters redacted. */
function withoutSecretParams(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL: nothing after `?` or `#` is kept rather than guessing where parameters are.
    return url.split(/[?#]/, 1)[0] ?? "";
  }
  const search = redactedParams(parsed.search.slice(1));
  const hash = redactedParams(parsed.hash.slice(1));
  if (search === null && hash === null) return url;
  if (search !== null) parsed.search = search;
  if (hash !== null) parsed.hash = hash;
  return parsed.href;
}

/** `query` (`a=1&b=2`) with secret-named values redacted; null when it has none. */
function redactedParams(query: string): string | null {
  if (!query.includes("=")) return null;
  const params = new URLSearchParams(query);
  let found = false;
  for (const name of new Set(params.keys())) {
    if (!isSecretName(name)) continue;
    found = true;
    params.set(name, REDACTED);
  }
  return found ? params.toString() : null;
}

/** `event`, with a Meta event's `href` as the tracker records it. */
export function recordedEvent(event: eventWithTime, recordQuery: boolean): eventWithTime {
  if (event.type !== EventType.Meta) return event;
  const href = recordedUrl(event.data.href, recordQuery);
  return href === event.data.href ? event : { ...event, data: { ...event.data, href } };
}
