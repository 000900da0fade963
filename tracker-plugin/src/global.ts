/**
 * The script-tag bundle's entry (`/tracker.js`, the global `Cobrowse`): the package's API, plus
 * what only a script tag does when it loads.
 *
 * - It replays the calls the async snippet queued (snippet.ts) before the bundle arrived, in
 *   order, and settles the promises the snippet handed out.
 * - It starts keeping constructed stylesheets' text at once (authored-css.ts): a script tag runs
 *   before the page's components build their stylesheets, the earliest moment there is. The ES
 *   module and the package do that in `start()` instead, so importing them changes nothing.
 */

import { keepAuthoredCss } from "./authored-css";
import * as api from "./index";
import { replayQueued } from "./snippet";

export * from "./index";

keepAuthoredCss(globalThis);
replayQueued((globalThis as { Cobrowse?: unknown }).Cobrowse, api);
