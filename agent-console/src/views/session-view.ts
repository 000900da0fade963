// One session, opened from the list or a link: loads its summary, says so when it cannot, and
// otherwise hands it to the session view's parts (session/controller.ts): the live view and time
// travel, the tabs, console and activity panels, acting on the page and calls. An ended session
// opens straight into replay; a link to a moment (`?t=…&tab=…`) opens the replay there.

import { ApiError, type Api } from "../api";
import { h, type View } from "../dom";
import { sessionListHash } from "./session-list";
import { mountSession, type OpenAt } from "./session/controller";

export function sessionView(api: Api, sessionId: string, at: OpenAt): View {
  const el = h("section", { id: "session-view", "data-session-id": sessionId, "data-mode": "loading" });
  el.appendChild(h("p", { class: "loading" }, "Loading session…"));
  let destroyed = false;
  let teardown: () => void = () => {};

  api.session(sessionId).then(
    (summary) => {
      if (!destroyed) teardown = mountSession(el, api, summary, at);
    },
    (e: unknown) => {
      if (destroyed) return;
      const message =
        e instanceof ApiError && e.status === 404
          ? `Session ${sessionId} does not exist (it may have expired).`
          : `Could not load session ${sessionId}: ${(e as Error).message}`;
      el.replaceChildren(h("a", { href: sessionListHash(), id: "back-to-list" }, "← Sessions"), h("p", { class: "error" }, message));
    },
  );

  return {
    el,
    destroy() {
      destroyed = true;
      teardown();
    },
  };
}
