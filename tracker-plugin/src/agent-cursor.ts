/**
 * The controlling agent's pointer, drawn where the agent's input lands, so the user sees who is
 * doing what. It is a picture only: it takes no pointer events and is not recorded.
 */

import { type PageUi, UI_ATTRIBUTE } from "./page-ui";

const CURSOR_CSS = `
[${UI_ATTRIBUTE}="agent-cursor"] {
  position: fixed; top: 0; left: 0; z-index: 1; pointer-events: none;
  display: flex; align-items: flex-start; transition: transform 60ms linear;
  font: 600 12px/1.2 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
[${UI_ATTRIBUTE}="agent-cursor"] svg { width: 18px; height: 22px; display: block; }
[${UI_ATTRIBUTE}="agent-cursor"] span {
  margin: 16px 0 0 -4px; padding: 2px 6px; border-radius: 4px; background: #b3261e; color: #ffffff;
  white-space: nowrap; max-width: 200px; overflow: hidden; text-overflow: ellipsis;
}
`;

const SVG = "http://www.w3.org/2000/svg";

export class AgentCursor {
  private readonly ui: PageUi;
  private root: HTMLElement | null = null;
  private label: HTMLElement | null = null;

  constructor(ui: PageUi) {
    this.ui = ui;
  }

  /** Shows the cursor with `name` at viewport point (`x`, `y`). */
  show(name: string, x: number, y: number): void {
    if (this.root === null || this.label === null || !this.root.isConnected) {
      const doc = this.ui.document;
      this.root = doc.createElement("div");
      this.root.setAttribute(UI_ATTRIBUTE, "agent-cursor");
      this.root.setAttribute("aria-hidden", "true");
      this.label = doc.createElement("span");
      this.root.append(arrow(doc), this.label);
      this.ui.mount(this.root, CURSOR_CSS);
    }
    this.label.textContent = name;
    this.root.style.transform = `translate(${x}px, ${y}px)`;
  }

  hide(): void {
    this.root?.remove();
    this.root = null;
    this.label = null;
  }
}

/** A classic pointer arrow whose tip is at the element's top-left corner. */
function arrow(doc: Document): SVGSVGElement {
  const svg = doc.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 18 22");
  const path = doc.createElementNS(SVG, "path");
  path.setAttribute("d", "M1 1 L1 18 L5.5 13.8 L8.6 20.6 L11.6 19.3 L8.6 12.6 L14.6 12.6 Z");
  path.setAttribute("fill", "#b3261e");
  path.setAttribute("stroke", "#ffffff");
  path.setAttribute("stroke-width", "1.5");
  path.setAttribute("stroke-linejoin", "round");
  svg.append(path);
  return svg;
}
