/**
 * The bar at the top of the page that is there while any grant is on: it names each agent and
 * what they may do, with one Stop button per grant. It is a polite live region, so assistive
 * technology announces a grant when it starts.
 */

import { type Labels, fill } from "./labels";
import type { Grant, GrantKind } from "./protocol";
import { type PageUi, UI_ATTRIBUTE } from "./page-ui";

const INDICATOR_CSS = `
[${UI_ATTRIBUTE}="grant-indicator"] {
  position: fixed; top: 0; left: 50%; transform: translateX(-50%); max-width: calc(100vw - 16px);
  display: flex; flex-direction: column; gap: 4px; padding: 6px; z-index: 2; pointer-events: auto;
  background: #b3261e; color: #ffffff; border-radius: 0 0 10px 10px;
  box-shadow: 0 4px 16px rgba(0, 0, 0, 0.3);
  font: 600 14px/1.3 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
.grant { display: flex; align-items: center; gap: 12px; padding: 0 4px 0 8px; }
.grant span { overflow-wrap: anywhere; }
[${UI_ATTRIBUTE}="grant-stop"] { padding: 3px 12px; border-color: #ffffff; font-weight: 600; }
`;

/**
 * "Alice is controlling this page": what the indicator says about a grant. (Calls and their
 * recording are shown by the call window, not here.)
 */
export function grantText(labels: Labels, kind: GrantKind, agentName: string): string {
  const template = {
    control: labels.grantControl,
    annotate: labels.grantAnnotate,
    call: labels.grantCall,
    record: labels.grantRecord,
    view: labels.grantView,
  }[kind];
  return fill(template, { agent: agentName });
}

export class GrantIndicator {
  private readonly ui: PageUi;
  private readonly onStop: (grant: Grant) => void;
  private root: HTMLElement | null = null;
  /** The row of each grant shown, by kind and agent id. */
  private readonly rows = new Map<string, HTMLElement>();

  /** `onStop` runs when the user clicks a grant's Stop button. */
  constructor(ui: PageUi, onStop: (grant: Grant) => void) {
    this.ui = ui;
    this.onStop = onStop;
  }

  /**
   * Shows `grants`; with none, the indicator goes away. Rows of grants still on are kept as
   * they are, so a Stop button the user is about to press keeps its focus.
   */
  show(grants: Grant[]): void {
    if (grants.length === 0) {
      this.remove();
      return;
    }
    const doc = this.ui.document;
    if (this.root === null || !this.root.isConnected) {
      this.root = doc.createElement("div");
      this.root.setAttribute(UI_ATTRIBUTE, "grant-indicator");
      this.root.setAttribute("role", "status");
      this.root.setAttribute("aria-live", "polite");
      this.ui.mount(this.root, INDICATOR_CSS);
      this.rows.clear();
    }
    const wanted = new Map<string, Grant>(grants.map((grant) => [`${grant.kind} ${grant.agent.id}`, grant]));
    for (const [key, row] of this.rows) {
      if (wanted.has(key)) continue;
      row.remove();
      this.rows.delete(key);
    }
    for (const [key, grant] of wanted) {
      if (this.rows.has(key)) continue;
      const row = this.row(doc, grant);
      this.root.append(row);
      this.rows.set(key, row);
    }
  }

  remove(): void {
    this.root?.remove();
    this.root = null;
    this.rows.clear();
  }

  private row(doc: Document, grant: Grant): HTMLElement {
    const labels = this.ui.labels;
    const text = grantText(labels, grant.kind, grant.agent.name);
    const row = doc.createElement("div");
    row.className = "grant";
    const label = doc.createElement("span");
    label.textContent = text;
    const stop = doc.createElement("button");
    stop.type = "button";
    stop.setAttribute(UI_ATTRIBUTE, "grant-stop");
    stop.dataset["kind"] = grant.kind;
    stop.dataset["agentId"] = grant.agent.id;
    stop.setAttribute("aria-label", fill(labels.stopGrant, { grant: text }));
    stop.textContent = labels.stop;
    stop.addEventListener("click", () => this.onStop(grant));
    row.append(label, stop);
    return row;
  }
}
