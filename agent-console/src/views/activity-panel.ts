// The activity panel beside the console panel: what the agents did in this session and what the
// user answered (the `agent` records, activity.ts), newest at the bottom. Lines are appended as
// they come; the last one is rewritten when a run of moves or keystrokes grows. Clicking a line (or
// Enter on it) moves the replay to when it happened.

import type { ActivityEntry } from "../activity";
import { h, pickable } from "../dom";
import { formatClockTime } from "../format";

export class ActivityPanel {
  readonly el: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly count: HTMLElement;
  private source: readonly ActivityEntry[] | null = null;
  private first: ActivityEntry | undefined;
  private rendered = 0;

  /** `onPick` is told the entry the agent clicked. */
  constructor(private readonly onPick: (entry: ActivityEntry) => void) {
    this.count = h("span", { class: "activity-count" });
    this.list = h("ol", { class: "activity-list" });
    this.el = h(
      "aside",
      { id: "activity-panel", "data-testid": "activity" },
      h("div", { class: "activity-head" }, h("h3", {}, "Activity"), this.count),
      this.list,
    );
    this.updateCount();
  }

  /** Shows `entries`; only new lines (and a grown last line) are touched. */
  update(entries: readonly ActivityEntry[]): void {
    // A different list, or the old lines were dropped from its front: start over.
    if (entries !== this.source || entries[0] !== this.first) {
      this.source = entries;
      this.first = entries[0];
      this.rendered = 0;
      this.list.replaceChildren();
    }
    const atBottom = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 8;
    const last = this.list.lastElementChild;
    const lastEntry = entries[this.rendered - 1];
    if (last && lastEntry) this.fill(last as HTMLLIElement, lastEntry);
    for (let i = this.rendered; i < entries.length; i++) {
      const entry = entries[i]!;
      const li = h("li", { class: "activity-entry", "data-testid": "activity-entry" });
      pickable(li, () => this.onPick(entry));
      this.fill(li, entry);
      this.list.appendChild(li);
    }
    this.rendered = entries.length;
    this.updateCount();
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  private fill(li: HTMLLIElement, entry: ActivityEntry): void {
    const text = entry.text;
    if (li.dataset["text"] === text) return;
    li.dataset["text"] = text;
    li.dataset["action"] = entry.action;
    li.dataset["agent"] = entry.agentId;
    li.replaceChildren(
      h("time", { class: "activity-time" }, formatClockTime(entry.ts).slice(0, 8)),
      h("span", { class: "activity-text" }, text),
    );
  }

  private updateCount(): void {
    const n = this.rendered;
    this.count.textContent = n === 0 ? "nothing yet" : `${n} ${n === 1 ? "entry" : "entries"}`;
  }
}
