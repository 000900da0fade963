// The console panel beside the player: the watched tab's console output (up to the replayed
// moment when looking at the past), filtered by level, errors highlighted. Clicking a message (or
// Enter on it) moves the replay to when it was logged.

import { isError, LEVEL_FILTERS, matchesLevel, type ConsoleEntry, type LevelFilter } from "../console-log";
import { h, pickable } from "../dom";
import { formatClockTime } from "../format";

const FILTER_LABELS: Record<LevelFilter, string> = {
  all: "All levels",
  error: "Errors",
  warn: "Warnings and errors",
  info: "Info",
  log: "Log",
  debug: "Debug",
};

export class ConsolePanel {
  readonly el: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly count: HTMLElement;
  private readonly filterSelect: HTMLSelectElement;
  private filter: LevelFilter = "all";
  private source: readonly ConsoleEntry[] | null = null;
  private rendered = 0;
  private errors = 0;

  /** `onPick` is told the message the agent clicked. */
  constructor(private readonly onPick: (entry: ConsoleEntry) => void) {
    this.filterSelect = h(
      "select",
      { id: "console-level", "aria-label": "Console level" },
      ...LEVEL_FILTERS.map((f) => h("option", { value: f }, FILTER_LABELS[f])),
    );
    this.filterSelect.addEventListener("change", () => {
      this.filter = this.filterSelect.value as LevelFilter;
      this.el.dataset["filter"] = this.filter;
      this.rerender();
    });
    this.count = h("span", { class: "console-count" });
    this.list = h("ol", { class: "console-list" });
    this.el = h(
      "aside",
      { id: "console-panel", "data-filter": "all" },
      h("div", { class: "console-head" }, h("h3", {}, "Console"), this.count, this.filterSelect),
      this.list,
    );
  }

  /**
   * Shows the first `count` entries of `source`. Called often: when `source` is the same list as
   * last time and only grew, only the new entries are added.
   */
  update(source: readonly ConsoleEntry[], count = source.length): void {
    if (source === this.source && count >= this.rendered) {
      this.appendRange(this.rendered, count);
    } else {
      this.source = source;
      this.rendered = 0;
      this.errors = 0;
      this.list.replaceChildren();
      this.appendRange(0, count);
    }
  }

  private rerender(): void {
    const source = this.source ?? [];
    const count = this.rendered;
    this.source = null;
    this.update(source, count);
  }

  private appendRange(from: number, to: number): void {
    const source = this.source ?? [];
    if (to <= from) {
      this.updateCount();
      return;
    }
    const atBottom = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 8;
    const fragment = document.createDocumentFragment();
    for (let i = from; i < to; i++) {
      const entry = source[i];
      if (!entry) continue;
      if (isError(entry)) this.errors++;
      if (!matchesLevel(entry, this.filter)) continue;
      fragment.appendChild(this.row(entry));
    }
    this.list.appendChild(fragment);
    this.rendered = to;
    this.updateCount();
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  private updateCount(): void {
    const shown = this.list.childElementCount;
    this.count.textContent = `${shown} shown${this.errors > 0 ? ` · ${this.errors} error${this.errors === 1 ? "" : "s"}` : ""}`;
    this.el.dataset["errors"] = String(this.errors);
  }

  private row(entry: ConsoleEntry): HTMLLIElement {
    const li = h(
      "li",
      { class: `console-entry level-${entry.level}${isError(entry) ? " error" : ""}`, "data-level": entry.level },
      h("time", { class: "console-time" }, formatClockTime(entry.timestamp)),
      h("span", { class: "console-level" }, entry.level),
      h("span", { class: "console-text" }, entry.text),
    );
    if (entry.trace.length > 0) li.title = entry.trace.join("\n");
    pickable(li, () => this.onPick(entry));
    return li;
  }
}
