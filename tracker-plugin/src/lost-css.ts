/**
 * Stylesheet rules that rrweb recorded lossily, put back as the page wrote them (see
 * authored-css.ts for how a rule loses declarations, and where its text comes from).
 *
 * - Adopted stylesheets: rrweb records each rule of a stylesheet the first time a shadow root or
 *   document adopts it (once per full snapshot); a lossy rule gets the text the page gave the
 *   constructed stylesheet, or the text of the Lit component that adopts it.
 * - `<style>` elements: rrweb records the element's rules as its `_cssText`; a lossy rule gets
 *   its text from the element's content. Looked at in full snapshots only (see {@link repair}).
 * - `<link rel="stylesheet">`: rrweb records them the same way, but the file's text is not in the
 *   page. The first time a linked stylesheet is recorded lossily, the tracker fetches it (from the
 *   browser's cache, as the page loaded it) and asks for a fresh full snapshot once it arrives;
 *   that snapshot, and every later one, carries the repaired rules.
 */

import { EventType, type eventWithTime, IncrementalSource } from "rrweb";

import { constructedRuleAsWritten, hasEmptyDeclaration, noteFromComponent, rulesAsWritten } from "./authored-css";
import { log } from "./log";
import { withoutRecording } from "./network-patch";

/** A node as rrweb serializes it: what this module needs of it. */
interface SerializedNode {
  id: number;
  attributes?: Record<string, unknown>;
  childNodes?: SerializedNode[];
}

export class LostCss {
  /** Linked stylesheets' text by URL; `null` while it is fetched, or when it could not be. */
  private readonly linked = new Map<string, string | null>();

  /**
   * @param nodeOf the page node rrweb recorded under an id
   * @param refresh asks for a fresh full snapshot: a linked stylesheet's text arrived
   */
  constructor(
    private readonly nodeOf: (id: number) => Node | null,
    private readonly refresh: () => void,
  ) {}

  /** Repairs `event` in place (rrweb made it for this one emit). */
  repair(event: eventWithTime): void {
    if (event.type === EventType.FullSnapshot) {
      this.repairTree(event.data.node as SerializedNode);
      return;
    }
    if (event.type !== EventType.IncrementalSnapshot) return;
    const data = event.data;
    if (data.source === IncrementalSource.Mutation) {
      // An iframe's document, recorded whole. Other added nodes are not looked at: a page
      // re-rendering a table adds thousands a second, and looking at each cost it more than all
      // the rest of this module (a `<style>` added later is repaired from the next full snapshot).
      if (data.isAttachIframe === true) for (const add of data.adds) this.repairTree(add.node as SerializedNode);
      // A linked stylesheet that loaded after its element was recorded.
      for (const change of data.attributes) this.repairNode(change.id, change.attributes);
    } else if (data.source === IncrementalSource.AdoptedStyleSheet && data.styles !== undefined) {
      const host = this.nodeOf(data.id);
      const sheets = adoptedBy(host);
      if (host === null || sheets === undefined || sheets.length !== data.styleIds.length) return;
      for (const style of data.styles) {
        const sheet = sheets[data.styleIds.indexOf(style.styleId)];
        for (const recorded of style.rules) {
          const { rule, index } = recorded;
          if (sheet === undefined || typeof index !== "number" || !hasEmptyDeclaration(rule)) continue;
          if (host.nodeType === Node.ELEMENT_NODE) noteFromComponent(sheet, host as Element);
          recorded.rule = constructedRuleAsWritten(sheet, index) ?? rule;
        }
      }
    }
  }

  private repairTree(node: SerializedNode): void {
    if (node.attributes !== undefined) this.repairNode(node.id, node.attributes);
    const children = node.childNodes;
    if (children !== undefined) for (const child of children) this.repairTree(child);
  }

  /**
   * The recorded rules (`_cssText`) of the `<style>` or `<link>` element `id`, among its recorded
   * `attributes`, with lossy rules as written.
   */
  private repairNode(id: number, attributes: Record<string, unknown>): void {
    const recorded = attributes._cssText;
    if (typeof recorded !== "string" || !hasEmptyDeclaration(recorded)) return;
    const element = this.nodeOf(id);
    const sheet = (element as HTMLStyleElement | HTMLLinkElement | null)?.sheet ?? null;
    if (element === null || sheet === null) return;
    const text = element.nodeName === "STYLE" ? element.textContent : this.linkedText(sheet.href);
    if (text !== null) attributes._cssText = rulesAsWritten(recorded, sheet, text);
  }

  /** A linked stylesheet's text, or `null` while it is not at hand (and then it is fetched). */
  private linkedText(href: string | null): string | null {
    if (href === null) return null;
    const text = this.linked.get(href);
    if (text !== undefined) return text;
    this.linked.set(href, null);
    withoutRecording(() => fetch(href, { cache: "force-cache", credentials: "same-origin" }))
      .then((response) => (response.ok ? response.text() : Promise.reject(new Error(`HTTP ${response.status}`))))
      .then(
        (fetched) => {
          this.linked.set(href, fetched);
          this.refresh();
        },
        (error: unknown) => log.debug("stylesheet text not fetched; its lossy rules stay so", href, error),
      );
    return null;
  }
}

/** The stylesheets `node` (a shadow root's host, or a document) adopts. */
function adoptedBy(node: Node | null): readonly CSSStyleSheet[] | undefined {
  if (node === null) return undefined;
  if (node.nodeType === Node.DOCUMENT_NODE) return (node as Document).adoptedStyleSheets;
  return (node as Element).shadowRoot?.adoptedStyleSheets;
}
