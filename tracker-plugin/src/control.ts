/**
 * Performs a controlling agent's input ({@link ControlInput}, §9.2) on the page.
 *
 * Targets are rrweb node ids, the ids the agent's replay of the page knows, resolved through the
 * recorder's mirror. Events are dispatched as the browser would dispatch the user's (bubbling,
 * composed, with coordinates), and values are set through the native setters, so the page's own
 * handlers and frameworks react as they would to the user.
 *
 * What cannot or must not be done is refused with a reason the agent is shown: a target that is
 * gone or of the wrong kind, the tracker's own UI (an agent must not answer a consent prompt),
 * typing into password fields or choosing files (the user does those), and taking the page to
 * another origin or a non-http(s) URL, by `navigate` or by a click or key that would follow a
 * link or submit a form (see navigation.ts). Whether the agent may act at all (tab and grant) is checked by the caller,
 * right before it calls {@link ControlExecutor.perform}.
 */

import type { AgentCursor } from "./agent-cursor";
import { fireChange, fireInput, isInput, isSelect, isTextArea, realm, setNativeValue } from "./fields";
import { closestFocusable, isFocusable } from "./focusable";
import { editsText, isSupportedKey, pressKey } from "./keyboard";
import { activationDestination, keyDestination, navigationRefusal } from "./navigation";
import type { PageUi } from "./page-ui";
import type { ControlInput } from "./protocol";
import { isPasswordField } from "./record";

export interface ControlOptions {
  ui: PageUi;
  cursor: AgentCursor;
  /** The page node of an rrweb id (`record.mirror.getNode`). */
  nodeById: (id: number) => Node | null;
  win?: Window;
}

/** An input the page will not perform; the message is the reason sent to the agent. */
class Refusal extends Error {}

export class ControlExecutor {
  private readonly ui: PageUi;
  private readonly cursor: AgentCursor;
  private readonly nodeById: (id: number) => Node | null;
  private readonly win: Window;

  constructor(options: ControlOptions) {
    this.ui = options.ui;
    this.cursor = options.cursor;
    this.nodeById = options.nodeById;
    this.win = options.win ?? window;
  }

  /** Performs `input` of the agent named `agentName`; returns why it was refused, if it was. */
  perform(input: ControlInput, agentName: string): string | undefined {
    try {
      this.run(input, agentName);
      return undefined;
    } catch (error) {
      if (error instanceof Refusal) return error.message;
      throw error;
    }
  }

  private run(input: ControlInput, agentName: string): void {
    switch (input.action) {
      case "move":
        this.cursor.show(agentName, input.x, input.y);
        return;
      case "click":
      case "dblclick": {
        const target = this.element(input.id);
        this.leadsNowhereElse(activationDestination(target));
        this.cursor.show(agentName, input.x, input.y);
        this.click(target, input.x, input.y, 1);
        if (input.action === "dblclick") {
          this.click(target, input.x, input.y, 2);
          target.dispatchEvent(mouse(target, "dblclick", input.x, input.y, 2, 0));
        }
        return;
      }
      case "scroll":
        this.scroll(input.id ?? undefined, input.x, input.y);
        return;
      case "key":
        this.key(input.key, input.id ?? undefined);
        return;
      case "input":
        this.input(input.id, input.value);
        return;
      case "select":
        this.select(input.id, input.value);
        return;
      case "focus": {
        const target = this.element(input.id);
        if (isFocusable(target)) target.focus();
        if (activeElement(target.ownerDocument) !== target) throw new Refusal(`node ${input.id} cannot take focus`);
        return;
      }
      case "navigate":
        this.navigate(input.to, input.url ?? undefined);
        return;
    }
  }

  /**
   * pointerdown, mousedown, focus (as a press focuses what it lands on, unless a handler
   * cancelled the mousedown), pointerup, mouseup, click. Dispatching `click` runs the target's
   * activation too: a checkbox toggles, a submit button submits, a link is followed.
   */
  private click(target: Element, x: number, y: number, detail: number): void {
    pointer(target, "pointerdown", x, y, 1);
    if (target.dispatchEvent(mouse(target, "mousedown", x, y, detail, 1))) closestFocusable(target)?.focus();
    pointer(target, "pointerup", x, y, 0);
    target.dispatchEvent(mouse(target, "mouseup", x, y, detail, 0));
    target.dispatchEvent(mouse(target, "click", x, y, detail, 0));
  }

  private scroll(id: number | undefined, x: number, y: number): void {
    const doc = this.win.document;
    const target = id === undefined ? null : this.element(id);
    if (target === null || target === doc.documentElement || target === doc.body || target === doc.scrollingElement) {
      this.win.scrollTo(x, y);
    } else {
      target.scrollLeft = x;
      target.scrollTop = y;
    }
  }

