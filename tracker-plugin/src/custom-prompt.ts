/**
 * A consent prompt the site renders itself (`start({ onConsentRequest })`): the request as the
 * site sees it, and the one way it can answer.
 *
 * The site's Accept hands over the user's own event (`request.accept(event)`), and the tracker
 * takes it only if the browser made it (`isTrusted`), the browser is dispatching it right now
 * (`eventPhase` is not `NONE`: `accept` is called from the event's listener, not with an event
 * kept from earlier), it is a `click` or a `pointerup`, and it came at least
 * {@link ACCEPT_DELAY_MS} after the site's prompt was rendered (its handler returned): the same
 * rules as the built-in prompt. A script on the page cannot grant an agent anything by calling
 * `accept` with an event it made (`dispatchEvent`, `click()`) or one it stored, and a click meant
 * for the page cannot land on an Accept that appeared under the pointer.
 *
 * Key events are refused, like on the built-in prompt: a key goes wherever focus is, so an Enter
 * typed into a form (or held down, repeating) could otherwise answer a prompt it was not meant
 * for. Keyboard users are not left out: Enter or Space on a `<button>` makes the browser fire a
 * trusted `click` on that button, which is what the site hands over. A refused `accept` leaves
 * the request pending. Declining needs no proof: refusing is always safe.
 *
 * Every fact is read through the browser's own getters (see user-input.ts), so neither an object
 * made up to look like an event nor a real event kept from earlier with its `eventPhase`,
 * `type` or `timeStamp` redefined gets through; a framework's wrapper (React's SyntheticEvent)
 * is not an event either: hand over its `nativeEvent`.
 */

import { ACCEPT_DELAY_MS, type PromptKind, type PromptRequest, askText, detailText } from "./consent-prompt";
import type { Labels } from "./labels";
import { byUser } from "./user-input";

/** The events that show the user meant to answer (see the module's comment for keys). */
const ACTIVATIONS = new Set(["click", "pointerup"]);

/** The browser's getters of what `takes` checks, taken when the tracker loads. */
const eventGetter = (name: string): ((this: Event) => unknown) | undefined =>
  Object.getOwnPropertyDescriptor(Event.prototype, name)?.get;
const PHASE = eventGetter("eventPhase");
const TYPE = eventGetter("type");
const TIME_STAMP = eventGetter("timeStamp");

/** What the browser says of `event`: its phase, type and time; null if it is not a real event. */
function dispatchFacts(event: Event): { phase: unknown; type: unknown; timeStamp: unknown } | null {
  if (PHASE === undefined || TYPE === undefined || TIME_STAMP === undefined) return null;
  try {
    return { phase: PHASE.call(event), type: TYPE.call(event), timeStamp: TIME_STAMP.call(event) };
  } catch {
    return null;
  }
}

/** A request for the user's consent, handed to the site's `onConsentRequest`. */
export interface ConsentRequestInfo {
  /** The request's id (stable while it is pending). */
  readonly id: string;
  /**
   * What the agent asks for: `control`, `annotate`, `call`, `record` (the call), or `canvas` (the
   * page's canvases as video; asked by the page itself under `canvas: "ask"`).
   */
  readonly kind: PromptKind;
  /** Who asks (the canvas prompt names no one: "An agent", in the tracker's locale). */
  readonly agent: { readonly name: string };
  /** For a call: whether the agent asks for video. */
  readonly video: boolean;
  /** The built-in prompt's title and explanation, in the tracker's locale. */
  readonly title: string;
  readonly detail: string;
  /**
   * Aborted once the request needs no answer any more: answered here, timed out (30 s),
   * answered in another tab, withdrawn by the agent, or the tracker stopped. Remove your prompt
   * then (e.g. `addEventListener(…, { signal })`).
   */
  readonly signal: AbortSignal;
  /**
   * Accepts, with the user's event on your Accept control, from that event's listener. Returns
   * whether it was taken: `false` for an event a script made (`!event.isTrusted`), one that is
   * not being dispatched (kept from earlier), one that is not a `click` or `pointerup`, one
   * within 0.6 s of your handler's return, or a request already settled. The request then stays
   * pending.
   */
  accept(event: Event): boolean;
  /** Declines. */
  decline(): void;
}

/**
 * The site's handler: return `true` to show your own prompt for this request (the built-in one
 * is then not shown), anything else for the built-in prompt. Render the prompt before returning:
 * Accept's 0.6 s count from the return.
 */
export type ConsentRequestHandler = (request: ConsentRequestInfo) => boolean | void;

/** A request handed to the site, and how the tracker settles it. */
export interface CustomPrompt {
  readonly info: ConsentRequestInfo;
  /** The site's handler returned: its prompt is on the page, and Accept's delay starts now. */
  shown(): void;
  /** The request is settled (by anyone): aborts `info.signal`. */
  settle(): void;
}

/**
 * The request the site sees for `request`; `answer` is called at most once, with the user's
 * choice. `now` is the clock events' `timeStamp` counts on (`performance.now()`).
 */
export function customPrompt(
  request: PromptRequest,
  labels: Labels,
  answer: (granted: boolean) => void,
  now: () => number = () => performance.now(),
): CustomPrompt {
  const controller = new AbortController();
  // Nothing is accepted before the site's prompt is shown (see `shown`).
  let shownAt = Number.POSITIVE_INFINITY;
  const video = request.video === true;
  const decide = (granted: boolean): void => {
    if (controller.signal.aborted) return;
    controller.abort();
    answer(granted);
  };
  const info: ConsentRequestInfo = {
    id: request.request_id,
    kind: request.kind,
    agent: { name: request.agent.name },
    video,
    title: askText(labels, request.kind, request.agent.name, video),
    detail: detailText(labels, request.kind, video),
    signal: controller.signal,
    accept(event: Event): boolean {
      if (!takes(event, shownAt)) return false;
      if (controller.signal.aborted) return false;
      decide(true);
      return true;
    },
    decline() {
      decide(false);
    },
  };
  return {
    info,
    shown: () => {
      if (shownAt === Number.POSITIVE_INFINITY) shownAt = now();
    },
    settle: () => controller.abort(),
  };
}

/** Whether `event` may accept a request whose prompt was shown at `shownAt`. */
function takes(event: Event, shownAt: number): boolean {
  if (typeof event !== "object" || event === null || !byUser(event)) return false;
  const facts = dispatchFacts(event);
  if (facts === null) return false;
  // Not being dispatched: an event kept from earlier (a click on the page before the prompt).
  if (facts.phase === Event.NONE || typeof facts.type !== "string" || typeof facts.timeStamp !== "number") return false;
  if (!ACTIVATIONS.has(facts.type)) return false;
  return facts.timeStamp >= shownAt + ACCEPT_DELAY_MS;
}
