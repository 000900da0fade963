// The code box on the session list: the agent types the help code a user reads out and presses
// Enter (or "Open"), and the console opens that session's live view on the user's tab. A code
// that is not six digits is refused here; the server's refusals (no such code, expired, used,
// too many wrong codes) are said in words next to the box, which keeps focus for another try.

import { ApiError, type Api } from "../api";
import { h } from "../dom";
import { codeProblem, normalizeCode } from "../help-code";
import { momentHash } from "../moment-link";

export interface CodeBox {
  el: HTMLElement;
  destroy(): void;
}

export function codeBox(api: Api): CodeBox {
  const input = h("input", {
    id: "help-code",
    type: "text",
    inputmode: "numeric",
    autocomplete: "off",
    maxlength: "11",
    placeholder: "123 456",
    "aria-describedby": "help-code-status",
  });
  const button = h("button", { id: "help-code-open", type: "submit" }, "Open");
  const status = h("span", { id: "help-code-status", class: "muted", role: "status", "aria-live": "polite" });
  const form = h(
    "form",
    { id: "help-code-form", class: "code-box" },
    h("label", { for: "help-code" }, "Help code"),
    input,
    button,
    status,
  );
  const abort = new AbortController();

  function say(text: string, error: boolean): void {
    status.textContent = text;
    status.className = error ? "error" : "muted";
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const code = normalizeCode(input.value);
    if (code === null) {
      say("A code is 6 digits.", true);
      input.focus();
      return;
    }
    button.disabled = true;
    say("Looking up the code…", false);
    api.resolveCode(code, abort.signal).then(
      (found) => {
        location.hash = momentHash({ session: found.session_id, t: null, tab: found.tab });
      },
      (err: unknown) => {
        if ((err as Error).name === "AbortError") return;
        button.disabled = false;
        say(err instanceof ApiError ? codeProblem(err.status, err.code, err.message) : String(err), true);
        input.select();
        input.focus();
      },
    );
  });

  return { el: form, destroy: () => abort.abort() };
}