  private key(key: string, id: number | undefined): void {
    if (!isSupportedKey(key)) throw new Refusal(`key '${key}' is not supported`);
    const doc = this.win.document;
    let target: Element;
    if (id !== undefined) {
      target = this.element(id);
      if (isFocusable(target) && activeElement(target.ownerDocument) !== target) target.focus();
    } else {
      target = activeElement(doc) ?? doc.body ?? doc.documentElement;
      if (this.ui.contains(target)) throw new Refusal("the focus is on the cobrowse controls; only the user can use them");
    }
    if (isPasswordField(target) && editsText(key)) {
      throw new Refusal("typing into password fields is not allowed; the user types passwords themselves");
    }
    if (key === "Enter" || key === " ") this.leadsNowhereElse(keyDestination(target, key));
    pressKey(target, key, { win: this.win, skip: (el) => this.ui.contains(el) });
  }

  private input(id: number, value: string): void {
    const field = this.element(id);
    if (!isInput(field) && !isTextArea(field)) throw new Refusal(`node ${id} is not an <input> or <textarea>`);
    if (isPasswordField(field)) {
      throw new Refusal("typing into password fields is not allowed; the user types passwords themselves");
    }
    if (isInput(field)) {
      if (field.type === "file") throw new Refusal("a file input cannot be set remotely; the user chooses files themselves");
      if (["checkbox", "radio", "button", "submit", "reset", "image"].includes(field.type)) {
        throw new Refusal(`node ${id} is an <input type="${field.type}">; click it instead`);
      }
    }
    this.editable(field, id);
    if (isFocusable(field)) field.focus();
    setNativeValue(field, value);
    fireInput(field, "insertReplacementText", value);
    fireChange(field);
  }

  private select(id: number, value: string): void {
    const select = this.element(id);
    if (!isSelect(select)) throw new Refusal(`node ${id} is not a <select>`);
    this.editable(select, id);
    const option = Array.from(select.options).find((o) => o.value === value);
    if (option === undefined) throw new Refusal(`the <select> has no option with value '${value}'`);
    if (option.disabled) throw new Refusal(`the option '${value}' is disabled`);
    setNativeValue(select, value);
    fireInput(select, "insertReplacementText");
    fireChange(select);
  }

  private editable(field: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, id: number): void {
    if (field.disabled) throw new Refusal(`node ${id} is disabled`);
    if (!isSelect(field) && field.readOnly) throw new Refusal(`node ${id} is read-only`);
  }

  private navigate(to: "back" | "forward" | "reload" | "url", url: string | undefined): void {
    const { history, location } = this.win;
    switch (to) {
      case "back":
        history.back();
        return;
      case "forward":
        history.forward();
        return;
      case "reload":
        location.reload();
        return;
      case "url": {
        this.leadsNowhereElse(url ?? "");
        location.assign(new URL(url ?? "", location.href).href);
      }
    }
  }

  /** Refuses input that would take the page to `destination` if the page must not go there. */
  private leadsNowhereElse(destination: string | undefined): void {
    if (destination === undefined) return;
    const refusal = navigationRefusal(destination, this.win.location);
    if (refusal !== undefined) throw new Refusal(refusal);
  }

  /** The element of an rrweb id (a text node's parent), if it is on the page and not the tracker's UI. */
  private element(id: number): HTMLElement {
    const node = this.nodeById(id);
    if (node === null || !node.isConnected) throw new Refusal(`node ${id} is not on the page any more`);
    const element = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    if (element === null || element.nodeType !== Node.ELEMENT_NODE) throw new Refusal(`node ${id} is not an element`);
    if (this.ui.contains(element)) throw new Refusal(`node ${id} is part of the cobrowse controls; only the user can use them`);
    return element as HTMLElement;
  }
}

function mouse(target: Element, type: string, x: number, y: number, detail: number, buttons: number): MouseEvent {
  return new (realm(target).MouseEvent)(type, { ...pointerInit(x, y, buttons), detail });
}

/** Pointer events, where the browser has them. */
function pointer(target: Element, type: string, x: number, y: number, buttons: number): void {
  const { PointerEvent } = realm(target);
  if (typeof PointerEvent !== "function") return;
  const init = { ...pointerInit(x, y, buttons), pointerId: 1, pointerType: "mouse", isPrimary: true };
  target.dispatchEvent(new PointerEvent(type, init));
}

/** Where and how a primary-button press lands: the agent's viewport coordinates. */
function pointerInit(x: number, y: number, buttons: number): MouseEventInit {
  return { bubbles: true, cancelable: true, composed: true, clientX: x, clientY: y, button: 0, buttons };
}

/** The focused element, looking into (open) shadow roots of the page's components. */
function activeElement(doc: Document): Element | null {
  let el = doc.activeElement;
  while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
  return el;
}
