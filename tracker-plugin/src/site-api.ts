/**
 * The parts of the public API beyond recording (README "API"): the site's callbacks, its own
 * consent prompt, the texts and their language, strict-CSP settings, and the link to the
 * session. `StartOptions` and `Tracker` (index.ts) extend these, so each concern keeps its
 * options in one place.
 */

import type { ConsentRequestHandler } from "./custom-prompt";
import type { Labels } from "./labels";
import type { PageCallbacks } from "./page-events";

export type { AgentInfo, GrantChange, PageCallbacks, WatchingChange } from "./page-events";
export type { ConsentRequestHandler, ConsentRequestInfo } from "./custom-prompt";
export type { LabelKey, Labels } from "./labels";
export type { PromptKind } from "./consent-prompt";

/** Options of `start()` for the site's integration. */
export interface SiteOptions extends PageCallbacks {
  /**
   * Called for every consent request. Return `true` to render the prompt yourself and answer
   * through `request.accept(event)` / `request.decline()`; anything else shows the built-in one.
   */
  onConsentRequest?: ConsentRequestHandler;
  /**
   * The language of every text the tracker shows: `en` (default), `de`, `fr`, `es`, a tag such
   * as `de-AT`, or `"auto"` for the page's `<html lang>` (else the browser's language).
   */
  locale?: string;
  /** Texts to replace, by key (see the README's table); `{agent}`-style placeholders are filled in. */
  labels?: Partial<Labels>;
  /**
   * The nonce of the page's Content-Security-Policy (`style-src 'nonce-…'`): the tracker's
   * styles then go into `<style nonce>` elements. Without it they are constructed stylesheets
   * where the browser has them, which need no `style-src` at all.
   */
  nonce?: string;
  /**
   * The agent console's URL for {@link SessionLinks.sessionURL} (default: `server`, which serves
   * the console at `/`).
   */
  consoleUrl?: string;
}

export interface SessionURLOptions {
  /** Link to this moment and tab (`?t=…&tab=…`) rather than to the session as a whole. */
  atCurrentTime?: boolean;
}

/** What a site needs to point an agent at this session. */
export interface SessionLinks {
  /** The session's id; undefined until the tracker first connected. */
  sessionId(): string | undefined;
  /**
   * A link to the session in the agent console, for a support ticket:
   * `<console>/#/sessions/<id>`, with `atCurrentTime` the moment link `…?t=<ms after the
   * session's start>&tab=<tab>`. Undefined until the tracker first connected.
   */
  sessionURL(options?: SessionURLOptions): string | undefined;
}
