// Sign-in with an agent token (`--agent-token NAME:SECRET:ROLE` on the server; the SECRET part).

import { Api, ApiError, type SignedInAgent } from "../api";
import { saveToken } from "../auth";
import { h, type View } from "../dom";

export function signInView(onSignedIn: (token: string, me: SignedInAgent) => void, notice = ""): View {
  const input = h("input", {
    id: "token-input",
    type: "password",
    name: "token",
    autocomplete: "current-password",
    placeholder: "Agent token",
    required: true,
    "aria-label": "Agent token",
  });
  const button = h("button", { id: "sign-in", type: "submit", class: "primary" }, "Sign in");
  const error = h("p", { id: "sign-in-error", class: "error", role: "alert" }, notice);
  error.hidden = notice === "";
  const form = h(
    "form",
    { id: "sign-in-form", class: "sign-in" },
    h("p", { class: "muted" }, "Sign in with your agent token. The server printed one at start-up unless it was given --agent-token."),
    input,
    button,
    error,
  );
  // With an identity provider configured, signing in is a redirect: the server sets an HttpOnly
  // cookie on the way back, and no credential is kept here at all.
  const provider = h("a", { id: "sign-in-oidc", class: "button primary", href: "/api/v1/oidc/login", hidden: true }, "Sign in with your identity provider");
  form.prepend(h("h1", {}, "cobrowse"), provider);
  new Api(null).signInOptions().then(
    (options) => {
      provider.hidden = !options.oidc;
    },
    () => {},
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    button.disabled = true;
    error.hidden = true;
    // Who the server takes the token for, and as what role.
    new Api(token).me().then(
      (me) => {
        saveToken(token);
        onSignedIn(token, me);
      },
      (err: unknown) => {
        button.disabled = false;
        error.hidden = false;
        error.textContent =
          err instanceof ApiError && err.status === 401
            ? "The server refused this token. Check it and try again."
            : `Could not sign in: ${(err as Error).message}`;
      },
    );
  });
  queueMicrotask(() => input.focus());
  return { el: h("section", { id: "sign-in-view" }, form), destroy() {} };
}
