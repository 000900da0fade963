// The session list: live sessions first, then recent ones, newest first; refreshed every few
// seconds; searchable (user id, URL, metadata), filterable to live ones, paged with "Load more".
// A session where a call runs has a 📞 badge.

import { ApiError, type Api, type SessionSummary } from "../api";
import { h, type View } from "../dom";
import { browserName, formatDuration, formatStarted, sessionDuration, userLabel } from "../format";
import { gridSelection, MAX_GRID, onGridChange, toggleInGrid } from "../grid-selection";
import { sortSessions } from "../sessions";

const POLL_MS = 3000;
const PAGE = 50;
/** With a filter the server may answer empty pages that still have a cursor; follow a few. */
const MAX_EMPTY_PAGES = 5;

export function sessionListView(api: Api): View {
  const search = h("input", {
    id: "search",
    type: "search",
    placeholder: "Search user id, URL, metadata…",
    "aria-label": "Search sessions",
    autocomplete: "off",
  });
  const liveOnly = h("input", { id: "live-only", type: "checkbox" });
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
    h(
      "div",
      { class: "toolbar" },
      h("h2", {}, "Sessions"),
      search,
      h("label", { class: "check" }, liveOnly, " Live only"),
      listStatus,
      openGrid,
    ),
    table,
    empty,
    loadMore,
  );

  const sessions = new Map<string, SessionSummary>();
  const rows = new Map<string, HTMLTableRowElement>();
  /** Cursor of the next page of the plain listing; null: no more; undefined: first page not loaded. */
  let cursor: string | null | undefined;
  /** Bumped when the filter changes, so answers to an older filter are dropped. */
  let generation = 0;
  let refreshing = false;
  let loaded = false;
  let destroyed = false;

  const params = () => ({ q: search.value, live: liveOnly.checked });

  function describe(e: unknown): string {
    return e instanceof ApiError ? e.message : (e as Error).message;
  }

  /** Fetches the first page (and, unless filtering to live ones, every live session). */
  async function refresh(): Promise<void> {
    if (refreshing) return;
    refreshing = true;
    const gen = generation;
    try {
      const { q, live } = params();
      const first = api.listSessions({ limit: PAGE, q, live });
      const liveList = live ? null : api.listSessions({ limit: 200, q, live: true });
      const [page, livePage] = await Promise.all([first, liveList]);
      if (gen !== generation || destroyed) return;
      const fresh = new Set<string>();
      for (const s of [...page.sessions, ...(livePage?.sessions ?? [])]) {
        sessions.set(s.id, s);
        fresh.add(s.id);
      }
      if (cursor === undefined) cursor = page.next_cursor;
      // Sessions shown as live that neither answer covered may have ended: ask about them.
      const stale = [...sessions.values()].filter((s) => s.live && !fresh.has(s.id)).slice(0, 10);
      const updates = await Promise.allSettled(stale.map((s) => api.session(s.id, undefined, { activity: false })));
      if (gen !== generation || destroyed) return;
      for (const u of updates) if (u.status === "fulfilled") sessions.set(u.value.id, u.value);
      if (live) for (const [id, s] of sessions) if (!s.live) sessions.delete(id);
      // A filtered first page may be empty with more to look at.
      let pages = 0;
      while (!loaded && sessions.size === 0 && cursor && pages++ < MAX_EMPTY_PAGES) {
        await more(gen);
      }
      loaded = true;
      listStatus.textContent = "";
      listStatus.dataset["state"] = "ok";
    } catch (e) {
      if (gen === generation && !destroyed) {
        listStatus.textContent = `Could not refresh: ${describe(e)}`;
        listStatus.dataset["state"] = "error";
      }
    } finally {
      refreshing = false;
    }
    render();
  }

  async function more(gen: number): Promise<void> {
    if (!cursor) return;
    const page = await api.listSessions({ limit: PAGE, cursor, ...params() });
    if (gen !== generation || destroyed) return;
    for (const s of page.sessions) sessions.set(s.id, s);
    cursor = page.next_cursor;
  }

  async function loadMoreClicked(): Promise<void> {
    const gen = generation;
    loadMore.disabled = true;
    try {
      const before = sessions.size;
      let pages = 0;
      do {
        await more(gen);
      } while (gen === generation && sessions.size === before && cursor && ++pages < MAX_EMPTY_PAGES);
    } catch (e) {
      listStatus.textContent = `Could not load more: ${describe(e)}`;
      listStatus.dataset["state"] = "error";
    } finally {
      loadMore.disabled = false;
      render();
    }
  }

  function resetAndRefresh(): void {
    generation++;
    sessions.clear();
    cursor = undefined;
    loaded = false;
    refreshing = false;
    listStatus.textContent = "Loading…";
    render();
    void refresh();
  }

  function row(s: SessionSummary, inGrid: boolean): HTMLTableRowElement {
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
    const now = Date.now();
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
    const state = cells[6] as HTMLElement;
    tr.dataset["live"] = String(s.live);
    tr.classList.toggle("is-live", s.live);
    const badge = s.live
      ? h("span", { class: "live-badge" }, "LIVE")
      : h("span", { class: "ended-badge" }, s.end_reason === "idle" ? "idle" : s.ended_ms ? "ended" : "inactive");
    if (state.firstElementChild?.className !== badge.className) state.replaceChildren(badge);
    const call = s.call === true;
    tr.dataset["call"] = String(call);
    const callBadge = state.querySelector(".call-badge");
    if (call && !callBadge) {
      state.appendChild(h("span", { class: "call-badge", title: "call in progress", "aria-label": "call in progress", role: "img" }, "📞"));
    } else if (!call) callBadge?.remove();
    return tr;
  }

  function render(): void {
    const list = sortSessions([...sessions.values()].filter((s) => !liveOnly.checked || s.live));
    const inGrid = new Set(gridSelection());
    const wanted = list.map((s) => row(s, inGrid.has(s.id)));
    // Reorder in place: rows keep their focus and checkbox state.
    wanted.forEach((tr, i) => {
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
    });
    while (tbody.children.length > wanted.length) tbody.lastElementChild!.remove();
    for (const [id, tr] of rows) if (!sessions.has(id)) { tr.remove(); rows.delete(id); }
    loadMore.hidden = !cursor;
    empty.hidden = list.length > 0 || !loaded;
    empty.textContent = search.value.trim() || liveOnly.checked ? "No sessions match." : "No sessions yet. Open a page with the tracker to start one.";
    const n = inGrid.size;
    openGrid.textContent = `Live grid (${n}/${MAX_GRID})`;
    openGrid.dataset["count"] = String(n);
  }

  let debounce: ReturnType<typeof setTimeout> | null = null;
  search.addEventListener("input", () => {
    if (debounce !== null) clearTimeout(debounce);
    debounce = setTimeout(resetAndRefresh, 300);
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      if (debounce !== null) clearTimeout(debounce);
      resetAndRefresh();
    }
  });
  liveOnly.addEventListener("change", resetAndRefresh);
  loadMore.addEventListener("click", () => void loadMoreClicked());
  const unsubscribe = onGridChange(() => render());

  const poll = setInterval(() => void refresh(), POLL_MS);
  // Durations of live sessions tick between polls.
  const tick = setInterval(render, 1000);
  resetAndRefresh();

  return {
    el,
    destroy() {
      destroyed = true;
      clearInterval(poll);
      clearInterval(tick);
      if (debounce !== null) clearTimeout(debounce);
      unsubscribe();
    },
  };
}
