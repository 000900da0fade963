/**
 * The CSS text a page gave its constructed stylesheets, and how it repairs what rrweb records of
 * them.
 *
 * rrweb records a constructed stylesheet (one a shadow root or document adopts, as Lit and so
 * Shoelace style their components) as the `cssText` of each of its rules: the stylesheet's
 * source text is gone once the browser parsed it. That text is lossy. A shorthand whose value
 * holds a `var()` is kept by the browser as "pending substitution" longhands, which serialize as
 * nothing; if a later declaration of the same rule sets one of those longhands, the shorthand can
 * no longer be written back either, and the rule's `cssText` holds empty declarations instead:
 *
 *     .alert { border: solid var(--w) var(--c); border-top-width: calc(var(--w) * 3); }
 *     // cssText: .alert { border-top-color: ; border-top-style: ; … border-top-width: calc(…); }
 *
 * Replayed, those empty declarations are dropped, so the alert has no border at all: Shoelace's
 * `sl-alert` lost its box and coloured top bar this way. No CSSOM API gives the shorthand's value
 * back, so the tracker keeps the text itself: it wraps `replaceSync` and `replace` to note, per
 * stylesheet, the text given and the rules it produced, and when rrweb records the adoption of a
 * stylesheet with such a rule, puts the rule's own text back in its place. The text is kept in
 * memory only, for as long as the stylesheet lives; nothing is sent that rrweb would not send.
 *
 * Rules added with `insertRule` and stylesheets built before the tracker loaded are not covered;
 * nor are `<style>` and `<link>` stylesheets, which rrweb records the same lossy way.
 */

import { EventType, type eventWithTime, IncrementalSource } from "rrweb";

/** A stylesheet's text as the page gave it, and the rules the browser made of it then. */
interface Authored {
  text: string;
  rules: CSSRule[];
}

const authored = new WeakMap<CSSStyleSheet, Authored>();
let installed = false;

/**
 * Starts noting the text of constructed stylesheets in `win`. Called when the tracker loads (not
 * when it starts: components build their stylesheets once, possibly before the user consents).
 */
export function keepAuthoredCss(win: typeof globalThis): void {
  const proto = win.CSSStyleSheet?.prototype;
  if (installed || proto === undefined || typeof proto.replaceSync !== "function") return;
  installed = true;
  const replaceSync = proto.replaceSync;
  proto.replaceSync = function (this: CSSStyleSheet, text: string): void {
    replaceSync.call(this, text);
    note(this, text);
  };
  const replace = proto.replace;
  if (typeof replace === "function") {
    proto.replace = function (this: CSSStyleSheet, text: string): Promise<CSSStyleSheet> {
      return replace.call(this, text).then((sheet) => {
        note(sheet, text);
        return sheet;
      });
    };
  }
}

function note(sheet: CSSStyleSheet, text: unknown): void {
  try {
    if (typeof text === "string") authored.set(sheet, { text, rules: Array.from(sheet.cssRules) });
  } catch {
    // Whatever the page's CSSOM does, its own call has succeeded and must stay so.
  }
}

/**
 * `event` with the text of each recorded rule that serialized with empty declarations put back as
 * the page wrote it, when the event adopts stylesheets whose text the tracker kept. `nodeOf`
 * finds the node rrweb recorded under an id (the shadow root's host, or a document).
 */
export function withAuthoredCss(event: eventWithTime, nodeOf: (id: number) => Node | null): eventWithTime {
  if (event.type !== EventType.IncrementalSnapshot) return event;
  const data = event.data;
  if (data.source !== IncrementalSource.AdoptedStyleSheet || data.styles === undefined) return event;
  const sheets = adoptedBy(nodeOf(data.id));
  if (sheets === undefined || sheets.length !== data.styleIds.length) return event;
  let changed = false;
  const styles = data.styles.map((style) => {
    const sheet = sheets[data.styleIds.indexOf(style.styleId)];
    const rules = style.rules.map((recorded) => {
      const { rule, index } = recorded;
      if (sheet === undefined || typeof index !== "number" || !hasEmptyDeclaration(rule)) return recorded;
      const text = authoredRule(sheet, index);
      if (text === undefined) return recorded;
      changed = true;
      return { ...recorded, rule: text };
    });
    return { ...style, rules };
  });
  return changed ? { ...event, data: { ...data, styles } } : event;
}

/** The stylesheets `node` (a shadow root's host, or a document) adopts. */
function adoptedBy(node: Node | null): readonly CSSStyleSheet[] | undefined {
  if (node === null) return undefined;
  if (node.nodeType === Node.DOCUMENT_NODE) return (node as Document).adoptedStyleSheets;
  return (node as Element).shadowRoot?.adoptedStyleSheets;
}

/**
 * Whether a rule's `cssText` holds a declaration with no value, which only a lost `var()`
 * shorthand produces (custom properties, which may be empty, aside).
 */
export function hasEmptyDeclaration(cssText: string): boolean {
  return /[{;]\s*(?!--)[-\w]+\s*:\s*;/.test(cssText);
}

/**
 * The page's own text of rule `index` of `sheet`, if the tracker kept it and it is that rule's
 * text: parsed alone, it serializes exactly as the rule does.
 */
function authoredRule(sheet: CSSStyleSheet, index: number): string | undefined {
  const kept = authored.get(sheet);
  const rule = sheet.cssRules[index];
  if (kept === undefined || rule === undefined) return undefined;
  const at = kept.rules.indexOf(rule);
  const pieces = topLevelRules(kept.text);
  const text = at === -1 || pieces.length !== kept.rules.length ? undefined : pieces[at];
  if (text === undefined) return undefined;
  try {
    const probe = new CSSStyleSheet();
    probe.replaceSync(text);
    return probe.cssRules.length === 1 && probe.cssRules[0]?.cssText === rule.cssText ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The top-level rules of a stylesheet's text, each as written: a block rule ends with the `}`
 * that closes its block, a statement at-rule (`@layer a, b;`) with its `;`. Comments, strings and
 * escapes are skipped over, so braces inside them do not count.
 */
export function topLevelRules(css: string): string[] {
  const rules: string[] = [];
  let depth = 0;
  let start = 0;
  const end = (at: number): void => {
    const rule = css.slice(start, at).trim();
    // Not a rule: a lone `;`, or comments after the last rule.
    if (rule.replace(/\/\*[\s\S]*?(\*\/|$)/g, "").replace(/;/g, "").trim() !== "") rules.push(rule);
    start = at;
  };
  for (let i = 0; i < css.length; i++) {
    const c = css[i];
    if (c === "\\") i++;
    else if (c === "/" && css[i + 1] === "*") {
      const close = css.indexOf("*/", i + 2);
      i = close === -1 ? css.length : close + 1;
    } else if (c === '"' || c === "'") i = endOfString(css, i);
    else if (c === "{") depth++;
    else if (c === "}" && depth > 0) {
      depth--;
      if (depth === 0) end(i + 1);
    } else if (c === ";" && depth === 0) end(i + 1);
  }
  end(css.length);
  return rules;
}

/** The index of the quote that closes the string opened at `open` (or of its line's end). */
function endOfString(css: string, open: number): number {
  const quote = css[open];
  for (let i = open + 1; i < css.length; i++) {
    const c = css[i];
    if (c === "\\") i++;
    else if (c === quote || c === "\n") return i;
  }
  return css.length;
}
