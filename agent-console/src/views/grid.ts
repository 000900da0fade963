// The multi-live grid: several sessions at once, each following its user's active tab live in a
// small scaled player. Clicking a cell opens the session.

import type { Api, SessionSummary } from "../api";
import { h, type View } from "../dom";
import { browserName, userLabel } from "../format";
import { gridSelection, setGridSelection } from "../grid-selection";
import { LiveSession } from "../live-session";

interface Cell {
  el: HTMLElement;
  destroy(): void;
}

function cell(api: Api, id: string, onRemove: () => void): Cell {
  const status = h("span", { class: "cell-status status", "data-status": "connecting" }, "Connecting…");
  const title = h("span", { class: "cell-user" }, id.slice(-8));
  const meta = h("span", { class: "cell-meta" });
  const remove = h("button", { type: "button", class: "grid-remove", title: "Remove from the grid", "aria-label": "Remove from the grid" }, "×");
  const stage = h("div", { class: "grid-stage stage" });
  const message = h("div", { class: "stage-message" }, "Loading…");
  stage.appendChild(message);
  const el = h(
    "article",
    { class: "grid-cell", "data-session-id": id, tabindex: 0, title: "Open this session" },
    h("header", { class: "cell-head" }, title, meta, status, remove),
    stage,
  );
  const open = () => {
    location.hash = `#/sessions/${id}`;
  };
  el.addEventListener("click", (e) => {
    if ((e.target as HTMLElement).closest(".grid-remove")) return;
    open();
  });
  el.addEventListener("keydown", (e) => {
    if (e.key === "Enter") open();
  });
  remove.addEventListener("click", (e) => {
    e.stopPropagation();
    onRemove();
  });

  let live: LiveSession | null = null;
  let destroyed = false;
  const render = () => {
    if (!live) return;
    status.dataset["status"] = live.status;
    status.textContent = { connecting: "Connecting…", waiting: "Waiting for the user…", live: "● Live", reconnecting: "Reconnecting…", ended: "Ended", error: "Error" }[live.status];
    status.title = live.statusDetail;
    const tab = live.watched;
    const ready = live.isReady(tab);
    message.hidden = ready;
    message.textContent = live.status === "ended" ? "The session ended." : live.status === "error" || live.status === "waiting" ? live.statusDetail : "Waiting for the user's page…";
    const tabs = live.tracker.list().length;
    const info = tab ? live.tracker.get(tab) : undefined;
    el.dataset["tab"] = tab ?? "";
    meta.textContent = `${tabs > 1 ? `${tabs} tabs · ` : ""}${info?.href ?? ""}`;
  };

  api.session(id, undefined, { activity: false }).then(
    (s: SessionSummary) => {
      if (destroyed) return;
      title.textContent = userLabel(s);
      meta.textContent = s.url;
      el.title = `${userLabel(s)} — ${browserName(s.user_agent)} — open this session`;
      if (!s.live) {
        status.dataset["status"] = "ended";
        status.textContent = "Not live";
        message.textContent = "This session is not live. Click to replay it.";
        return;
      }
      live = new LiveSession({ api, sessionId: id, stage, knownTabs: s.tabs, onChange: render });
      render();
    },
    (e: unknown) => {
      if (destroyed) return;
      status.dataset["status"] = "error";
      status.textContent = "Error";
      message.textContent = (e as Error).message;
    },
  );

  return {
    el,
    destroy() {
      destroyed = true;
      live?.close();
      el.remove();
    },
  };
}

export function gridView(api: Api): View {
  const grid = h("div", { id: "grid", class: "grid" });
  const empty = h(
    "p",
    { class: "empty", id: "grid-empty" },
    "No sessions in the grid. In the session list, tick “Grid” on the live sessions to watch side by side.",
  );
  const clear = h("button", { type: "button", id: "clear-grid", class: "link" }, "Clear the grid");
  const el = h(
    "section",
    { id: "grid-view" },
    h("div", { class: "toolbar" }, h("h2", {}, "Live grid"), h("a", { href: "#/", class: "link" }, "← Sessions"), clear),
    empty,
    grid,
  );
  const cells = new Map<string, Cell>();

  const sync = () => {
    const ids = gridSelection();
    for (const [id, c] of cells) {
      if (!ids.includes(id)) {
        c.destroy();
        cells.delete(id);
      }
    }
    for (const id of ids) {
      if (!cells.has(id)) {
        const c = cell(api, id, () => {
          setGridSelection(gridSelection().filter((x) => x !== id));
          sync();
        });
        cells.set(id, c);
        grid.appendChild(c.el);
      }
    }
    grid.dataset["count"] = String(ids.length);
    empty.hidden = ids.length > 0;
    clear.hidden = ids.length === 0;
  };
  clear.addEventListener("click", () => {
    setGridSelection([]);
    sync();
  });
  sync();

  return {
    el,
    destroy() {
      for (const c of cells.values()) c.destroy();
      cells.clear();
    },
  };
}
