/**
 * CSS as the page wrote it: the text of each rule that the browser serializes lossily, from the
 * text the page gave (a constructed stylesheet's `replaceSync`/`replace`, a `<style>`'s content,
 * a linked file). lost-css.ts puts it back into what rrweb records.
 *
 * rrweb records a stylesheet as the `cssText` of each of its rules, and that text is lossy. A
 * shorthand whose value holds a `var()` is kept by the browser as "pending substitution"
 * longhands, which serialize as nothing; if a later declaration of the same rule sets one of
 * those longhands, the shorthand can no longer be written back either, and the rule's `cssText`
 * holds empty declarations instead:
 *
 *     .alert { border: solid var(--w) var(--c); border-top-width: calc(var(--w) * 3); }
 *     // cssText: .alert { border-top-color: ; border-top-style: ; … border-top-width: calc(…); }
 *
 * Replayed, those empty declarations are dropped, so the alert has no border at all: Shoelace's
 * `sl-alert` lost its box and coloured top bar this way. No CSSOM API gives the shorthand's value
 * back. A constructed stylesheet (one a shadow root or document adopts, as Lit and so Shoelace
 * style their components) keeps no text at all, so the tracker wraps `replaceSync` and `replace`
 * to note, per stylesheet, the text given and the rules it produced, or, for a stylesheet built
 * before the tracker loaded, asks the Lit component that adopts it. The text is kept in memory
 * only, for as long as the stylesheet lives; nothing is sent that rrweb would not send.
 */

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
 * Notes the text of `sheet`, adopted by `host`'s shadow root, from the component itself when the
 * tracker did not see the stylesheet built (it loaded later): a Lit element (so a Shoelace one)
 * lists its styles in its class's `elementStyles`, each a `CSSResult` with its `cssText` and the
 * `styleSheet` made of it.
 */
export function noteFromComponent(sheet: CSSStyleSheet, host: Element): void {
  if (authored.has(sheet)) return;
  const styles: unknown = (host.constructor as { elementStyles?: unknown }).elementStyles;
  if (!Array.isArray(styles)) return;
  for (const style of styles as { styleSheet?: unknown; cssText?: unknown }[]) {
    if (style?.styleSheet === sheet) return note(sheet, style.cssText);
  }
}

/**
 * Whether a rule's `cssText` holds a declaration with no value, which only a lost `var()`
 * shorthand produces (custom properties, which may be empty, aside).
 */
export function hasEmptyDeclaration(cssText: string): boolean {
  return /[{;]\s*(?!--)[-\w]+\s*:\s*;/.test(cssText);
}

/**
 * Rule `index` of the constructed stylesheet `sheet` as the page wrote it, if the tracker kept
 * the stylesheet's text.
 */
export function constructedRuleAsWritten(sheet: CSSStyleSheet, index: number): string | undefined {
  const kept = authored.get(sheet);
  const rule = sheet.cssRules[index];
  if (kept === undefined || rule === undefined) return undefined;
  const at = kept.rules.indexOf(rule);
  const pieces = topLevelRules(kept.text);
  return at === -1 || pieces.length !== kept.rules.length ? undefined : asWritten(pieces[at], rule);
}

/**
 * `recorded` (the rules of `sheet` as rrweb wrote them, one after the other) with each lossy rule
 * as `text`, the stylesheet's own text, has it. A rule holding a `url()` is left as is: rrweb made
 * its URLs absolute.
 */
export function rulesAsWritten(recorded: string, sheet: CSSStyleSheet, text: string): string {
  const pieces = topLevelRules(text);
  const rules = Array.from(sheet.cssRules);
  if (pieces.length !== rules.length) return recorded;
  let repaired = recorded;
  let from = 0;
  rules.forEach((rule, i) => {
    const lossy = rule.cssText;
    const written = hasEmptyDeclaration(lossy) ? asWritten(pieces[i], rule) : undefined;
    const at = repaired.indexOf(lossy, from);
    if (written === undefined || written.includes("url(") || at === -1) return;
    repaired = repaired.slice(0, at) + written + repaired.slice(at + lossy.length);
    from = at + written.length;
  });
  return repaired;
}

/** `text`, if it is `rule`'s own text: parsed alone, it serializes exactly as the rule does. */
function asWritten(text: string | undefined, rule: CSSRule): string | undefined {
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
 * escapes are skipped over, so braces inside them do not count. `@charset`, which names the
 * file's encoding and is no rule in the CSSOM, is left out.
 */
export function topLevelRules(css: string): string[] {
  const rules: string[] = [];
  let depth = 0;
  let start = 0;
  const end = (at: number): void => {
    const rule = css.slice(start, at).trim();
    // Not a rule: a lone `;`, or comments after the last rule.
    const bare = rule.replace(/\/\*[\s\S]*?(\*\/|$)/g, "").replace(/;/g, "").trim();
    if (bare !== "" && !bare.startsWith("@charset ")) rules.push(rule);
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
