// The session list's search box and filters: status, browser, "has console errors", and when the
// session started. It reports a new query as the agent types (after a short pause, or at once on
// Enter) and at once when a filter changes; it is filled from a query, so a shared link's search
// shows in the boxes.

import { h } from "../dom";
import { BROWSERS, fromLocalInput, toLocalInput, type BrowserFilter, type ListQuery, type StatusFilter } from "../list-query";

/** Typing pauses this long before the list asks the server. */
const TYPING_PAUSE_MS = 150;

const BROWSER_NAMES: Record<BrowserFilter, string> = {
  chrome: "Chrome",
  edge: "Edge",
  firefox: "Firefox",
  safari: "Safari",
  opera: "Opera",
  other: "Other",
};

export class ListFilters {
  readonly search = h("input", {
    id: "search",
    type: "search",
    placeholder: "Search user id, URL, metadata, session id…",
    "aria-label": "Search sessions",
    autocomplete: "off",
  });
  readonly el: HTMLElement;
  private readonly status = h(
    "select",
    { id: "status-filter", "aria-label": "Status" },
    h("option", { value: "any" }, "All"),
    h("option", { value: "live" }, "Live"),
    h("option", { value: "ended" }, "Ended"),
  );
  private readonly browser = h(
    "select",
    { id: "browser-filter", "aria-label": "Browser" },
    h("option", { value: "" }, "Any browser"),
    ...BROWSERS.map((b) => h("option", { value: b }, BROWSER_NAMES[b])),
  );
  private readonly errors = h("input", { id: "errors-only", type: "checkbox" });
  private readonly from = h("input", { id: "started-from", type: "datetime-local", "aria-label": "Started from" });
  private readonly to = h("input", { id: "started-to", type: "datetime-local", "aria-label": "Started until" });
  private typing: ReturnType<typeof setTimeout> | null = null;

  /** `onChange` gets the query whenever the agent changes it. */
  constructor(initial: ListQuery, private readonly onChange: (query: ListQuery) => void) {
    this.el = h(
      "div",
      { class: "filters" },
      this.search,
      this.status,
      this.browser,
      h("label", { class: "check" }, this.errors, " Console errors"),
      h("label", { class: "range" }, "Started ", this.from),
      h("label", { class: "range" }, "to ", this.to),
    );
    this.search.value = initial.q;
    this.status.value = initial.status;
    this.browser.value = initial.browser ?? "";
    this.errors.checked = initial.errors;
    this.from.value = toLocalInput(initial.from);
    this.to.value = toLocalInput(initial.to);

    this.search.addEventListener("input", () => {
      this.cancelTyping();
      this.typing = setTimeout(() => this.changed(), TYPING_PAUSE_MS);
    });
    this.search.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.changed();
    });
    for (const input of [this.status, this.browser, this.errors, this.from, this.to]) {
      input.addEventListener("change", () => this.changed());
    }
  }

  get query(): ListQuery {
    const browser = this.browser.value;
    const to = fromLocalInput(this.to.value);
    return {
      q: this.search.value,
      status: this.status.value as StatusFilter,
      browser: (BROWSERS as readonly string[]).includes(browser) ? (browser as BrowserFilter) : null,
      errors: this.errors.checked,
      from: fromLocalInput(this.from.value),
      // The input is to the minute: "until 10:30" takes in the whole minute.
      to: to === null ? null : to + 59_999,
    };
  }

  destroy(): void {
    this.cancelTyping();
  }

  private changed(): void {
    this.cancelTyping();
    this.onChange(this.query);
  }

  private cancelTyping(): void {
    if (this.typing !== null) clearTimeout(this.typing);
    this.typing = null;
  }
}
