/**
 * Watching with the user's knowledge: the site's `view` option, its texts, and the indicator
 * `view: "notify"` shows while agents watch.
 *
 * - `"notify"` (default): a small badge at the bottom of the page names the agents who see it,
 *   from the server's `watching` message (§2.2), for as long as any does.
 * - `"ask"`: the server sends an agent nothing of the page until the user accepts a `view`
 *   prompt (the same prompt as for control); who was let in is shown by
 *   the grant indicator, whose Stop ends it.
 * - `"silent"`: nothing is shown.
 *
 * The server keeps the mode the session's first page said, so every page of the session
 * behaves alike whatever later pages say, and says it in `welcome`: the page shows what the
 * session does, not what this page's option says ({@link WatchIndicator.follow}).
 */

import { type Labels, fill } from "./labels";
import type { PageUi } from "./page-ui";
import { UI_ATTRIBUTE } from "./page-ui";

/** What the user is shown or asked while agents watch (the tracker's `view` option). */
export type ViewMode = "silent" | "notify" | "ask";

export const VIEW_MODES: readonly ViewMode[] = ["silent", "notify", "ask"];

/** The badge's text for these names: "Alice", "Alice and Bob", "Alice, Bob and Carol". */
export function watchingText(labels: Labels, names: readonly string[]): string {
  const unique = [...new Set(names)];
  const last = unique.pop() ?? "";
  const joined = unique.length === 0 ? last : `${unique.join(", ")}${labels.watchingAnd}${last}`;
  return fill(labels.watching, { agents: joined });
}

/** The site's `view` option, checked: anything else is refused before the tracker starts. */
export function viewMode(value: unknown): ViewMode {
  if (value === undefined) return "notify";
  if (typeof value === "string" && (VIEW_MODES as readonly string[]).includes(value)) return value as ViewMode;
  throw new TypeError(`cobrowse: \`view\` must be one of ${VIEW_MODES.join(", ")}`);
}

const CSS = `
[${UI_ATTRIBUTE}="watching"] {
  position: fixed; left: 12px; bottom: 12px; max-width: min(420px, calc(100vw - 24px));
  pointer-events: none; background: #1b1f24; color: #ffffff; border-radius: 999px;
  padding: 6px 14px 6px 30px; font: 13px/1.3 system-ui, sans-serif; opacity: 0.92;
  box-shadow: 0 2px 8px rgba(0, 0, 0, 0.25);
}
[${UI_ATTRIBUTE}="watching"]::before {
  content: ""; position: absolute; left: 12px; top: 50%; width: 8px; height: 8px; margin-top: -4px;
  border-radius: 50%; background: #3ccf6e;
}
`;

/** The `notify` badge: shown while the server says someone watches, gone when nobody does. */
export class WatchIndicator {
  private readonly ui: PageUi;
  /** The site's option, until a server says the session's mode. */
  private mode: ViewMode;
  private badge: HTMLElement | null = null;
  /** The names last shown or hidden, for a change of mode. */
  private watchers: readonly { name: string }[] = [];

  constructor(ui: PageUi, mode: ViewMode) {
    this.ui = ui;
    this.mode = mode;
  }

  /**
   * The session's mode, from the server's `welcome`: a page started with `ask` or `silent` in a
   * session that began on a `notify` page still names who watches, since the server lets them in
   * unasked.
   */
  follow(mode: ViewMode): void {
    this.mode = mode;
    this.update(this.watchers);
  }

  /** The agents who see the page now (the `watching` message's `watchers`). */
  update(watchers: readonly { name: string }[]): void {
    this.watchers = watchers;
    if (this.mode !== "notify" || watchers.length === 0) {
      this.hide();
      return;
    }
    if (this.badge === null) {
      this.badge = this.ui.document.createElement("div");
      this.badge.setAttribute(UI_ATTRIBUTE, "watching");
      this.badge.setAttribute("role", "status");
      this.ui.mount(this.badge, CSS);
    }
    this.badge.textContent = watchingText(this.ui.labels, watchers.map((w) => w.name));
  }

  hide(): void {
    this.badge?.remove();
    this.badge = null;
  }
}
