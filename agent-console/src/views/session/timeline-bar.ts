// The bar under the stage: play/pause, the replay speed, the timeline slider and its label, and
// "back to live". It draws what time-travel.ts decided and passes the agent's clicks on.

import { h } from "../../dom";
import type { TimelineBarModel } from "../../time-travel";

const SPEEDS = [1, 2, 4] as const;

export interface TimelineBarActions {
  /** The slider moved (dragged, or set by a test) to `offset` ms from the start. */
  scrub(offset: number): void;
  playPause(): void;
  speed(speed: number): void;
  backToLive(): void;
}

export class TimelineBar {
  readonly el: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly label: HTMLElement;
  private readonly play: HTMLButtonElement;
  private readonly speedButtons: HTMLButtonElement[];
  private readonly backToLive: HTMLButtonElement;
  private speed = 1;

  constructor(actions: TimelineBarActions) {
    this.slider = h("input", {
      id: "timeline",
      type: "range",
      min: 0,
      max: 0,
      step: 1,
      value: 0,
      "aria-label": "Timeline (ms from the session start)",
    });
    this.label = h("span", { id: "timeline-label", class: "time-label" });
    this.play = h("button", { id: "play-pause", type: "button", "data-state": "paused" }, "▶ Play");
    this.speedButtons = SPEEDS.map((s) =>
      h("button", { class: "speed", type: "button", "data-speed": s, "aria-pressed": s === this.speed ? "true" : "false" }, `${s}x`),
    );
    this.backToLive = h("button", { id: "back-to-live", type: "button", class: "primary", hidden: true }, "● Back to live");
    this.el = h(
      "div",
      { class: "timeline-bar" },
      this.play,
      h("span", { class: "speeds", role: "group", "aria-label": "Replay speed" }, ...this.speedButtons),
      this.slider,
      this.label,
      this.backToLive,
    );

    const onSlider = () => actions.scrub(Number(this.slider.value));
    this.slider.addEventListener("input", onSlider);
    this.slider.addEventListener("change", onSlider);
    this.play.addEventListener("click", () => actions.playPause());
    for (const btn of this.speedButtons) {
      btn.addEventListener("click", () => {
        this.speed = Number(btn.dataset["speed"]);
        actions.speed(this.speed);
      });
    }
    this.backToLive.addEventListener("click", () => actions.backToLive());
  }

  /** Where the agent left the slider, ms from the start. */
  get sliderValue(): number {
    return Number(this.slider.value);
  }

  render(model: TimelineBarModel): void {
    this.slider.max = String(model.max);
    if (model.moveSlider) this.slider.value = String(model.value);
    this.slider.dataset["value"] = String(model.value);
    this.label.textContent = model.label;
    this.play.dataset["state"] = model.playing ? "playing" : "paused";
    this.play.textContent = model.playText;
    this.play.disabled = model.playDisabled;
    for (const btn of this.speedButtons) btn.setAttribute("aria-pressed", Number(btn.dataset["speed"]) === this.speed ? "true" : "false");
    this.backToLive.hidden = !model.backToLive;
  }
}
