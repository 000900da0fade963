/**
 * Whether the page's `<canvas>` elements may stream to the agents that want them (protocol.md
 * §10). rrweb does not record canvas content, so streaming one shows the agent something the
 * recording does not: the site decides with `start({ canvas })`.
 *
 * - `"ask"` (the default): when the server first says an agent wants canvases, the user gets a
 *   prompt like any other request; they stream only once the user accepts. The answer holds for
 *   the tab (across its reloads) until no agent wants canvases any more; the next want asks again.
 * - `"never"`: canvases never stream; the server's `canvas` messages are ignored.
 * - `"always"`: they stream whenever an agent wants them, without asking.
 */

import { type StorageLike, readJson, removeItem, writeJson } from "./storage";

export type CanvasPolicy = "ask" | "never" | "always";

/** The tab's storage key of the user's Accept, so the tab's next page does not ask again. */
export const CANVAS_ACCEPTED_KEY = "cobrowse.canvas.accepted";

export interface CanvasConsentOptions {
  policy: CanvasPolicy;
  /** Shows the user the prompt; `answer` gets their choice (false on timeout). */
  ask: (answer: (granted: boolean) => void) => void;
  /** Removes the prompt unanswered: nobody wants the canvases any more. */
  cancel: () => void;
  storage: StorageLike;
  /** Whether canvases may stream changed. */
  onChange: () => void;
}

export class CanvasConsent {
  private readonly options: CanvasConsentOptions;
  /** The server's latest `canvas {on}`. */
  private wanted = false;
  private asking = false;
  /** The user answered this want: undefined until they do (or when the policy decides). */
  private answer: boolean | undefined;

  constructor(options: CanvasConsentOptions) {
    this.options = options;
    this.answer = readJson(options.storage, CANVAS_ACCEPTED_KEY) === true ? true : undefined;
  }

  /** Whether the canvases stream now: an agent wants them and the site or the user allows it. */
  get streams(): boolean {
    switch (this.options.policy) {
      case "never":
        return false;
      case "always":
        return this.wanted;
      case "ask":
        return this.wanted && this.answer === true;
    }
  }

  /** The server says whether any agent wants the page's canvases. */
  want(on: boolean): void {
    this.wanted = on;
    if (!on) {
      this.answer = undefined;
      removeItem(this.options.storage, CANVAS_ACCEPTED_KEY);
      if (this.asking) {
        this.asking = false;
        this.options.cancel();
      }
    } else if (this.options.policy === "ask" && this.answer === undefined && !this.asking) {
      this.asking = true;
      this.options.ask((granted) => this.answered(granted));
    }
    this.options.onChange();
  }

  /** A new connection: the server says again after `welcome` whether canvases are wanted. */
  connected(): void {
    this.wanted = false;
  }

  private answered(granted: boolean): void {
    if (!this.asking) return;
    this.asking = false;
    this.answer = granted;
    if (granted) writeJson(this.options.storage, CANVAS_ACCEPTED_KEY, true);
    this.options.onChange();
  }
}
