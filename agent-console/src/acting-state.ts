// The state behind the agent's acting controls that is not the user's answer itself: which layer
// over the live player takes the mouse when the agent may both control and draw, and which short
// notice (a send that failed, a frame the server dropped) is up. Pure; time is an input.

import type { PageGrantKind } from "./protocol";

/** How long a notice about a failed send or a dropped frame stays up, ms. */
export const NOTICE_MS = 6000;

type Grants = Record<PageGrantKind, boolean>;

/** Which layer the mouse is for: a grant that just arrived takes it; with both, the agent picks. */
export class PointerChoice {
  private chosen: PageGrantKind = "control";
  private was: Grants = { control: false, annotate: false };

  /** The agent picked a layer (a drawing tool picks `annotate`). */
  choose(kind: PageGrantKind): void {
    this.chosen = kind;
  }

  /** The grants as they are now; one that was not there last time takes the mouse. */
  update(granted: Grants): void {
    if (granted.control && !this.was.control) this.chosen = "control";
    if (granted.annotate && !this.was.annotate) this.chosen = "annotate";
    this.was = { ...granted };
  }

  /** Holding both grants: which one the mouse is for; null otherwise. */
  get pointer(): PageGrantKind | null {
    return this.was.control && this.was.annotate ? this.chosen : null;
  }

  /** Which layers take input; none unless the live page is on screen. */
  active(showingLive: boolean): Grants {
    const control = showingLive && this.was.control;
    const annotate = showingLive && this.was.annotate;
    return {
      control: control && (!annotate || this.chosen === "control"),
      annotate: annotate && (!control || this.chosen === "annotate"),
    };
  }
}

/** The agent's own notice, else the server's last complaint, each for `NOTICE_MS`. */
export class Notices {
  private own: { text: string; at: number } | null = null;

  show(text: string, now: number): void {
    this.own = { text, at: now };
  }

  text(serverError: { text: string; at: number; refused?: boolean } | null, now: number): string {
    if (this.own && now - this.own.at > NOTICE_MS) this.own = null;
    if (this.own) return this.own.text;
    if (!serverError || now - serverError.at >= NOTICE_MS) return "";
    // A refusal by role names the role it takes; it is no dropped message.
    return serverError.refused ? `Refused: ${serverError.text}` : `The server dropped a message: ${serverError.text}`;
  }
}
