// Acting on the user's page from the session view: the agent bar (ask for control or to draw,
// give it back, tools, navigation) and the two layers over the live player that turn the agent's
// mouse and keys into control input or strokes, each active only once the user granted it and
// only while the live page is on screen.

import { PointerChoice, Notices } from "../../acting-state";
import { AnnotateLayer } from "../../annotate-layer";
import { ControlLayer } from "../../control-layer";
import type { LiveSession } from "../../live-session";
import type { AgentRequest } from "../../protocol";
import { AgentControls } from "../agent-controls";

export class Acting {
  readonly bar: AgentControls;
  /** The layers to stack over the live player, in order. */
  readonly layers: HTMLElement[];
  private readonly control: ControlLayer;
  private readonly annotate: AnnotateLayer;
  private readonly pointer = new PointerChoice();
  private readonly notices = new Notices();

  /** `live` is the session's connection (null for a recorded session); `onChange` redraws. */
  constructor(
    private readonly live: () => LiveSession | null,
    private readonly onChange: () => void,
  ) {
    this.control = new ControlLayer({
      target: () => this.liveTarget(),
      send: (tab, input) => this.send({ type: "control", tab, input }),
    });
    this.annotate = new AnnotateLayer({
      target: () => this.liveTarget(),
      send: (tab, stroke) => this.send({ type: "stroke", tab, stroke }),
    });
    this.layers = [this.control.el, this.annotate.el];
    this.bar = new AgentControls({
      request: (kind) => this.send({ type: "request", kind }),
      release: (kind) => this.send({ type: "release", kind }),
      navigate: (to, url) => {
        const tab = this.live()?.watched;
        if (tab) this.send({ type: "control", tab, input: url === undefined ? { action: "navigate", to } : { action: "navigate", to, url } });
      },
      tool: (tool) => {
        this.annotate.tool = tool;
        this.pointer.choose("annotate");
        this.onChange();
      },
      pointer: (kind) => {
        this.pointer.choose(kind);
        this.onChange();
      },
      color: (color) => {
        this.annotate.color = color;
      },
    });
  }

  /** The tab on screen and its live replay, while the live view shows a page. */
  private liveTarget() {
    const live = this.live();
    const tab = live?.watched ?? null;
    const player = live?.playerOf(tab);
    return tab !== null && player?.ready ? { tab, replay: player } : null;
  }

  /** `liveMode`: the view shows the live page rather than the past. */
  render(live: LiveSession, liveMode: boolean): void {
    const selfId = live.self?.id ?? null;
    const control = live.consent.of(selfId, "control");
    const annotate = live.consent.of(selfId, "annotate");
    this.pointer.update({ control: control.status === "granted", annotate: annotate.status === "granted" });
    const active = this.pointer.active(liveMode && this.liveTarget() !== null);
    this.annotate.setActive(active.annotate);
    this.control.setActive(active.control);
    const holder = live.consent.controlHolder;
    this.bar.el.hidden = live.status === "ended";
    this.bar.update({
      control,
      annotate,
      live: liveMode,
      pointer: this.pointer.pointer,
      controlHolder: holder !== null && holder.id !== selfId ? holder : null,
      connected: live.status === "live" && selfId !== null,
      notice: this.notices.text(live.lastServerError, Date.now()),
    });
  }

  destroy(): void {
    this.control.destroy();
    this.annotate.destroy();
  }

  /** Sends on the live socket; says so when it could not. */
  private send(request: AgentRequest): boolean {
    const ok = this.live()?.send(request) ?? false;
    if (!ok) {
      this.notices.show("Not connected to the session right now; try again in a moment.", Date.now());
      this.onChange();
    }
    return ok;
  }
}
