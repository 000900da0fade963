// The console's shell: sign-in, the header, and a hash router over the views
// (`#/` the session list, `#/sessions?q=…` the list searched and filtered, `#/sessions/<id>` one
// session, `#/sessions/<id>?t=<ms>&tab=<tab>` a moment of it, `#/grid` the live grid), and `/`
// anywhere (but in a field) to the session search. Hash routes need nothing from the server beyond `/` and
// `/assets/`.

import { Api, type SignedInAgent } from "./api";
import { clearToken, loadToken } from "./auth";
import { h, type View } from "./dom";
import { gridSelection, onGridChange, setGridSelection } from "./grid-selection";
import { EMPTY_QUERY, queryOfHash } from "./list-query";
import { parseMomentHash } from "./moment-link";
import { shortcutAction } from "./shortcuts";
import { gridView } from "./views/grid";
import { sessionListHash, sessionListView } from "./views/session-list";
import { sessionView } from "./views/session-view";
import { signInView } from "./views/sign-in";

export function startApp(root: HTMLElement): void {
  let view: View | null = null;
  let api: Api | null = null;

  const main = h("main", { id: "app-main" });
  const gridCount = h("span", { id: "grid-count" }, String(gridSelection().length));
  const signOut = h("button", { id: "sign-out", type: "button", class: "link" }, "Sign out");
  const whoami = h("span", { id: "whoami", class: "muted" });
  const header = h(
    "header",
    { id: "app-header" },
    h("a", { href: "#/", class: "brand" }, "cobrowse"),
    h(
      "nav",
      {},
      h("a", { href: "#/", id: "nav-sessions" }, "Sessions"),
      h("a", { href: "#/grid", id: "nav-grid" }, "Live grid (", gridCount, ")"),
    ),
    whoami,
    signOut,
  );
  root.replaceChildren(header, main);
  onGridChange((ids) => {
    gridCount.textContent = String(ids.length);
  });

  function show(next: View): void {
    view?.destroy();
    view = next;
    main.replaceChildren(next.el);
  }

  function requireSignIn(notice = ""): void {
    api = null;
    header.hidden = true;
    document.body.dataset["signedIn"] = "false";
    show(
      signInView((token, me) => {
        signedIn(token);
        showRole(me);
        route();
      }, notice),
    );
  }

  function signedIn(token: string | null): Api {
    const signed = new Api(token, () => {
      clearToken();
      requireSignIn("The server no longer accepts your token. Sign in again.");
    });
    api = signed;
    header.hidden = false;
    document.body.dataset["signedIn"] = "true";
    return signed;
  }

  /**
   * What the role allows decides what shows: an element marked `data-needs="helper"` or
   * `"admin"` is hidden by styles.css for a lesser role (the server refuses it anyway).
   */
  function showRole(me: SignedInAgent): void {
    document.body.dataset["role"] = me.role;
    const scope = me.projects ? ` · ${me.projects.join(", ")}` : "";
    whoami.textContent = `${me.display_name} (${me.role}${scope})`;
  }

  function route(): void {
    if (!api) return;
    const path = location.hash.replace(/^#/, "") || "/";
    const session = parseMomentHash(path);
    const grid = /^\/grid(?:\/(.+))?$/.exec(path);
    for (const a of header.querySelectorAll("nav a")) a.classList.remove("current");
    if (session) {
      show(sessionView(api, session.session, session));
    } else if (grid) {
      // `#/grid/<id>,<id>` sets the grid (shareable); `#/grid` shows the one picked in the list.
      if (grid[1]) setGridSelection(grid[1].split(",").filter((x) => x.trim() !== ""));
      header.querySelector("#nav-grid")?.classList.add("current");
      show(gridView(api));
    } else {
      header.querySelector("#nav-sessions")?.classList.add("current");
      show(sessionListView(api, queryOfHash(location.hash) ?? EMPTY_QUERY));
      if (focusSearch) document.getElementById("search")?.focus();
    }
    focusSearch = false;
  }

  /** `/` was pressed away from the list: focus its search once the list is shown. */
  let focusSearch = false;
  document.addEventListener("keydown", (e) => {
    if (!api || e.defaultPrevented || shortcutAction(e, e.target instanceof HTMLElement ? e.target : null) !== "search") return;
    e.preventDefault();
    const search = document.getElementById("search");
    if (search) {
      search.focus();
    } else {
      focusSearch = true;
      location.hash = sessionListHash();
    }
  });

  signOut.addEventListener("click", () => {
    const cookie = api?.token === null;
    clearToken();
    if (cookie) void new Api(null).signOut().catch(() => {});
    requireSignIn();
  });
  window.addEventListener("hashchange", route);

  const token = loadToken();
  if (token) {
    void signedIn(token).me().then(showRole, () => {});
    route();
  } else {
    // Back from the identity provider, or still signed in with it: the cookie says who.
    new Api(null).me().then(
      (me) => {
        signedIn(null);
        showRole(me);
        route();
      },
      () => requireSignIn(),
    );
  }
}
