/**
 * The values on the page that the recording hides, so the network recorder can hide them too
 * when a request carries them (network-privacy.ts, {@link SecretValues}): what is in the page's
 * password fields, in inputs whose values are masked (all of them by default, `maskAllInputs`),
 * and in inputs inside blocked or masked elements. A site that records request bodies then
 * cannot leak a password sent under a name no rule foresees (`{"p": "hunter2"}`).
 *
 * Read when a request goes out, so bounded: at most {@link MAX_FIELDS_SCANNED} fields are looked
 * at and {@link MAX_SECRET_VALUES} values kept, password fields first, then blocked, then masked
 * ones. Same-origin iframes and shadow roots are not looked into.
 */

import { type PrivacyOptions, BLOCK_CLASS, MASK_CLASS, blockSelectorFor, isPasswordField, maskSelectorFor } from "./record";

/** Form fields looked at per request. */
export const MAX_FIELDS_SCANNED = 1000;
/** Values kept per request. */
export const MAX_SECRET_VALUES = 50;

/** Inputs whose value is not something the user typed or chose to say. */
const NOT_VALUES = new Set(["checkbox", "radio", "button", "submit", "reset", "image", "file", "range", "color"]);

/** The page's hidden values now, most sensitive first (see the module's comment). */
export function pageSecretValues(doc: Document, privacy: PrivacyOptions = {}): string[] {
  const blocked = `.${BLOCK_CLASS}, ${blockSelectorFor(privacy)}`;
  const masked = `.${MASK_CLASS}, ${maskSelectorFor(privacy)}`;
  const maskAllInputs = privacy.maskAllInputs ?? true;
  // Rank 0: passwords, 1: in a blocked element, 2: masked.
  const ranked: Array<[number, string]> = [];
  const fields = doc.querySelectorAll<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>("input, textarea, select");
  const count = Math.min(fields.length, MAX_FIELDS_SCANNED);
  for (let i = 0; i < count; i++) {
    const field = fields[i]!;
    if (field.tagName === "INPUT" && NOT_VALUES.has((field as HTMLInputElement).type)) continue;
    const value = field.value;
    if (value === "") continue;
    const rank = isPasswordField(field) ? 0 : inside(field, blocked) ? 1 : maskAllInputs || inside(field, masked) ? 2 : -1;
    if (rank >= 0) ranked.push([rank, value]);
  }
  ranked.sort((a, b) => a[0] - b[0]);
  const values = new Set<string>();
  for (const [, value] of ranked) {
    if (values.size >= MAX_SECRET_VALUES) break;
    values.add(value);
  }
  return [...values];
}

/** Whether `el` is or is inside an element matching `selector`; a selector the browser refuses counts as a match. */
function inside(el: Element, selector: string): boolean {
  try {
    return el.closest(selector) !== null;
  } catch {
    return true;
  }
}
