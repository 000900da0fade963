// The bar under the stage: play/pause, the replay speed, skipping inactivity, the timeline slider
// and its label, "back to live", and "Copy link" to the moment on screen. It draws what
// time-travel.ts decided and passes the agent's clicks on.

import { h } from "../../dom";
import type { TimelineBarModel } from "../../time-travel";

const SPEEDS = [1, 2, 4, 8] as const;

export interface TimelineBarActions {
  /** The slider moved (dragged, or set by a test) to `offset` ms from the start. */
  scrub(offset: number): void;
  playPause(): void;
  speed(speed: number): void;
  skipInactive(skip: boolean): void;
  backToLive(): void;
  /** The link to the moment on screen, to copy. */
  momentLink(): string;
}

/** How long "Link copied" stays, ms. */
const COPIED_MS = 3000;

export class TimelineBar {
  readonly el: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly label: HTMLElement;
  private readonly play: HTMLButtonElement;
  private readonly speedButtons: HTMLButtonElement[];
  private readonly backToLive: HTMLButtonElement;
  private readonly copied: HTMLElement;
  private copiedTimer: ReturnType<typeof setTimeout> | undefined;
  private speed = 1;

  constructor(private readonly actions: TimelineBarActions) {
    this.slider = h("input", {
      id: "timeline",
      type: "range",
      min: 0,
      max: 0,
      step: 1,
      value: 0,
      "aria-label": "Timeline",
    });
    this.label = h("span", { id: "timeline-label", class: "time-label" });
    this.play = h("button", { id: "play-pause", type: "button", "data-state": "paused", "aria-keyshortcuts": "Space" }, "▶ Play");
    this.speedButtons = SPEEDS.map((s) =>
      h("button", { class: "speed", type: "button", "data-speed": s, "aria-pressed": s === this.speed ? "true" : "false" }, `${s}x`),
    );
    const skip = h("input", { id: "skip-inactive", type: "checkbox" });
    this.backToLive = h("button", { id: "back-to-live", type: "button", class: "primary", hidden: true, "aria-keyshortcuts": "L" }, "● Back to live");
    const copy = h("button", { id: "copy-link", type: "button", title: "Copy a link to this moment of this tab" }, "Copy link");
    this.copied = h("span", { id: "copy-link-status", class: "muted", role: "status", "aria-live": "polite" });
    this.el = h(
      "div",
      { class: "timeline-bar" },
      this.play,
      h("span", { class: "speeds", role: "group", "aria-label": "Replay speed" }, ...this.speedButtons),
      h("label", { class: "skip-inactive", title: "Speed through stretches where the user did nothing" }, skip, " Skip inactivity"),
      this.slider,
      this.label,
      this.backToLive,
      copy,
      this.copied,
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
    skip.addEventListener("change", () => actions.skipInactive(skip.checked));
    this.backToLive.addEventListener("click", () => actions.backToLive());
    copy.addEventListener("click", () => void this.copyLink());
  }

  /** Where the agent left the slider, ms from the start. */
  get sliderValue(): number {
    return Number(this.slider.value);
  }

  /** Puts the slider at `offset` (a link, a key, a clicked message moved the view there). */
  moveTo(offset: number): void {
    const value = Math.round(offset);
    // A range input clamps its value to its max, which the first render has yet to set.
    if (Number(this.slider.max) < value) this.slider.max = String(value);
    this.slider.value = String(value);
  }

  render(model: TimelineBarModel): void {
    this.slider.max = String(model.max);
    if (model.moveSlider) this.slider.value = String(model.value);
    this.slider.dataset["value"] = String(model.value);
    this.slider.setAttribute("aria-valuetext", model.valueText);
    this.label.textContent = model.label;
    this.play.dataset["state"] = model.playing ? "playing" : "paused";
    this.play.textContent = model.playText;
    this.play.disabled = model.playDisabled;
    for (const btn of this.speedButtons) btn.setAttribute("aria-pressed", Number(btn.dataset["speed"]) === this.speed ? "true" : "false");
    this.backToLive.hidden = !model.backToLive;
  }

  /** Copies the link; without clipboard access (an insecure origin) it shows the link to copy by hand. */
  private async copyLink(): Promise<void> {
    const link = this.actions.momentLink();
    clearTimeout(this.copiedTimer);
    this.copied.dataset["link"] = link;
    try {
      await navigator.clipboard.writeText(link);
    } catch {
      this.copied.textContent = `Copy this link: ${link}`;
      return;
    }
    this.copied.textContent = "Link copied";
    this.copiedTimer = setTimeout(() => {
      this.copied.textContent = "";
    }, COPIED_MS);
  }
}
