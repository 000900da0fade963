/**
 * Where an agent may take the page: an `http:` or `https:` URL of the page's own origin, and
 * nowhere from a page without one (an opaque origin, where `javascript:` would run in the page).
 *
 * An agent's input reaches that rule three ways, and each is checked before it is performed:
 * `navigate` with a URL, a click that would follow a link or submit a form, and a key (Enter,
 * Space) that would do the same. The server checks `navigate` too; links and forms it cannot
 * see, so the page is where they are stopped. Pure but for reading the elements.
 */

import { isInput, isTextArea, isTextField } from "./fields";

/** Why the page must not go to `url` (resolved against `base`) for an agent, or undefined. */
export function navigationRefusal(url: string, base: Location): string | undefined {
  if (!/^https?:$/.test(base.protocol) || base.origin === "null") {
    return "this page has no http(s) origin; an agent cannot send it anywhere";
  }
  let target: URL;
  try {
    target = new URL(url, base.href);
  } catch {
    return `'${url}' is not a URL`;
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    return `only http(s) URLs may be opened, not ${target.protocol}`;
  }
  if (target.origin !== base.origin) {
    return `navigation to another origin (${target.origin}) is not allowed; only ${base.origin}`;
  }
  return undefined;
}

/**
 * Where activating `target` (a click on it, or Enter or Space on it) would take the page: the
 * link it is in, or the form its submit button sends; undefined if it navigates nowhere.
 */
export function activationDestination(target: Element): string | undefined {
  const link = target.closest("a[href], area[href]");
  if (link !== null) return (link as HTMLAnchorElement | HTMLAreaElement).href;
  const label = target.closest("label");
  const control = label !== null ? label.control : target.closest("button, input");
  if (control === null || !isSubmitter(control)) return undefined;
  return control.form === null ? undefined : formDestination(control.form, control);
}

/**
 * Where Enter or Space on `target` would take the page: Enter in a single-line field submits its
 * form (by its first submit button, as implicit submission does, keyboard.ts); otherwise the key
 * activates links and buttons as a click does.
 */
export function keyDestination(target: Element, key: "Enter" | " "): string | undefined {
  if (isTextField(target)) {
    if (key !== "Enter" || isTextArea(target) || target.form === null) return undefined;
    const submitter = Array.from(target.form.elements).find(
      (el): el is HTMLButtonElement | HTMLInputElement => (el.tagName === "BUTTON" || isInput(el)) && isSubmitter(el),
    );
    return formDestination(target.form, submitter);
  }
  return activationDestination(target);
}

/**
 * Where submitting `form` (by `submitter`, if given) would send the page; undefined for a dialog
 * form. Read from the attributes through `Element.prototype`: a form's own properties can be
 * shadowed by its fields (`<input name="action">` makes `form.action` that input).
 */
export function formDestination(form: HTMLFormElement, submitter?: HTMLButtonElement | HTMLInputElement): string | undefined {
  const method = (attribute(submitter, "formmethod") ?? attribute(form, "method") ?? "").toLowerCase();
  if (method === "dialog") return undefined;
  const action = attribute(submitter, "formaction") || attribute(form, "action");
  // No action: the form's own document.
  if (action === null || action === undefined || action === "") return form.ownerDocument.URL;
  try {
    return new URL(action, form.baseURI).href;
  } catch {
    return action;
  }
}

function attribute(el: Element | undefined, name: string): string | null | undefined {
  return el === undefined ? undefined : Element.prototype.getAttribute.call(el, name);
}

function isSubmitter(el: Element): el is HTMLButtonElement | HTMLInputElement {
  if (el.tagName === "BUTTON") return (el as HTMLButtonElement).type === "submit";
  return isInput(el) && (el.type === "submit" || el.type === "image");
}
