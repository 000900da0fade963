// The network panel beside the console panel: the watched tab's fetch and XMLHttpRequest calls
// (up to the replayed moment when looking at the past), filtered by status class, type and text,
// failed ones highlighted. Clicking a request (or Enter on it) moves the replay to when it ended.

import { h, pickable } from "../dom";
import { formatClockTime } from "../format";
import { EntryList } from "./entry-list";
import {
  displayUrl,
  formatSize,
  formatRequestDuration,
  matchesFilter,
  type NetworkFilter,
  type NetworkRequest,
  NO_FILTER,
  STATUS_FILTERS,
  statusLabel,
  type StatusFilter,
  TYPE_FILTERS,
  type TypeFilter,
} from "../network-log";

const STATUS_LABELS: Record<StatusFilter, string> = {
  all: "All statuses",
  "2xx": "2xx",
  "3xx": "3xx",
  "4xx": "4xx",
  "5xx": "5xx",
  failed: "Failed",
};
const TYPE_LABELS: Record<TypeFilter, string> = { all: "All types", fetch: "fetch", xhr: "XHR" };

export class NetworkPanel {
  readonly el: HTMLElement;
  private readonly list: EntryList<NetworkRequest>;
  private readonly count: HTMLElement;
  private filter: NetworkFilter = { ...NO_FILTER };

  /** `onPick` is told the request the agent clicked. */
  constructor(private readonly onPick: (request: NetworkRequest) => void) {
    const statusSelect = h(
      "select",
      { id: "network-status", "aria-label": "Request status" },
      ...STATUS_FILTERS.map((f) => h("option", { value: f }, STATUS_LABELS[f])),
    );
    statusSelect.addEventListener("change", () => this.setFilter({ status: statusSelect.value as StatusFilter }));
    const typeSelect = h(
      "select",
      { id: "network-type", "aria-label": "Request type" },
      ...TYPE_FILTERS.map((f) => h("option", { value: f }, TYPE_LABELS[f])),
    );
    typeSelect.addEventListener("change", () => this.setFilter({ type: typeSelect.value as TypeFilter }));
    const search = h("input", {
      id: "network-search",
      type: "search",
      placeholder: "Filter URL, method, status",
      "aria-label": "Filter requests",
    });
    search.addEventListener("input", () => this.setFilter({ text: search.value }));
    this.count = h("span", { class: "network-count" });
    this.list = new EntryList<NetworkRequest>({
      className: "network-list",
      row: (request) => this.row(request),
      shows: (request) => matchesFilter(request, this.filter),
      flagged: (request) => request.failed,
      counted: (shown, failed) => {
        this.count.textContent = `${shown} shown${failed > 0 ? ` · ${failed} failed` : ""}`;
        this.el.dataset["failed"] = String(failed);
      },
    });
    this.el = h(
      "aside",
      { id: "network-panel", "data-testid": "network", "data-status": "all", "data-type": "all" },
      h("div", { class: "network-head" }, h("h3", {}, "Network"), this.count, statusSelect, typeSelect),
      h("div", { class: "network-search" }, search),
      this.list.el,
    );
    this.list.update([]);
  }

  /**
   * Shows the first `count` requests of `source`. Called often: when `source` is the same list as
   * last time and only grew, only the new requests are added.
   */
  update(source: readonly NetworkRequest[], count = source.length): void {
    this.list.update(source, count);
  }

  private setFilter(change: Partial<NetworkFilter>): void {
    this.filter = { ...this.filter, ...change };
    this.el.dataset["status"] = this.filter.status;
    this.el.dataset["type"] = this.filter.type;
    this.list.refilter();
  }

  private row(request: NetworkRequest): HTMLLIElement {
    const status = statusLabel(request);
    const url = displayUrl(request.url);
    const meta = [
      formatClockTime(request.timestamp),
      request.type === "xhr" ? "XHR" : "fetch",
      url.host,
      `↑${formatSize(request.requestSize)} ↓${formatSize(request.responseSize)}`,
    ];
    const li = h(
      "li",
      {
        class: `network-entry${request.failed ? " failed" : ""}`,
        "data-status": String(request.status),
        "data-type": request.type,
        "data-failed": String(request.failed),
      },
      h("span", { class: "network-method" }, request.method),
      h("span", { class: "network-status" }, status),
      h("span", { class: "network-url" }, url.path),
      h("span", { class: "network-duration" }, formatRequestDuration(request.duration)),
      h("span", { class: "network-meta" }, meta.filter((part) => part !== "").join(" · ")),
    );
    li.title = detailText(request);
    pickable(li, () => this.onPick(request));
    return li;
  }
}

/** The tooltip: the whole URL, and headers and bodies when the site records them. */
function detailText(request: NetworkRequest): string {
  const lines = [`${request.method} ${request.url}`, `status ${statusLabel(request)}`];
  if (request.dropped > 0) lines.push(`(${request.dropped} requests before this one were not recorded)`);
  const block = (title: string, headers: Record<string, string> | null) => {
    if (headers === null) return;
    lines.push(title, ...Object.entries(headers).map(([name, value]) => `  ${name}: ${value}`));
  };
  block("request headers", request.requestHeaders);
  block("response headers", request.responseHeaders);
  if (request.requestBody !== null) lines.push("request body", request.requestBody.slice(0, 2000));
  if (request.responseBody !== null) lines.push("response body", request.responseBody.slice(0, 2000));
  return lines.join("\n");
}
