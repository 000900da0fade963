// The session list: newest first, searched and filtered as the agent types (views/list-filters.ts),
// paged with "Load more", and kept current by the server's watch feed (session-watch.ts) rather
// than by polling: sessions appear, change and leave by themselves. The search lives in the URL
// hash, so a link shares it. A session where a call runs has a 📞 badge; one whose page logged a
// console error, an "errors" badge.

import { ApiError, type Api, type SessionPage, type SessionSummary } from "../api";
import { append, h, type View } from "../dom";
import { browserName, formatDuration, formatStarted, sessionDuration, userLabel } from "../format";
import { gridSelection, MAX_GRID, onGridChange, toggleInGrid } from "../grid-selection";
import { isFiltered, listHash, type ListQuery } from "../list-query";
import { emptyPage, withoutSession, withPage, withSession, type SessionPageState } from "../session-page";
import { retryDelay, watchSessions, type FeedState, type WatchEvent } from "../session-watch";
import { codeBox } from "./code-box";
import { ListFilters } from "./list-filters";

const PAGE = 50;

/** The list's hash as the agent last left it: "← Sessions" in a session goes back to that search. */
let lastListHash = "#/";

export function sessionListHash(): string {
  return lastListHash;
}
/** The most a reload asks for at once (the server's page limit). */
const MAX_PAGE = 200;

