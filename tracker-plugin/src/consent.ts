/**
 * The user's side of consent (§9.5): prompts for agents' requests, the grants in force, and the
 * Stop buttons.
 *
 * - A `consent_request` shows a prompt; Accept or Decline answers it with `consent`, and one
 *   left unanswered for {@link CONSENT_TIMEOUT_MS} is declined with reason `timeout` (before the
 *   server's own 35 s, so the record says the user did not answer). Several prompts may be open
 *   at once; `consent_cancel` removes one (answered in another tab, withdrawn, agent gone).
 *   Accept works only {@link ACCEPT_DELAY_MS} after its prompt appeared or last moved (the
 *   prompts below one that goes away move up).
 * - A `grants` list replaces the grants; while a `control` or `annotate` grant is on, the
 *   indicator shows it (`call` and `record` grants are shown by the call window).
 * - Stop sends `revoke` and turns the grant off here at once, before the server confirms, so the
 *   agent's input still in flight is not performed. The Stop is kept in the tab's storage and the
 *   `revoke` sent again after every `welcome` ({@link Consent.connected}) until a `grants` list
 *   no longer holds the grant (see {@link GrantSet}): a `revoke` lost with the connection or the
 *   page cannot give the agent back what the user stopped.
 * - Hang up ({@link Consent.hangup}) sends `hangup` and stops every `call` and `record` grant
 *   here the way Stop does, so a `grants` list the server sent before it saw the `hangup` does
 *   not start the call again.
 *
 * Answers are sent only live; one given while the connection is down is lost, and the server
 * times the request out.
 *
 * A site may render a prompt itself (`onConsentRequest`, custom-prompt.ts): the request then
 * waits for its answer under the same timeout, and the site's prompt is told to go away by the
 * same events that remove a built-in one.
 */

import { GrantIndicator } from "./grant-indicator";
import { GrantSet, type StoppedGrant } from "./grants";
import { log } from "./log";
import { PROMPT_CSS, type Prompt, type PromptRequest, renderPrompt } from "./consent-prompt";
import { type ConsentRequestHandler, customPrompt } from "./custom-prompt";
import type { PageUi } from "./page-ui";
import type { ConsentRequest, Grant, GrantKind, TrackerSignal } from "./protocol";
import type { StorageLike } from "./storage";

/** An unanswered prompt is declined after this long. */
export const CONSENT_TIMEOUT_MS = 30_000;

export interface ConsentOptions {
  ui: PageUi;
  /** Sends an answer or revoke; says whether it reached the socket. */
  send: (signal: TrackerSignal) => boolean;
  /** The grants in force changed (a new list, or the user stopped one). */
  onChange?: () => void;
  /** The user accepted `request` and the answer went out. */
  onAccepted?: (request: ConsentRequest) => void;
  /** The tab's storage (`sessionStorage`), where the grants the user stopped are kept. */
  storage?: StorageLike;
  /** The site's `onConsentRequest`: told of each request, and may render the prompt itself. */
  onRequest?: ConsentRequestHandler;
}

interface Pending {
  /** The built-in prompt, or the site's (`settle` tells it the request is over). */
  prompt: Prompt | { settle: () => void };
  timer: ReturnType<typeof setTimeout>;
}

export class Consent {
  private readonly ui: PageUi;
  private readonly send: (signal: TrackerSignal) => boolean;
  private readonly onChange: () => void;
  private readonly onAccepted: (request: ConsentRequest) => void;
  private readonly onRequest: ConsentRequestHandler | undefined;
  private readonly grants: GrantSet;
  private readonly indicator: GrantIndicator;
  private readonly pending = new Map<string, Pending>();
  private prompts: HTMLElement | null = null;

  constructor(options: ConsentOptions) {
    this.ui = options.ui;
    this.send = options.send;
    this.onChange = options.onChange ?? (() => {});
    this.onAccepted = options.onAccepted ?? (() => {});
    this.onRequest = options.onRequest;
    this.grants = new GrantSet(options.storage);
    this.indicator = new GrantIndicator(options.ui, (grant) => this.stop(grant));
  }

  /** Whether the page may act for `agentId` under a `kind` grant now. */
  allows(kind: GrantKind, agentId: string): boolean {
    return this.grants.allows(kind, agentId);
  }

  /** The grants in force: the server's list minus what the user stopped here. */
  active(): Grant[] {
    return this.grants.active();
  }

  /** The agent's name as the grants give it (for the cursor label). */
  agentName(agentId: string): string | undefined {
    return this.grants.agentName(agentId);
  }

  /** Shows a prompt for `request` (once per request id). */
  request(request: ConsentRequest): void {
    if (this.pending.has(request.request_id)) return;
    const timer = setTimeout(
      () => this.answer(request.request_id, { granted: false, reason: "timeout" }),
      CONSENT_TIMEOUT_MS,
    );
    this.show(request, timer, (granted) => {
      const sent = this.answer(request.request_id, granted ? { granted: true } : { granted: false, reason: "declined" });
      if (granted && sent) {
        this.grants.accepted(request.kind, request.agent.id);
        this.onAccepted(request);
      }
    });
  }

