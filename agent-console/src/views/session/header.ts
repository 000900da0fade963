// The top of a session view: who the user is, their page, browser and viewport, who else watches,
// and the connection status; below it the user's tabs, to pick which one to watch, and the way
// back to following the tab the user is on.

import type { SessionSummary } from "../../api";
import { h } from "../../dom";
import { browserName, userLabel } from "../../format";
import type { ConnectionStatus } from "../../feed";
import type { Viewport } from "../../rrweb-events";
import { tabLabel, type TabInfo } from "../../tabs";
import { sessionListHash } from "../session-list";

export interface HeaderState {
  /** `ended` for a recorded session. */
  status: ConnectionStatus;
  statusText: string;
  statusTitle: string;
  viewport: Viewport | null;
  /** Who else watches; "" hides the line. */
  watchers: string;
}

export class SessionHeader {
  readonly el: HTMLElement;
  private readonly status = h("span", { id: "connection-status", class: "status" });
  private readonly viewport = h("span", { id: "viewport-size", class: "viewport" });
  private readonly watchers = h("span", { class: "watchers", "data-testid": "watchers", hidden: true });

  constructor(summary: SessionSummary) {
    this.el = h(
      "header",
      { class: "session-header" },
      h("a", { href: sessionListHash(), id: "back-to-list", class: "link" }, "← Sessions"),
      h("h2", { id: "session-user" }, userLabel(summary)),
      h("span", { id: "session-url", class: "url", title: summary.url }, summary.url || "—"),
      h("span", { id: "session-browser", class: "browser" }, browserName(summary.user_agent)),
      this.viewport,
      this.watchers,
      this.status,
    );
  }

  render(state: HeaderState): void {
    this.status.dataset["status"] = state.status;
    this.status.textContent = state.statusText;
    this.status.title = state.statusTitle;
    const vp = state.viewport;
    this.viewport.textContent = vp ? `${vp.width} × ${vp.height}` : "viewport unknown";
    if (vp) {
      this.viewport.dataset["width"] = String(vp.width);
      this.viewport.dataset["height"] = String(vp.height);
    }
    this.watchers.textContent = state.watchers;
    this.watchers.hidden = state.watchers === "";
  }
}

export interface TabsState {
  tabs: readonly TabInfo[];
  /** The tab the user is on. */
  active: string | null;
  /** The tab on screen. */
  watched: string | null;
  /** The agent follows the user's tab already (or cannot: a recorded session). */
  following: boolean;
}

export class TabsBar {
  readonly el: HTMLElement;
  private readonly tabs = h("nav", { id: "tabs", class: "tabs", "aria-label": "The user's tabs" });
  private readonly follow = h("button", { id: "follow-active", class: "link", type: "button" }, "Follow the user's tab");
  /** What the tabs were last drawn from: they are redrawn only when it changes. */
  private drawn = "";

  /** `select`: the agent picked a tab to watch; `follow`: the agent wants the user's tab again. */
  constructor(select: (tab: string) => void, follow: () => void) {
    this.el = h("div", { class: "tabs-bar" }, this.tabs, this.follow);
    this.follow.addEventListener("click", follow);
    this.tabs.addEventListener("click", (e) => {
      const btn = (e.target as HTMLElement).closest<HTMLElement>(".tab");
      const tab = btn?.dataset["tab"];
      if (tab) select(tab);
    });
  }

  render(state: TabsState): void {
    this.follow.hidden = state.following;
    const { tabs, active, watched } = state;
    const key = JSON.stringify([watched, active, tabs.map((t) => [t.id, t.href, t.errors])]);
    if (key === this.drawn) return;
    this.drawn = key;
    this.tabs.replaceChildren(
      ...tabs.map((t) =>
        h(
          "button",
          {
            type: "button",
            class: `tab${t.id === active ? " active" : ""}${t.id === watched ? " watching" : ""}`,
            "data-tab": t.id,
            "aria-pressed": t.id === watched ? "true" : "false",
            title: `${t.id}${t.href ? ` — ${t.href}` : ""}${t.id === active ? " (the user's active tab)" : ""}`,
          },
          t.id === active ? h("span", { class: "tab-dot", "aria-hidden": "true" }) : null,
          tabLabel(t),
          t.errors > 0 ? h("span", { class: "tab-errors", title: "console errors" }, String(t.errors)) : null,
        ),
      ),
    );
  }
}
