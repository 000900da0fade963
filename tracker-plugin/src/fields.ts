/**
 * What the control executor needs to know about form fields: which take typed text, and how to
 * change a value so that the page notices.
 *
 * Checks go by tag name rather than `instanceof`, so fields inside same-origin iframes (another
 * realm, other constructors) are recognised too.
 */

/**
 * The window `el` belongs to: events for it are built with that window's constructors, as the
 * browser's own events would be (it differs from `window` inside a same-origin iframe).
 */
export function realm(el: Element): Window & typeof globalThis {
  return el.ownerDocument.defaultView ?? window;
}

/** An `<input>` or `<textarea>`. */
export type TextControl = HTMLInputElement | HTMLTextAreaElement;

/** Input types whose value is typed text. */
const TEXT_INPUT_TYPES = new Set(["text", "search", "url", "tel", "email", "password", "number", ""]);

export function isInput(el: Element): el is HTMLInputElement {
  return el.tagName === "INPUT";
}

export function isTextArea(el: Element): el is HTMLTextAreaElement {
  return el.tagName === "TEXTAREA";
}

export function isSelect(el: Element): el is HTMLSelectElement {
  return el.tagName === "SELECT";
}

/** An input or textarea that takes typed text (not a checkbox, a button, a date picker, ...). */
export function isTextField(el: Element): el is TextControl {
  return isTextArea(el) || (isInput(el) && TEXT_INPUT_TYPES.has(el.type));
}

/**
 * Sets `value` through the setter of the element's prototype. Frameworks such as React replace
 * `value` on the element itself to track what they set; going around that makes the following
 * `input` event look like the user's change, which the framework then applies to its state.
 */
export function setNativeValue(el: TextControl | HTMLSelectElement, value: string): void {
  for (let proto: object | null = Object.getPrototypeOf(el); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const setter = Object.getOwnPropertyDescriptor(proto, "value")?.set;
    if (setter !== undefined) {
      setter.call(el, value);
      return;
    }
  }
  el.value = value;
}

/** Fires `input` the way typing does (`inputType` and `data` as in the Input Events spec). */
export function fireInput(el: Element, inputType: string, data: string | null = null): void {
  el.dispatchEvent(new (realm(el).InputEvent)("input", { bubbles: true, composed: true, inputType, data }));
}

/** Fires `change`, which a browser sends when a changed field is committed. */
export function fireChange(el: Element): void {
  el.dispatchEvent(new (realm(el).Event)("change", { bubbles: true }));
}
