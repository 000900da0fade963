// A small helper to build DOM trees without a framework.

type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;
type Child = Node | string | number | null | undefined | false;

/**
 * `h("button", {id: "sign-in", class: "primary", onclick: fn}, "Sign in")`. Attributes whose
 * name starts with `on` become listeners; `true` sets an empty attribute, `false`/null/undefined
 * leave it out.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** A view the router can show and later tear down. */
export interface View {
  el: HTMLElement;
  destroy(): void;
}

/**
 * Makes a list line act like a button: `pick` on a click, or on Enter or Space while it has
 * focus (it takes focus with Tab).
 */
export function pickable(el: HTMLElement, pick: () => void): void {
  el.tabIndex = 0;
  el.classList.add("pickable");
  el.addEventListener("click", pick);
  el.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" && e.key !== " ") return;
    e.preventDefault();
    pick();
  });
}