  /**
   * Shows a prompt the page answers itself (`request.request_id` must not be a server's): the
   * user's choice goes to `answer`, and no answer within {@link CONSENT_TIMEOUT_MS} is `false`.
   * Accept behaves as on every prompt.
   */
  ask(request: PromptRequest, answer: (granted: boolean) => void): void {
    if (this.pending.has(request.request_id)) return;
    const decide = (granted: boolean): void => {
      if (!this.pending.has(request.request_id)) return;
      this.cancel(request.request_id);
      answer(granted);
    };
    this.show(request, setTimeout(() => decide(false), CONSENT_TIMEOUT_MS), decide);
  }

  /** Hands `request` to the site's prompt if it takes it, else shows the built-in one. */
  private show(request: PromptRequest, timer: ReturnType<typeof setTimeout>, answer: (granted: boolean) => void): void {
    if (this.onRequest !== undefined) {
      const custom = customPrompt(request, this.ui.labels, answer);
      this.pending.set(request.request_id, { prompt: custom, timer });
      let taken: unknown = false;
      try {
        taken = this.onRequest(custom.info);
      } catch (error) {
        log.error("onConsentRequest threw; showing the built-in prompt", error);
      }
      if (taken === true) {
        // The site's prompt is on the page now: Accept's delay counts from here.
        custom.shown();
        return;
      }
      // Already answered from inside the handler (a decline).
      if (!this.pending.has(request.request_id)) return;
      // The site left it to the built-in prompt: its request object no longer answers.
      custom.settle();
    }
    const prompt = renderPrompt(this.ui.document, this.ui.labels, request, answer);
    this.pending.set(request.request_id, { prompt, timer });
    this.promptList().append(prompt.element);
  }

  /** Removes the prompt of `requestId` without answering it. */
  cancel(requestId: string): void {
    const pending = this.pending.get(requestId);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    if ("settle" in pending.prompt) pending.prompt.settle();
    else {
      pending.prompt.dispose();
      pending.prompt.element.remove();
    }
    // The prompts below it (shown later) move up, maybe under the pointer: hold their Accept again.
    let below = false;
    for (const [id, other] of this.pending) {
      if (below && "hold" in other.prompt) other.prompt.hold();
      else below ||= id === requestId;
    }
    this.pending.delete(requestId);
    if (![...this.pending.values()].some((p) => "element" in p.prompt)) {
      this.prompts?.remove();
      this.prompts = null;
    }
  }

  /** A new connection is open (`welcome`): revokes every grant the user stopped, again. */
  connected(): void {
    this.revoke(this.grants.connected());
  }

  /** Takes the server's grants list. */
  setGrants(list: Grant[]): void {
    this.revoke(this.grants.update(list));
    this.changed();
  }

  /** Removes every prompt and the indicator, and stops the timers; nothing is answered. */
  close(): void {
    for (const requestId of [...this.pending.keys()]) this.cancel(requestId);
    this.indicator.remove();
  }

  /** Sends the answer; says whether it reached the socket. */
  private answer(requestId: string, answer: { granted: true } | { granted: false; reason: "declined" | "timeout" }): boolean {
    if (!this.pending.has(requestId)) return false;
    this.cancel(requestId);
    if (this.send({ type: "consent", request_id: requestId, ...answer })) return true;
    log.debug(`consent answer for ${requestId} not sent: not connected`);
    return false;
  }

  /** The user stopped `grant`: sends `revoke` and turns it off here at once. */
  stop(grant: Grant): void {
    this.grants.stop(grant, this.sendRevoke({ kind: grant.kind, agent_id: grant.agent.id }));
    this.changed();
  }

  /**
   * The user hung up: sends `hangup`, which ends every `call` and `record` grant, and turns them
   * off here at once. Should the `hangup` not reach the server, each is revoked after the next
   * `welcome`, like a Stop.
   */
  hangup(): void {
    const sent = this.send({ type: "hangup" });
    for (const grant of this.grants.active()) {
      if (grant.kind === "call" || grant.kind === "record") this.grants.stop(grant, sent);
    }
    this.changed();
  }

  private revoke(grants: StoppedGrant[]): void {
    for (const grant of grants) {
      if (this.sendRevoke(grant)) this.grants.revokeSent(grant);
    }
  }

  private sendRevoke(grant: StoppedGrant): boolean {
    return this.send({ type: "revoke", kind: grant.kind, agent_id: grant.agent_id });
  }

  private changed(): void {
    this.indicator.show(this.grants.active().filter((g) => g.kind !== "call" && g.kind !== "record"));
    this.onChange();
  }

  /** The live region the prompts are shown in, created with the first one. */
  private promptList(): HTMLElement {
    if (this.prompts === null || !this.prompts.isConnected) {
      this.prompts = this.ui.document.createElement("div");
      this.prompts.className = "prompts";
      this.prompts.setAttribute("aria-live", "polite");
      this.ui.mount(this.prompts, PROMPT_CSS);
    }
    return this.prompts;
  }
}
