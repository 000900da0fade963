/**
 * The user's side of consent (§9.5): prompts for agents' requests, the grants in force, and the
 * Stop buttons.
 *
 * - A `consent_request` shows a prompt; Accept or Decline answers it with `consent`, and one
 *   left unanswered for {@link CONSENT_TIMEOUT_MS} is declined with reason `timeout` (before the
 *   server's own 35 s, so the record says the user did not answer). Several prompts may be open
 *   at once; `consent_cancel` removes one (answered in another tab, withdrawn, agent gone).
 * - A `grants` list replaces the grants; while any is on, the indicator shows it.
 * - Stop sends `revoke` and turns the grant off here at once, before the server confirms (see
 *   {@link GrantSet}), so the agent's input still in flight is not performed.
 *
 * Answers are sent only live; one given while the connection is down is lost, and the server
 * times the request out.
 */

import { GrantIndicator } from "./grant-indicator";
import { GrantSet } from "./grants";
import { log } from "./log";
import { PROMPT_CSS, renderPrompt } from "./consent-prompt";
import type { PageUi } from "./page-ui";
import type { ConsentRequest, Grant, GrantKind, TrackerSignal } from "./protocol";

/** An unanswered prompt is declined after this long. */
export const CONSENT_TIMEOUT_MS = 30_000;

export interface ConsentOptions {
  ui: PageUi;
  /** Sends an answer or revoke; says whether it reached the socket. */
  send: (signal: TrackerSignal) => boolean;
  /** The grants in force changed (a new list, or the user stopped one). */
  onChange?: () => void;
}

interface Pending {
  element: HTMLElement;
  timer: ReturnType<typeof setTimeout>;
}

export class Consent {
  private readonly ui: PageUi;
  private readonly send: (signal: TrackerSignal) => boolean;
  private readonly onChange: () => void;
  private readonly grants = new GrantSet();
  private readonly indicator: GrantIndicator;
  private readonly pending = new Map<string, Pending>();
  private prompts: HTMLElement | null = null;

  constructor(options: ConsentOptions) {
    this.ui = options.ui;
    this.send = options.send;
    this.onChange = options.onChange ?? (() => {});
    this.indicator = new GrantIndicator(options.ui, (grant) => this.stop(grant));
  }

  /** Whether the page may act for `agentId` under a `kind` grant now. */
  allows(kind: GrantKind, agentId: string): boolean {
    return this.grants.allows(kind, agentId);
  }

  /** The agent's name as the grants give it (for the cursor label). */
  agentName(agentId: string): string | undefined {
    return this.grants.agentName(agentId);
  }

  /** Shows a prompt for `request` (once per request id). */
  request(request: ConsentRequest): void {
    if (this.pending.has(request.request_id)) return;
    const element = renderPrompt(this.ui.document, request, (granted) => {
      if (granted) this.grants.accepted(request.kind, request.agent.id);
      this.answer(request.request_id, granted ? { granted: true } : { granted: false, reason: "declined" });
    });
    const timer = setTimeout(
      () => this.answer(request.request_id, { granted: false, reason: "timeout" }),
      CONSENT_TIMEOUT_MS,
    );
    this.pending.set(request.request_id, { element, timer });
    this.promptList().append(element);
  }

  /** Removes the prompt of `requestId` without answering it. */
  cancel(requestId: string): void {
    const pending = this.pending.get(requestId);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    pending.element.remove();
    this.pending.delete(requestId);
    if (this.pending.size === 0) {
      this.prompts?.remove();
      this.prompts = null;
    }
  }

  /** Takes the server's grants list. */
  setGrants(list: Grant[]): void {
    for (const grant of this.grants.update(list)) {
      if (this.sendRevoke(grant)) this.grants.revokeSent(grant);
    }
    this.changed();
  }

  /** Removes every prompt and the indicator, and stops the timers; nothing is answered. */
  close(): void {
    for (const requestId of [...this.pending.keys()]) this.cancel(requestId);
    this.indicator.remove();
  }

  private answer(requestId: string, answer: { granted: true } | { granted: false; reason: "declined" | "timeout" }): void {
    if (!this.pending.has(requestId)) return;
    this.cancel(requestId);
    if (!this.send({ type: "consent", request_id: requestId, ...answer })) {
      log.debug(`consent answer for ${requestId} not sent: not connected`);
    }
  }

  private stop(grant: Grant): void {
    this.grants.stop(grant, this.sendRevoke(grant));
    this.changed();
  }

  private sendRevoke(grant: Grant): boolean {
    return this.send({ type: "revoke", kind: grant.kind, agent_id: grant.agent.id });
  }

  private changed(): void {
    this.indicator.show(this.grants.active());
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
