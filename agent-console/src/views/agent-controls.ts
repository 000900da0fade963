// The agent's controls for acting on the user's page, above the live player: ask for remote
// control or to draw, see the answer ("Waiting for the user…", "You control the page", "bob is in
// control"), give it back, pick a drawing tool and colour, and navigate the user's tab (back,
// forward, reload, go to an address) while in control. What the buttons send and what the state
// is come from the session view; this only draws them.

import { consentText, type KindState } from "../consent";
import type { AgentRef, NavigateTo, PageGrantKind as GrantKind, StrokeTool } from "../protocol";
import { h } from "../dom";
import { strokeColor } from "../strokes";

const TOOLS: ReadonlyArray<[StrokeTool, string, string]> = [
  ["pen", "✎ Pen", "Draw freely"],
  ["arrow", "➚ Arrow", "Draw an arrow from where you press to where you let go"],
  ["rect", "▭ Highlight", "Highlight a rectangle"],
  ["laser", "● Laser", "Point: the trail fades within a second"],
];

export interface AgentControlsActions {
  request(kind: GrantKind): void;
  release(kind: GrantKind): void;
  navigate(to: NavigateTo, url?: string): void;
  /** Picks a drawing tool (and, holding both grants, makes the mouse draw). */
  tool(tool: StrokeTool): void;
  /** Holding both grants: which one the mouse is for. */
  pointer(kind: GrantKind): void;
  color(color: string): void;
}

export interface AgentControlsState {
  control: KindState;
  annotate: KindState;
  /** The live view is on screen (not the past): control and drawing are not paused. */
  live: boolean;
  /** Holding both grants: which one the mouse is for; null otherwise. */
  pointer: GrantKind | null;
  /** Another agent that holds control now, if any. */
  controlHolder: AgentRef | null;
  /** The live socket is open and the server named this agent, so requests can be sent. */
  connected: boolean;
  /** A short message about the last thing that went wrong ("" for none). */
  notice: string;
}

/** Request / release buttons and the state line of one kind. */
class GrantControls {
  readonly request: HTMLButtonElement;
  readonly release: HTMLButtonElement;
  readonly state: HTMLSpanElement;

  constructor(
    private readonly kind: GrantKind,
    actions: AgentControlsActions,
  ) {
    const name = kind === "control" ? "control" : "annotate";
    this.request = h(
      "button",
      { type: "button", class: "request", "data-testid": `request-${name}`, "data-needs": "helper" },
      kind === "control" ? "Request control" : "Draw",
    );
    this.release = h("button", { type: "button", class: "release", "data-testid": `release-${name}`, hidden: true });
    this.state = h("span", { class: "grant-state", "data-testid": `${name}-state`, "data-state": "none", role: "status" });
    this.request.addEventListener("click", () => actions.request(kind));
    this.release.addEventListener("click", () => actions.release(kind));
  }

  update(state: KindState, live: boolean, connected: boolean, holder: AgentRef | null): void {
    const holding = state.status === "pending" || state.status === "granted";
    this.request.hidden = holding;
    this.request.disabled = !connected;
    this.release.hidden = !holding;
    this.release.disabled = !connected;
    this.release.textContent =
      state.status === "pending" ? "Cancel request" : this.kind === "control" ? "Release control" : "Stop drawing";
    this.state.dataset["state"] = state.status;
    const paused = state.status === "granted" && !live ? " · paused while you look at the past" : "";
    this.state.textContent = consentText(this.kind, state, holder) + paused;
  }
}

export class AgentControls {
  readonly el: HTMLElement;
  private readonly control: GrantControls;
  private readonly annotate: GrantControls;
  private readonly navigation: HTMLElement;
  private readonly toolButtons: HTMLButtonElement[];
  private readonly notice: HTMLElement;
  private readonly useControl: HTMLButtonElement;

  constructor(actions: AgentControlsActions) {
    this.control = new GrantControls("control", actions);
    this.annotate = new GrantControls("annotate", actions);

    const url = h("input", {
      type: "url",
      class: "navigate-url",
      "data-testid": "navigate-url",
      placeholder: "Address on the user's site",
      "aria-label": "Address to open in the user's tab",
    });
    const go = () => {
      const value = url.value.trim();
      if (value !== "") actions.navigate("url", value);
    };
    const navButton = (to: NavigateTo, label: string, title: string) => {
      const b = h("button", { type: "button", "data-testid": `navigate-${to}`, title }, label);
      b.addEventListener("click", () => actions.navigate(to));
      return b;
    };
    const goButton = h("button", { type: "button", "data-testid": "navigate-go" }, "Go");
    goButton.addEventListener("click", go);
    url.addEventListener("keydown", (e) => {
      if (e.key === "Enter") go();
    });
    this.navigation = h(
      "span",
      { class: "navigate", role: "group", "aria-label": "Navigate the user's tab", hidden: true },
      navButton("back", "←", "Back"),
      navButton("forward", "→", "Forward"),
      navButton("reload", "⟳", "Reload"),
      url,
      goButton,
    );

    this.toolButtons = TOOLS.map(([tool, label, title]) => {
      const b = h(
        "button",
        { type: "button", class: "tool", "data-testid": `annotate-tool-${tool}`, "data-tool": tool, title, "aria-pressed": tool === "pen" ? "true" : "false" },
        label,
      );
      b.addEventListener("click", () => {
        for (const other of this.toolButtons) other.setAttribute("aria-pressed", other === b ? "true" : "false");
        actions.tool(tool);
      });
      return b;
    });
    const color = h("input", { type: "color", value: "#e0353b", "data-testid": "annotate-color", "aria-label": "Drawing colour" });
    color.addEventListener("input", () => actions.color(strokeColor(color.value)));

    this.useControl = h(
      "button",
      { type: "button", class: "tool", "data-testid": "use-control", title: "Use the mouse to control the page, not to draw", hidden: true },
      "Control",
    );
    this.useControl.addEventListener("click", () => actions.pointer("control"));

    this.notice = h("span", { class: "agent-notice", "data-testid": "agent-notice", role: "alert" });
    this.el = h(
      "div",
      { class: "agent-bar", id: "agent-bar" },
      h("span", { class: "grant", "data-kind": "control" }, this.control.request, this.control.release, this.control.state, this.useControl),
      this.navigation,
      h(
        "span",
        { class: "grant", "data-kind": "annotate" },
        this.annotate.request,
        this.annotate.release,
        this.annotate.state,
        h("span", { class: "tools", role: "group", "aria-label": "Drawing tool" }, ...this.toolButtons),
        color,
      ),
      this.notice,
    );
  }

  update(state: AgentControlsState): void {
    this.control.update(state.control, state.live, state.connected, state.controlHolder);
    this.annotate.update(state.annotate, state.live, state.connected, null);
    this.navigation.hidden = !(state.control.status === "granted" && state.live);
    this.useControl.hidden = state.pointer === null;
    this.useControl.setAttribute("aria-pressed", state.pointer === "control" ? "true" : "false");
    this.notice.textContent = state.notice;
    this.notice.hidden = state.notice === "";
  }
}
