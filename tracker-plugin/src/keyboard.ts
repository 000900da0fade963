/**
 * An agent's key press, made the way the page would see the user's: `keydown`, `keypress` (for
 * characters and Enter), what the browser would do by default, then `keyup`.
 *
 * Events an agent dispatches are untrusted, so the browser performs none of a key's default
 * actions; this module performs them itself, unless a `keydown` or `keypress` handler cancelled
 * the key (as it would cancel the user's):
 * - a character, Backspace and Delete edit the text field at its caret (with `beforeinput`,
 *   which may cancel too, and `input`);
 * - Enter inserts a line break in a textarea, submits the form of a single-line field the way
 *   implicit submission does (clicking its default button, else `requestSubmit`), and activates
 *   a focused button or link; Space activates buttons, checkboxes and radios;
 * - Tab moves the focus to the next tabbable element;
 * - the arrow keys move the caret in a text field, and otherwise scroll the window a little.
 *
 * Whether the page may be typed into at all (password fields may not) is the caller's decision.
 */

import { NAMED_KEYS } from "../../generated/protocol";
import { nextTabbable } from "./focusable";
import { type TextControl, fireInput, isInput, isTextArea, isTextField, realm, setNativeValue } from "./fields";


/** How far an arrow key scrolls the window when it has no caret to move, in CSS pixels. */
export const ARROW_SCROLL_PX = 40;

/** A printable character: one code point. */
export function isCharacter(key: string): boolean {
  return [...key].length === 1;
}

/** Whether this module knows what `key` does. */
export function isSupportedKey(key: string): boolean {
  return isCharacter(key) || (NAMED_KEYS as readonly string[]).includes(key);
}

/** Whether `key` types into or deletes from a single-line field (Enter submits instead). */
export function editsText(key: string): boolean {
  return isCharacter(key) || key === "Backspace" || key === "Delete";
}

export interface KeyContext {
  win: Window;
  /** Elements Tab must not move to (the tracker's own UI). */
  skip: (el: Element) => boolean;
}

/** Presses `key` on `target`. */
export function pressKey(target: Element, key: string, context: KeyContext): void {
  let perform = target.dispatchEvent(keyEvent(target, "keydown", key));
  if (perform && (isCharacter(key) || key === "Enter")) perform = target.dispatchEvent(keyEvent(target, "keypress", key));
  if (perform) defaultAction(target, key, context);
  target.dispatchEvent(keyEvent(target, "keyup", key));
}

function defaultAction(target: Element, key: string, context: KeyContext): void {
  const field = isTextField(target) ? target : null;
  switch (key) {
    case "Enter":
      if (field !== null && isTextArea(field)) edit(field, "insertLineBreak", "\n");
      else if (field !== null) submitImplicitly(field);
      else if (activatesOn(target, "Enter")) (target as HTMLElement).click();
      return;
    case "Tab": {
      const next = nextTabbable(target.ownerDocument, target, context.skip);
      next?.focus();
      return;
    }
    case "Backspace":
      if (field !== null) edit(field, "deleteContentBackward", "");
      return;
    case "Delete":
      if (field !== null) edit(field, "deleteContentForward", "");
      return;
    case "Escape":
      return;
    case "ArrowLeft":
    case "ArrowRight":
    case "ArrowUp":
    case "ArrowDown":
      if (field === null || !moveCaret(field, key)) scrollFor(context.win, key);
      return;
    default:
      if (field !== null) edit(field, "insertText", key);
      else if (key === " " && activatesOn(target, " ")) (target as HTMLElement).click();
  }
}

/** Buttons and links activate on Enter; buttons, checkboxes and radios on Space. */
function activatesOn(el: Element, key: "Enter" | " "): boolean {
  if (el.tagName === "BUTTON") return true;
  if (isInput(el)) {
    const buttons = ["button", "submit", "reset", "image"];
    return buttons.includes(el.type) || (key === " " && (el.type === "checkbox" || el.type === "radio"));
  }
  return key === "Enter" && (el.tagName === "A" || el.tagName === "AREA") && el.hasAttribute("href");
}

/**
 * Replaces the field's selection (or, for a deletion with nothing selected, the character
 * before or after the caret) as typing does. Fields without a selection API (email, number)
 * are edited at their end. `maxlength` is respected; read-only and disabled fields are left.
 */
function edit(field: TextControl, inputType: string, text: string): void {
  if (field.readOnly || field.disabled) return;
  const value = field.value;
  const hasCaret = field.selectionStart !== null;
  let from = field.selectionStart ?? value.length;
  let to = field.selectionEnd ?? value.length;
  if (from === to) {
    if (inputType === "deleteContentBackward") from = Math.max(0, from - 1);
    if (inputType === "deleteContentForward") to = Math.min(value.length, to + 1);
    if (from === to && text === "") return;
  }
  if (text !== "" && field.maxLength >= 0 && value.length - (to - from) + text.length > field.maxLength) return;
  const data = inputType === "insertText" ? text : null;
  const before = new (realm(field).InputEvent)("beforeinput", { bubbles: true, cancelable: true, composed: true, inputType, data });
  if (!field.dispatchEvent(before)) return;
  setNativeValue(field, value.slice(0, from) + text + value.slice(to));
  if (hasCaret) field.setSelectionRange(from + text.length, from + text.length);
  fireInput(field, inputType, data);
}

