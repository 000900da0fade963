/**
 * The dialog that asks the user whether an agent may control the page, draw on it, call them,
 * or record the call.
 *
 * It does not take focus when it appears: a key the user meant for the page (Enter in a form,
 * say) must never answer it. It is announced through the live region it is shown in, and
 * reached with Tab like any other control; Escape inside it declines.
 *
 * Accept is disabled for {@link ACCEPT_DELAY_MS} after the prompt appears, and again whenever
 * the prompt moves ({@link Prompt.hold}). An agent could otherwise make an Accept button appear
 * under the user's pointer (by requesting and releasing again and again) just as they click on
 * the page, and a double click on one Accept could land on the next prompt's. Accept takes only
 * the user's own clicks ({@link byUser}): a script on the page cannot accept for them.
 */

import { type Labels, fill } from "./labels";
import type { GrantKind } from "./protocol";
import { UI_ATTRIBUTE } from "./page-ui";
import { byUser } from "./user-input";

export const PROMPT_CSS = `
.prompts {
  position: fixed; top: 16px; right: 16px; width: min(360px, calc(100vw - 32px));
  display: flex; flex-direction: column; gap: 8px; z-index: 3;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
[${UI_ATTRIBUTE}="consent-prompt"] {
  pointer-events: auto; background: #ffffff; color: #1b1f24; border: 1px solid #c9ced6;
  border-radius: 10px; box-shadow: 0 6px 24px rgba(0, 0, 0, 0.25); padding: 14px 16px;
}
.title { margin: 0 0 4px; font-weight: 600; overflow-wrap: anywhere; }
.detail { margin: 0 0 12px; color: #4a515c; }
.actions { display: flex; justify-content: flex-end; gap: 8px; }
[${UI_ATTRIBUTE}="consent-accept"] { background: #1f6feb; border-color: #1f6feb; color: #ffffff; }
[${UI_ATTRIBUTE}="consent-accept"]:disabled { opacity: 0.45; cursor: default; }
`;

/** Accept ignores activation for this long after the prompt appears or moves. */
export const ACCEPT_DELAY_MS = 600;

/** A prompt on the page. */
export interface Prompt {
  readonly element: HTMLElement;
  /** Disables Accept for {@link ACCEPT_DELAY_MS} from now: the prompt just moved under the pointer. */
  hold(): void;
  /** Stops its timer (the prompt is gone). */
  dispose(): void;
}

/**
 * What a prompt asks for: a grant the server keeps (`GrantKind`), or `canvas`, which the page
 * decides alone (the site's `canvas: "ask"`, canvas-consent.ts).
 */
export type PromptKind = GrantKind | "canvas";

/** What a prompt shows: an agent's `consent_request`, or a question of the page's own. */
export interface PromptRequest {
  request_id: string;
  kind: PromptKind;
  agent: { name: string };
  video?: boolean | null;
}

/**
 * "Alice asks to control this page": what the prompt's title says. `video` tells a video call
 * from a voice call.
 */
export function askText(labels: Labels, kind: PromptKind, agentName: string, video = false): string {
  const template = {
    canvas: labels.askCanvas,
    control: labels.askControl,
    annotate: labels.askAnnotate,
    call: video ? labels.askVideoCall : labels.askVoiceCall,
    record: labels.askRecord,
    view: labels.askView,
  }[kind];
  return fill(template, { agent: agentName });
}

/** What the prompt explains under its title. */
export function detailText(labels: Labels, kind: PromptKind, video = false): string {
  return {
    canvas: labels.detailCanvas,
    control: labels.detailControl,
    annotate: labels.detailAnnotate,
    call: video ? labels.detailVideoCall : labels.detailVoiceCall,
    record: labels.detailRecord,
    view: labels.detailView,
  }[kind];
}

let nextId = 0;

/**
 * Builds the prompt for `request`, with Accept held (see {@link Prompt.hold}); `answer` is called
 * once, with the user's choice.
 */
export function renderPrompt(
  doc: Document,
  labels: Labels,
  request: PromptRequest,
  answer: (granted: boolean) => void,
): Prompt {
  const id = `cobrowse-prompt-${++nextId}`;
  const root = doc.createElement("div");
  root.setAttribute(UI_ATTRIBUTE, "consent-prompt");
  root.dataset["kind"] = request.kind;
  root.dataset["requestId"] = request.request_id;
  if (request.kind === "call") root.dataset["video"] = String(request.video === true);
  root.setAttribute("role", "dialog");
  root.setAttribute("aria-modal", "false");
  root.setAttribute("aria-labelledby", `${id}-title`);
  root.setAttribute("aria-describedby", `${id}-detail`);

  const title = doc.createElement("p");
  title.id = `${id}-title`;
  title.className = "title";
  title.textContent = askText(labels, request.kind, request.agent.name, request.video === true);
  const detail = doc.createElement("p");
  detail.id = `${id}-detail`;
  detail.className = "detail";
  detail.textContent = detailText(labels, request.kind, request.video === true);

  let answered = false;
  const once = (granted: boolean): void => {
    if (answered) return;
    answered = true;
    answer(granted);
  };
  const decline = button(doc, "consent-decline", labels.decline, () => once(false));
  // A disabled button gets no click from the user's pointer or keyboard; the check also covers a
  // click dispatched to it by script, which is refused in any case.
  const accept = button(doc, "consent-accept", labels.accept, (event) => {
    if (!accept.disabled && byUser(event)) once(true);
  });
  const actions = doc.createElement("div");
  actions.className = "actions";
  actions.append(decline, accept);
  root.append(title, detail, actions);
  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape") once(false);
  });

  let timer: ReturnType<typeof setTimeout> | undefined;
  const prompt: Prompt = {
    element: root,
    hold() {
      clearTimeout(timer);
      accept.disabled = true;
      timer = setTimeout(() => {
        timer = undefined;
        accept.disabled = false;
      }, ACCEPT_DELAY_MS);
    },
    dispose() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
  prompt.hold();
  return prompt;
}

function button(doc: Document, name: string, label: string, onClick: (event: MouseEvent) => void): HTMLButtonElement {
  const b = doc.createElement("button");
  b.type = "button";
  b.setAttribute(UI_ATTRIBUTE, name);
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}
