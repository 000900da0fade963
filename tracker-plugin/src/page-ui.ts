/**
 * The one element the tracker adds to the page: the host of the consent prompts, the grant
 * indicator, the agent's cursor and the annotation overlay.
 *
 * - It carries rrweb's block class, so nothing the tracker shows is recorded: agents see the
 *   page, not the tracker's own prompts (and replays do not show a stale "Accept" button).
 *   rrweb still watches an open shadow root for changes once it has seen its host (every full
 *   snapshot does), so everything inside hangs off one blocked element that is there from the
 *   start: rrweb ignores changes under a blocked parent, where it would otherwise try to record
 *   them and log warnings (which the console recording would then send to the agent).
 * - Its content lives in an open shadow root, so the page's CSS cannot restyle or hide it, and
 *   the host's own box is pinned with `!important` inline styles, which outrank any selector.
 * - It is appended to `<html>` rather than `<body>`, so frameworks that replace the body keep it.
 * - Agents' input never targets it: {@link PageUi.contains} lets the control executor refuse
 *   nodes inside it, so a controlling agent cannot answer a consent prompt for the user.
 *
 * It is created on first use, so a page no agent talks to gets no extra element.
 *
 * Strict Content-Security-Policy: the styles go into constructed stylesheets adopted by the
 * shadow root where the browser has them (`adoptedStyleSheets`), which `style-src` does not
 * govern; where it has not, or when the site passes a `nonce`, into `<style>` elements carrying
 * that nonce. Everything else is set through the CSSOM (`element.style`), which CSP allows.
 * Stylesheets added after the first are pushed onto the adopted list rather than assigned: rrweb
 * watches the assignment on every shadow root it sees, and would record the tracker's own CSS.
 */

import { ENGLISH, type Labels } from "./labels";
import { BLOCK_CLASS } from "./record";

export interface PageUiOptions {
  /** The texts the UI shows (labels.ts); English by default. */
  labels?: Labels;
  /** The site's CSP nonce: styles then go into `<style nonce>` elements. */
  nonce?: string;
}

/** The attribute that names every part of the tracker's UI (tests select on it). */
export const UI_ATTRIBUTE = "data-cobrowse";

/** Above everything a page can stack (the largest 32-bit z-index). */
const TOP = "2147483647";

/** Shared by every part: the shadow root starts from `all: initial`. */
const BASE_CSS = `
* { box-sizing: border-box; }
button {
  font: inherit; cursor: pointer; border-radius: 6px; padding: 6px 14px; border: 1px solid #8a8f98;
  background: #ffffff; color: #1b1f24; line-height: 1.2;
}
button:focus-visible { outline: 3px solid #2f6fed; outline-offset: 2px; }
`;

export class PageUi {
  private readonly doc: Document;
  /** Every text shown in the page, in the site's language. */
  readonly labels: Labels;
  private readonly nonce: string | undefined;
  private host: HTMLElement | null = null;
  /** The blocked element inside the shadow root that holds everything. */
  private inner: HTMLElement | null = null;
  private readonly styles = new Set<string>();

  constructor(doc: Document = document, options: PageUiOptions = {}) {
    this.doc = doc;
    this.labels = options.labels ?? ENGLISH;
    this.nonce = options.nonce === "" ? undefined : options.nonce;
  }

  get document(): Document {
    return this.doc;
  }

  /** Appends `element` inside the shadow root, adding `css` (once per distinct text) before it. */
  mount(element: Element, css: string): void {
    const root = this.root();
    if (!this.styles.has(css)) {
      this.styles.add(css);
      this.addStyle(root, css);
    }
    root.append(element);
  }

  /** Whether `node` is the host or inside it. */
  contains(node: Node): boolean {
    const host = this.host;
    if (host === null) return false;
    for (let n: Node | null = node; n !== null; n = n instanceof ShadowRoot ? n.host : n.parentNode) {
      if (n === host) return true;
    }
    return false;
  }

  /** Removes the host and everything in it. */
  remove(): void {
    this.host?.remove();
    this.host = null;
    this.inner = null;
    this.styles.clear();
  }

  private root(): HTMLElement {
    if (this.inner !== null && this.host?.isConnected === true) return this.inner;
    this.host?.remove();
    this.styles.clear();
    const host = this.doc.createElement("cobrowse-ui");
    host.className = BLOCK_CLASS;
    host.setAttribute(UI_ATTRIBUTE, "ui");
    const pinned: [string, string][] = [
      ["all", "initial"],
      ["display", "block"],
      ["position", "fixed"],
      ["top", "0"],
      ["left", "0"],
      ["width", "0"],
      ["height", "0"],
      ["overflow", "visible"],
      ["z-index", TOP],
      ["pointer-events", "none"],
    ];
    for (const [property, value] of pinned) host.style.setProperty(property, value, "important");
    const inner = this.doc.createElement("div");
    inner.className = BLOCK_CLASS;
    inner.style.display = "contents";
    const shadow = host.attachShadow({ mode: "open" });
    shadow.append(inner);
    this.addStyle(inner, BASE_CSS);
    this.doc.documentElement.append(host);
    this.host = host;
    this.inner = inner;
    return inner;
  }

  /** Adds `css` to the shadow root of `inner`: adopted where it can be, else a `<style>`. */
  private addStyle(inner: HTMLElement, css: string): void {
    const shadow = inner.getRootNode() as ShadowRoot;
    const sheet = this.nonce === undefined ? constructed(this.doc, css) : null;
    if (sheet !== null && Array.isArray(shadow.adoptedStyleSheets)) {
      const adopted = shadow.adoptedStyleSheets;
      // An observable array (every current browser) takes `push`; assigning is the fallback.
      if (adopted.length > 0 && typeof adopted.push === "function") adopted.push(sheet);
      else shadow.adoptedStyleSheets = [...adopted, sheet];
      return;
    }
    const style = this.doc.createElement("style");
    if (this.nonce !== undefined) style.nonce = this.nonce;
    style.textContent = css;
    // Before the parts: a part's own rules follow the base ones, as with adopted sheets.
    const last = [...inner.children].filter((c) => c.localName === "style").pop();
    if (last === undefined) inner.prepend(style);
    else last.after(style);
  }
}

/** `css` as a constructed stylesheet of `doc`'s window, or null where there are none. */
function constructed(doc: Document, css: string): CSSStyleSheet | null {
  const Sheet = doc.defaultView?.CSSStyleSheet;
  if (Sheet === undefined || typeof Sheet.prototype.replaceSync !== "function") return null;
  try {
    const sheet = new Sheet();
    sheet.replaceSync(css);
    return sheet;
  } catch {
    return null;
  }
}