/**
 * Enter in a single-line field: click the form's default button (its first submit button) if
 * it has one, as browsers do, else request a submit, which runs validation and `submit`
 * handlers. A field outside a form does nothing.
 */
function submitImplicitly(field: HTMLInputElement): void {
  const form = field.form;
  if (form === null) return;
  const submitter = Array.from(form.elements).find(
    (el) => (el.tagName === "BUTTON" || isInput(el)) && ["submit", "image"].includes((el as HTMLButtonElement).type),
  ) as HTMLButtonElement | HTMLInputElement | undefined;
  if (submitter !== undefined) {
    if (!submitter.disabled) submitter.click();
  } else if (typeof form.requestSubmit === "function") {
    form.requestSubmit();
  } else if (form.dispatchEvent(new (realm(form).Event)("submit", { bubbles: true, cancelable: true }))) {
    form.submit();
  }
}

/** Moves a text field's caret for an arrow key; `false` if the field has no caret to move. */
function moveCaret(field: TextControl, key: string): boolean {
  const start = field.selectionStart;
  const end = field.selectionEnd;
  if (start === null || end === null) return false;
  const value = field.value;
  let at: number;
  switch (key) {
    case "ArrowLeft":
      at = start === end ? Math.max(0, start - 1) : start;
      break;
    case "ArrowRight":
      at = start === end ? Math.min(value.length, end + 1) : end;
      break;
    default:
      if (!isTextArea(field)) at = key === "ArrowUp" ? 0 : value.length;
      else at = key === "ArrowUp" ? lineMove(value, start, -1) : lineMove(value, end, 1);
  }
  field.setSelectionRange(at, at);
  return true;
}

/** The caret position one line up (`-1`) or down (`1`) from `at`, keeping the column if it can. */
function lineMove(value: string, at: number, direction: -1 | 1): number {
  const lineStart = value.lastIndexOf("\n", at - 1) + 1;
  const column = at - lineStart;
  if (direction < 0) {
    if (lineStart === 0) return 0;
    const prevStart = value.lastIndexOf("\n", lineStart - 2) + 1;
    return Math.min(prevStart + column, lineStart - 1);
  }
  const lineEnd = value.indexOf("\n", at);
  if (lineEnd < 0) return value.length;
  const nextEnd = value.indexOf("\n", lineEnd + 1);
  return Math.min(lineEnd + 1 + column, nextEnd < 0 ? value.length : nextEnd);
}

function scrollFor(win: Window, key: string): void {
  const step = ARROW_SCROLL_PX;
  const left = key === "ArrowLeft" ? -step : key === "ArrowRight" ? step : 0;
  const top = key === "ArrowUp" ? -step : key === "ArrowDown" ? step : 0;
  win.scrollBy(left, top);
}

/**
 * A keyboard event with what handlers look at: `key`, `code`, and the legacy `keyCode`/`which`
 * that older code (jQuery plugins, say) still reads.
 */
function keyEvent(target: Element, type: "keydown" | "keypress" | "keyup", key: string): KeyboardEvent {
  const character = isCharacter(key);
  const event = new (realm(target).KeyboardEvent)(type, {
    key,
    code: keyCodeName(key),
    shiftKey: character && key !== key.toLowerCase(),
    bubbles: true,
    cancelable: true,
    composed: true,
  });
  const legacy = type === "keypress" ? (key === "Enter" ? 13 : key.codePointAt(0)!) : legacyKeyCode(key);
  Object.defineProperty(event, "keyCode", { value: legacy });
  Object.defineProperty(event, "which", { value: legacy });
  if (type === "keypress") Object.defineProperty(event, "charCode", { value: legacy });
  return event;
}

const NAMED_KEY_CODES: Record<string, number> = {
  Enter: 13,
  Tab: 9,
  Backspace: 8,
  Delete: 46,
  Escape: 27,
  ArrowLeft: 37,
  ArrowUp: 38,
  ArrowRight: 39,
  ArrowDown: 40,
  " ": 32,
};

function legacyKeyCode(key: string): number {
  const named = NAMED_KEY_CODES[key];
  if (named !== undefined) return named;
  return /^[a-z0-9]$/i.test(key) ? key.toUpperCase().charCodeAt(0) : 0;
}

/** `KeyboardEvent.code` on a US layout, where it is obvious; empty otherwise. */
function keyCodeName(key: string): string {
  if (!isCharacter(key)) return key;
  if (key === " ") return "Space";
  if (/^[a-z]$/i.test(key)) return `Key${key.toUpperCase()}`;
  if (/^[0-9]$/.test(key)) return `Digit${key}`;
  return "";
}

