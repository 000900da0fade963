// The console panel beside the player: the watched tab's console output (up to the replayed
// moment when looking at the past), filtered by level, errors highlighted. Clicking a message (or
// Enter on it) moves the replay to when it was logged.

import { isError, LEVEL_FILTERS, matchesLevel, type ConsoleEntry, type LevelFilter } from "../console-log";
import { h, pickable } from "../dom";
import { formatClockTime } from "../format";
import { EntryList } from "./entry-list";

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
  private readonly list: EntryList<ConsoleEntry>;
  private readonly count: HTMLElement;
  private readonly filterSelect: HTMLSelectElement;
  private filter: LevelFilter = "all";

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
      this.list.refilter();
    });
    this.count = h("span", { class: "console-count" });
    this.list = new EntryList<ConsoleEntry>({
      className: "console-list",
      row: (entry) => this.row(entry),
      shows: (entry) => matchesLevel(entry, this.filter),
      flagged: isError,
      counted: (shown, errors) => {
        this.count.textContent = `${shown} shown${errors > 0 ? ` · ${errors} error${errors === 1 ? "" : "s"}` : ""}`;
        this.el.dataset["errors"] = String(errors);
      },
    });
    this.el = h(
      "aside",
      { id: "console-panel", "data-filter": "all" },
      h("div", { class: "console-head" }, h("h3", {}, "Console"), this.count, this.filterSelect),
      this.list.el,
    );
  }

  /**
   * Shows the first `count` entries of `source`. Called often: when `source` is the same list as
   * last time and only grew, only the new entries are added.
   */
  update(source: readonly ConsoleEntry[], count = source.length): void {
    this.list.update(source, count);
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
