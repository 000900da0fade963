/**
 * Which elements take focus, and the order Tab visits them in: enough of the browser's rules
 * for an agent's Tab key to move focus the way the user's would.
 */

const FOCUSABLE =
  'a[href], area[href], button, input:not([type="hidden"]), select, textarea, iframe, summary, ' +
  '[tabindex], [contenteditable]:not([contenteditable="false"])';

/** Whether `el` can take focus: focusable by kind or tabindex, enabled, not hidden or inert. */
export function isFocusable(el: Element): el is HTMLElement {
  return (
    el.matches(FOCUSABLE) &&
    !el.matches(":disabled") &&
    el.closest("[hidden], [inert]") === null &&
    (typeof el.checkVisibility !== "function" || el.checkVisibility({ visibilityProperty: true }))
  );
}

/** `el` or its nearest focusable ancestor: what a click focuses. */
export function closestFocusable(el: Element): HTMLElement | null {
  for (let n: Element | null = el; n !== null; n = n.parentElement) {
    if (isFocusable(n)) return n;
  }
  return null;
}

/**
 * The element Tab moves focus to from `from`: positive tabindexes first in ascending order,
 * then tabindex 0 in document order, wrapping around. `skip` leaves elements out (the
 * tracker's own UI).
 */
export function nextTabbable(doc: Document, from: Element | null, skip: (el: Element) => boolean): HTMLElement | null {
  const candidates = Array.from(doc.querySelectorAll(FOCUSABLE)).filter(
    (el): el is HTMLElement => isFocusable(el) && el.tabIndex >= 0 && !skip(el),
  );
  const order = [
    ...candidates.filter((el) => el.tabIndex > 0).sort((a, b) => a.tabIndex - b.tabIndex),
    ...candidates.filter((el) => el.tabIndex === 0),
  ];
  if (order.length === 0) return null;
  const at = from === null ? -1 : order.indexOf(from as HTMLElement);
  if (at >= 0) return order[(at + 1) % order.length]!;
  // From an element that is not tabbable itself, go to the first one after it in the document.
  const after = from === null ? undefined : order.find((el) => from.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
  return after ?? order[0]!;
}