export function sessionListView(api: Api, initial: ListQuery): View {
  const filters = new ListFilters(initial, (query) => start(query));
  const code = codeBox(api);
  const listStatus = h("span", { id: "list-status", class: "muted", "aria-live": "polite" });
  const openGrid = h("a", { id: "open-grid", class: "button", href: "#/grid" });
  const tbody = h("tbody");
  const table = h(
    "table",
    { id: "session-list", class: "sessions" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { class: "col-grid", title: "Watch in the live grid" }, "Grid"),
        h("th", {}, "User"),
        h("th", {}, "Current page"),
        h("th", {}, "Browser"),
        h("th", {}, "Started"),
        h("th", {}, "Duration"),
        h("th", {}, ""),
      ),
    ),
    tbody,
  );
  const empty = h("p", { id: "list-empty", class: "empty", hidden: true });
  const loadMore = h("button", { id: "load-more", type: "button", hidden: true }, "Load more");
  const el = h(
    "section",
    { id: "session-list-view" },
    code.el,
    h("div", { class: "toolbar" }, h("h2", {}, "Sessions"), filters.el, listStatus, openGrid),
    table,
    empty,
    loadMore,
  );

  let query = initial;
  let page: SessionPageState<SessionSummary> = emptyPage();
  const rows = new Map<string, HTMLTableRowElement>();
  /** The first page for the current query arrived. */
  let loaded = false;
  /** Bumped by every new query and every reload: answers to an older one are dropped. */
  let generation = 0;
  /** Feed events that arrived while a page was being fetched: replayed over the page's answer. */
  const sinceFetch: WatchEvent[] = [];
  let fetching = 0;
  let stopWatch: () => void = () => {};
  let reloadTimer: ReturnType<typeof setTimeout> | null = null;
  let feed: FeedState = { state: "connecting" };
  let problem = "";

  function describe(e: unknown): string {
    return e instanceof ApiError ? e.message : (e as Error).message;
  }

  /** A new query: the list empties and the feed for the new query starts. */
  function start(next: ListQuery): void {
    query = next;
    const hash = listHash(next);
    lastListHash = hash;
    if (location.hash !== hash && !(hash === "#/" && location.hash === "")) {
      // Replacing, not pushing: no hashchange (the view stays), and Back leaves the list.
      history.replaceState(history.state, "", hash);
    }
    generation++;
    stopWatch();
    if (reloadTimer !== null) clearTimeout(reloadTimer);
    page = emptyPage();
    loaded = false;
    problem = "";
    render();
    stopWatch = watchSessions(api, next, onEvent, (state) => {
      feed = state;
      render();
    });
  }

  function apply(event: WatchEvent): void {
    if (event.kind === "session") page = withSession(page, event.session);
    else if (event.kind === "gone") page = withoutSession(page, event.id);
  }

  function onEvent(event: WatchEvent): void {
    if (event.kind === "ready" || event.kind === "reset") {
      // Subscribed (again): what the list shows may have missed changes; load it now.
      void reload(0);
      return;
    }
    apply(event);
    if (fetching > 0) sinceFetch.push(event);
    render();
  }

  /** Fetches a page; `merge` folds the answer in, then the feed's events since are replayed. */
  async function fetchPage(
    params: { limit: number; cursor: string | null },
    merge: (answer: SessionPage) => void,
  ): Promise<boolean> {
    const gen = generation;
    const mark = sinceFetch.length;
    fetching++;
    try {
      const answer = await api.listSessions({ ...params, query });
      if (gen !== generation) return false;
      merge(answer);
      for (const event of sinceFetch.slice(mark)) apply(event);
      return true;
    } finally {
      fetching--;
      if (fetching === 0) sinceFetch.length = 0;
    }
  }

  /** Loads the list from the top again, as much of it as is shown; retries while it fails. */
  async function reload(attempt: number): Promise<void> {
    if (reloadTimer !== null) clearTimeout(reloadTimer);
    reloadTimer = null;
    const gen = ++generation;
    const limit = Math.min(MAX_PAGE, Math.max(PAGE, page.sessions.length));
    try {
      const fresh = await fetchPage({ limit, cursor: null }, (answer) => {
        page = withPage(page, answer, true);
      });
      if (!fresh) return;
      loaded = true;
      problem = "";
    } catch (e) {
      if (gen !== generation) return;
      problem = `Could not load the list: ${describe(e)}`;
      if (!(e instanceof ApiError) || e.status === 0 || e.status >= 500) {
        reloadTimer = setTimeout(() => void reload(attempt + 1), retryDelay(attempt));
      }
    }
    render();
  }

  async function loadMoreClicked(): Promise<void> {
    const cursor = page.cursor;
    if (!cursor) return;
    loadMore.disabled = true;
    try {
      await fetchPage({ limit: PAGE, cursor }, (answer) => {
        page = withPage(page, answer, false);
      });
    } catch (e) {
      problem = `Could not load more: ${describe(e)}`;
    } finally {
      loadMore.disabled = false;
      render();
    }
  }

  function row(s: SessionSummary, inGrid: boolean, now: number): HTMLTableRowElement {
    let tr = rows.get(s.id);
    if (!tr) {
      const checkbox = h("input", {
        type: "checkbox",
        class: "grid-select",
        "aria-label": "Watch in the live grid",
        title: "Watch in the live grid",
      });
      checkbox.addEventListener("change", () => {
        checkbox.checked = toggleInGrid(s.id, checkbox.checked);
      });
      tr = h(
        "tr",
        { class: "session-row", "data-session-id": s.id, tabindex: 0 },
        h("td", { class: "col-grid" }, checkbox),
        h("td", { class: "user" }, h("a", { href: `#/sessions/${s.id}`, class: "session-link" })),
        h("td", { class: "url" }),
        h("td", { class: "browser" }),
        h("td", { class: "started" }),
        h("td", { class: "duration" }),
        h("td", { class: "state" }),
      );
      tr.addEventListener("click", (e) => {
        const t = e.target as HTMLElement;
        if (t.closest(".col-grid") || t.closest("a")) return;
        location.hash = `#/sessions/${s.id}`;
      });
      tr.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && (e.target as HTMLElement) === tr) location.hash = `#/sessions/${s.id}`;
      });
      rows.set(s.id, tr);
    }
    const cells = tr.children;
    const checkbox = cells[0]!.firstElementChild as HTMLInputElement;
    checkbox.checked = inGrid;
    const link = cells[1]!.firstElementChild as HTMLAnchorElement;
    link.textContent = userLabel(s);
    const metadata = Object.entries(s.metadata ?? {}).map(([k, v]) => `${k}: ${v}`).join(", ");
    link.title = `${s.id}${metadata ? `\n${metadata}` : ""}`;
    cells[2]!.textContent = s.url || "—";
    (cells[2] as HTMLElement).title = s.url;
    cells[3]!.textContent = browserName(s.user_agent);
    (cells[3] as HTMLElement).title = s.user_agent;
    cells[4]!.textContent = formatStarted(s.started_ms, now);
    (cells[4] as HTMLElement).title = new Date(s.started_ms).toLocaleString();
    cells[5]!.textContent = formatDuration(sessionDuration(s, now));
    tr.dataset["live"] = String(s.live);
    tr.dataset["call"] = String(s.call === true);
    tr.dataset["errors"] = String(s.console_errors === true);
    tr.classList.toggle("is-live", s.live);
    badges(cells[6] as HTMLElement, s);
    return tr;
  }

  /** The state cell: live or how it ended, then a call and console errors; redrawn only on change. */
  function badges(cell: HTMLElement, s: SessionSummary): void {
    const ended = s.end_reason === "idle" ? "idle" : s.ended_ms ? "ended" : "inactive";
    const key = `${s.live ? "live" : ended}|${s.call === true}|${s.console_errors === true}`;
    if (cell.dataset["key"] === key) return;
    cell.dataset["key"] = key;
    cell.replaceChildren();
    append(
      cell,
      s.live ? h("span", { class: "live-badge" }, "LIVE") : h("span", { class: "ended-badge" }, ended),
      s.call === true
        ? h("span", { class: "call-badge", title: "call in progress", "aria-label": "call in progress", role: "img" }, "📞")
        : null,
      s.console_errors === true
        ? h("span", { class: "errors-badge", title: "the page logged console errors" }, "errors")
        : null,
    );
  }

  function statusLine(): { text: string; state: string } {
    if (problem) return { text: problem, state: "error" };
    if (feed.state === "failed") return { text: `Live updates stopped: ${feed.reason}`, state: "error" };
    if (feed.state === "retrying") return { text: "Reconnecting for live updates…", state: "retrying" };
    if (!loaded) return { text: "Loading…", state: "loading" };
    return { text: "", state: "ok" };
  }

  function render(): void {
    const now = Date.now();
    const inGrid = new Set(gridSelection());
    const wanted = page.sessions.map((s) => row(s, inGrid.has(s.id), now));
    // Reorder in place: rows keep their focus and checkbox state.
    wanted.forEach((tr, i) => {
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
    });
    while (tbody.children.length > wanted.length) tbody.lastElementChild?.remove();
    const shown = new Set(page.sessions.map((s) => s.id));
    for (const id of [...rows.keys()]) if (!shown.has(id)) rows.delete(id);
    loadMore.hidden = !page.cursor;
    empty.hidden = page.sessions.length > 0 || !loaded;
    empty.textContent = isFiltered(query) ? "No sessions match." : "No sessions yet. Open a page with the tracker to start one.";
    const status = statusLine();
    listStatus.textContent = status.text;
    listStatus.dataset["state"] = status.state;
    el.dataset["feed"] = feed.state;
    const n = inGrid.size;
    openGrid.textContent = `Live grid (${n}/${MAX_GRID})`;
    openGrid.dataset["count"] = String(n);
  }

  loadMore.addEventListener("click", () => void loadMoreClicked());
  const unsubscribe = onGridChange(() => render());
  // Durations of live sessions tick on their own.
  const tick = setInterval(render, 1000);
  start(initial);

  return {
    el,
    destroy() {
      generation++;
      stopWatch();
      clearInterval(tick);
      if (reloadTimer !== null) clearTimeout(reloadTimer);
      filters.destroy();
      code.destroy();
      unsubscribe();
    },
  };
}
