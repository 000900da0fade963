/**
 * The built-in "Get help" widget (`helpButton: true`): a small button in the page's corner that
 * asks for a help code and shows it in large digits, grouped for reading out, with the time it
 * stops working; once it has, the widget says so and offers a new one. A site with its own button
 * calls `requestHelp()` instead and shows the code its own way.
 *
 * It lives in the tracker's {@link PageUi}, so it is never recorded and agents' input never
 * reaches it. Every word it shows is in the tracker's labels (labels.ts, `help…`).
 */

import type { HelpCode } from "./help";
import { fill } from "./labels";
import { type PageUi, UI_ATTRIBUTE } from "./page-ui";

const WIDGET_CSS = `
[${UI_ATTRIBUTE}="help"] {
  position: fixed; right: 16px; bottom: 16px; pointer-events: auto; z-index: 1;
  display: flex; flex-direction: column; align-items: flex-end; gap: 8px;
  font: 15px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24;
}
[${UI_ATTRIBUTE}="help-button"] { background: #2f6fed; border-color: #2f6fed; color: #ffffff; font-weight: 600; }
[${UI_ATTRIBUTE}="help-panel"] {
  background: #ffffff; border: 1px solid #c9ced6; border-radius: 10px; padding: 12px 14px; max-width: 280px;
  box-shadow: 0 6px 20px rgba(0, 0, 0, 0.2); display: flex; flex-direction: column; gap: 8px;
}
[${UI_ATTRIBUTE}="help-code"] {
  font: 700 32px/1.1 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; letter-spacing: 0.08em;
}
.help-actions { display: flex; gap: 8px; justify-content: flex-end; }
`;

/** `123456` as it is read out: `123 456`. */
export function groupedCode(code: string): string {
  return code.length === 6 ? `${code.slice(0, 3)} ${code.slice(3)}` : code;
}

export class HelpWidget {
  private readonly ui: PageUi;
  private readonly request: () => Promise<HelpCode>;
  private readonly now: () => number;
  private root: HTMLElement | null = null;
  private panel: HTMLElement | null = null;
  private expiry: ReturnType<typeof setTimeout> | undefined;

  constructor(ui: PageUi, request: () => Promise<HelpCode>, now: () => number = Date.now) {
    this.ui = ui;
    this.request = request;
    this.now = now;
  }

  /** Puts the button on the page. */
  show(): void {
    if (this.root?.isConnected === true) return;
    const doc = this.ui.document;
    const root = doc.createElement("div");
    root.setAttribute(UI_ATTRIBUTE, "help");
    const button = this.button(this.ui.labels.helpButton, "help-button", () => void this.ask());
    root.append(button);
    this.ui.mount(root, WIDGET_CSS);
    this.root = root;
  }

  remove(): void {
    clearTimeout(this.expiry);
    this.root?.remove();
    this.root = null;
    this.panel = null;
  }

  private async ask(): Promise<void> {
    this.say([this.ui.labels.helpAsking]);
    try {
      const help = await this.request();
      this.showCode(help);
    } catch {
      this.say([this.ui.labels.helpFailed], true);
    }
  }

  private showCode(help: HelpCode): void {
    const time = new Date(help.expiresAt).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    const panel = this.say([this.ui.labels.helpIntro], false);
    const code = this.ui.document.createElement("div");
    code.setAttribute(UI_ATTRIBUTE, "help-code");
    code.dataset["code"] = help.code;
    code.textContent = groupedCode(help.code);
    const until = this.ui.document.createElement("div");
    until.setAttribute(UI_ATTRIBUTE, "help-expiry");
    until.textContent = fill(this.ui.labels.helpValidUntil, { time });
    panel.insertBefore(code, panel.lastChild);
    panel.insertBefore(until, panel.lastChild);
    clearTimeout(this.expiry);
    this.expiry = setTimeout(() => this.say([this.ui.labels.helpExpired], true), Math.max(0, help.expiresAt - this.now()));
  }

  /** Replaces the panel with `lines`, a Close button, and a "new code" button if `retry`. */
  private say(lines: string[], retry = false): HTMLElement {
    const doc = this.ui.document;
    this.panel?.remove();
    const panel = doc.createElement("div");
    panel.setAttribute(UI_ATTRIBUTE, "help-panel");
    panel.setAttribute("role", "status");
    panel.setAttribute("aria-live", "polite");
    for (const line of lines) {
      const p = doc.createElement("div");
      p.textContent = line;
      panel.append(p);
    }
    const actions = doc.createElement("div");
    actions.className = "help-actions";
    if (retry) actions.append(this.button(this.ui.labels.helpNewCode, "help-retry", () => void this.ask()));
    actions.append(
      this.button(this.ui.labels.close, "help-close", () => {
        clearTimeout(this.expiry);
        this.panel?.remove();
        this.panel = null;
      }),
    );
    panel.append(actions);
    this.root?.prepend(panel);
    this.panel = panel;
    return panel;
  }

  private button(text: string, name: string, onClick: () => void): HTMLButtonElement {
    const button = this.ui.document.createElement("button");
    button.type = "button";
    button.setAttribute(UI_ATTRIBUTE, name);
    button.textContent = text;
    button.addEventListener("click", onClick);
    return button;
  }
}
