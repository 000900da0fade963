import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ACCEPT_DELAY_MS } from "../src/consent-prompt";
import type { ControlInput } from "../src/protocol";
import { alice, bob, find, setupSignals, TAB } from "./page";

type Setup = ReturnType<typeof setupSignals>;

describe("remote control", () => {
  let t: Setup;
  const control = (input: ControlInput, agentId = alice.id, tab = TAB): void =>
    t.receive({ type: "control", agent_id: agentId, tab, input });
  /** Adds `html` to the page and registers its first element as an rrweb node. */
  const add = <E extends Element>(html: string): [E, number] => {
    const holder = document.createElement("div");
    holder.innerHTML = html;
    const el = holder.firstElementChild as E;
    document.body.append(el);
    return [el, t.register(el)];
  };
  const refusals = (): string[] => t.sent.filter((s) => s.type === "refused").map((s) => (s as { reason: string }).reason);

  beforeEach(() => {
    document.body.innerHTML = "";
    t = setupSignals();
    t.grant({ kind: "control", agent: alice });
  });
  afterEach(() => t.signals.stop());

  it("clicks run the page's own handlers, in order, with coordinates, and focus the target", () => {
    const [button, id] = add<HTMLButtonElement>("<button>Buy</button>");
    const seen: string[] = [];
    for (const type of ["pointerdown", "mousedown", "pointerup", "mouseup", "click"]) {
      button.addEventListener(type, (e) => seen.push(`${type}@${(e as MouseEvent).clientX},${(e as MouseEvent).clientY}`));
    }
    let bubbled = 0;
    document.addEventListener("click", () => bubbled++);
    control({ action: "click", id, x: 12, y: 34 });
    expect(seen).toEqual(["pointerdown@12,34", "mousedown@12,34", "pointerup@12,34", "mouseup@12,34", "click@12,34"]);
    expect(bubbled).toBe(1);
    expect(document.activeElement).toBe(button);
    expect(t.sent).toEqual([]);
    // The click's activation behaviour runs too.
    const [box, boxId] = add<HTMLInputElement>('<input type="checkbox">');
    control({ action: "click", id: boxId, x: 0, y: 0 });
    expect(box.checked).toBe(true);
  });

  it("double-clicks: two clicks, then dblclick", () => {
    const [div, id] = add<HTMLDivElement>("<div>text</div>");
    const seen: string[] = [];
    for (const type of ["click", "dblclick"]) div.addEventListener(type, (e) => seen.push(`${type}:${(e as MouseEvent).detail}`));
    control({ action: "dblclick", id, x: 1, y: 1 });
    expect(seen).toEqual(["click:1", "click:2", "dblclick:2"]);
  });

  it("shows the agent's cursor with its name where it moves", () => {
    control({ action: "move", x: 100, y: 50 });
    const cursor = find("agent-cursor")!;
    expect(cursor.textContent).toBe("Alice");
    expect(cursor.style.transform).toBe("translate(100px, 50px)");
    t.grant();
    expect(find("agent-cursor")).toBeNull();
  });

  it("types keys into an input at the caret, with input events the page sees", () => {
    const [input, id] = add<HTMLInputElement>('<input type="text">');
    const typed: (string | null)[] = [];
    input.addEventListener("input", (e) => typed.push((e as InputEvent).data));
    const keys: string[] = [];
    input.addEventListener("keydown", (e) => keys.push(e.key));
    for (const key of ["h", "i", "!"]) control({ action: "key", key, id });
    expect(input.value).toBe("hi!");
    expect(typed).toEqual(["h", "i", "!"]);
    expect(keys).toEqual(["h", "i", "!"]);
    expect(document.activeElement).toBe(input);
    // Without an id, keys go to the focused element; Backspace and arrows edit at the caret.
    control({ action: "key", key: "Backspace" });
    control({ action: "key", key: "ArrowLeft" });
    control({ action: "key", key: "o" });
    expect(input.value).toBe("hoi");
    control({ action: "key", key: "Delete" });
    expect(input.value).toBe("ho");
  });

  it("leaves the value alone when a keydown handler cancels the key", () => {
    const [input, id] = add<HTMLInputElement>("<input>");
    input.addEventListener("keydown", (e) => e.preventDefault());
    control({ action: "key", key: "x", id });
    expect(input.value).toBe("");
  });

  it("sets a textarea's value through the native setter, with input and change events", () => {
    const [area, id] = add<HTMLTextAreaElement>("<textarea></textarea>");
    // A framework's own value property on the element, as React installs: it must be bypassed.
    let trackerSaw: string | undefined;
    Object.defineProperty(area, "value", {
      configurable: true,
      get: () => Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value")!.get!.call(area),
      set: (v: string) => {
        trackerSaw = v;
      },
    });
    const events: string[] = [];
    area.addEventListener("input", () => events.push(`input:${area.value}`));
    area.addEventListener("change", () => events.push(`change:${area.value}`));
    control({ action: "input", id, value: "two\nlines" });
    expect(area.value).toBe("two\nlines");
    expect(trackerSaw).toBeUndefined();
    expect(events).toEqual(["input:two\nlines", "change:two\nlines"]);
  });

  it("Enter inserts a newline in a textarea", () => {
    const [area, id] = add<HTMLTextAreaElement>("<textarea>ab</textarea>");
    area.setSelectionRange(1, 1);
    control({ action: "key", key: "Enter", id });
    expect(area.value).toBe("a\nb");
  });

  it("chooses a select option, with change events, and refuses an unknown value", () => {
    const [select, id] = add<HTMLSelectElement>('<select><option value="en">English</option><option value="fr">Français</option></select>');
    const changes: string[] = [];
    select.addEventListener("change", () => changes.push(select.value));
    control({ action: "select", id, value: "fr" });
    expect(select.value).toBe("fr");
    expect(changes).toEqual(["fr"]);
    control({ action: "select", id, value: "de" });
    expect(select.value).toBe("fr");
    expect(refusals()).toEqual(["the <select> has no option with value 'de'"]);
  });

  it("Enter in a single-line field submits its form, after handlers saw the keydown", () => {
    const [form] = add<HTMLFormElement>('<form><input name="q"></form>');
    const input = form.querySelector("input")!;
    const id = t.register(input);
    const seen: string[] = [];
    input.addEventListener("keydown", (e) => seen.push(`keydown:${e.key}`));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      seen.push("submit");
    });
    control({ action: "key", key: "Enter", id });
    expect(seen).toEqual(["keydown:Enter", "submit"]);

    // With a submit button, Enter clicks it, as implicit submission does.
    const [form2] = add<HTMLFormElement>('<form><input><button type="submit">Go</button></form>');
    const clicked = vi.fn();
    form2.querySelector("button")!.addEventListener("click", (e) => {
      e.preventDefault();
      clicked();
    });
    control({ action: "key", key: "Enter", id: t.register(form2.querySelector("input")!) });
    expect(clicked).toHaveBeenCalledTimes(1);
  });

  it("Tab moves the focus to the next tabbable element", () => {
    const [first, id] = add<HTMLInputElement>("<input>");
    add("<div>not focusable</div>");
    add("<button disabled>off</button>");
    const [second] = add<HTMLInputElement>("<input>");
    control({ action: "focus", id });
    expect(document.activeElement).toBe(first);
    control({ action: "key", key: "Tab" });
    expect(document.activeElement).toBe(second);
  });

  it("scrolls an element to the given offsets", () => {
    const [box, id] = add<HTMLDivElement>('<div style="overflow: auto"></div>');
    control({ action: "scroll", id, x: 5, y: 120 });
    expect(box.scrollTop).toBe(120);
    expect(box.scrollLeft).toBe(5);
  });

  it("refuses typing into password fields and setting file inputs", () => {
    const [password, pid] = add<HTMLInputElement>('<input type="password">');
    control({ action: "key", key: "a", id: pid });
    control({ action: "input", id: pid, value: "hunter2" });
    expect(password.value).toBe("");
    const [, fid] = add<HTMLInputElement>('<input type="file">');
    control({ action: "input", id: fid, value: "C:\\secret.txt" });
    const reasons = refusals();
    expect(reasons).toHaveLength(3);
    expect(reasons[0]).toMatch(/password/);
    expect(reasons[1]).toMatch(/password/);
    expect(reasons[2]).toMatch(/file/);
    expect(t.sent[0]).toMatchObject({ type: "refused", agent_id: alice.id, action: "key" });
  });

  it("refuses navigation to another origin and targets that are gone", () => {
    const href = location.href;
    control({ action: "navigate", to: "url", url: "https://evil.example/phish" });
    control({ action: "navigate", to: "url", url: "javascript:alert(1)" });
    expect(location.href).toBe(href);
    control({ action: "click", id: 999, x: 0, y: 0 });
    expect(t.sent).toEqual([
      { type: "refused", agent_id: alice.id, action: "navigate", reason: expect.stringMatching(/another origin \(https:\/\/evil\.example\)/) },
      { type: "refused", agent_id: alice.id, action: "navigate", reason: expect.stringMatching(/only http\(s\) URLs.*javascript:/) },
      { type: "refused", agent_id: alice.id, action: "click", reason: "node 999 is not on the page any more" },
    ]);
  });

  it("does not click a link or submit a form that leads to another origin", () => {
    const clicked: string[] = [];
    document.addEventListener("click", (e) => clicked.push((e.target as Element).id));
    const [, link] = add('<a id="away" href="https://evil.example/x"><span>away</span></a>');
    const [, script] = add('<a id="script" href="javascript:alert(1)">run</a>');
    const [form] = add<HTMLFormElement>('<form action="https://evil.example/post"><input id="q" name="action"><button id="send">Send</button></form>');
    const send = t.register(form.querySelector("#send")!);
    const field = t.register(form.querySelector("#q")!);
    const submitted = vi.fn((e: Event) => e.preventDefault());
    form.addEventListener("submit", submitted);
    const [other] = add<HTMLFormElement>('<form action="/here"><button id="elsewhere" formaction="https://evil.example/">Go</button></form>');
    const elsewhere = t.register(other.querySelector("#elsewhere")!);
    const inner = t.register(document.querySelector("#away span")!);

    control({ action: "click", id: link, x: 0, y: 0 });
    control({ action: "click", id: inner, x: 0, y: 0 });
    control({ action: "click", id: script, x: 0, y: 0 });
    control({ action: "click", id: send, x: 0, y: 0 });
    control({ action: "click", id: elsewhere, x: 0, y: 0 });
    control({ action: "key", key: "Enter", id: field });
    control({ action: "focus", id: link });
    control({ action: "key", key: "Enter" });
    expect(clicked).toEqual([]);
    expect(submitted).not.toHaveBeenCalled();
    expect(refusals()).toEqual([
      expect.stringMatching(/another origin \(https:\/\/evil\.example\)/),
      expect.stringMatching(/another origin/),
      expect.stringMatching(/only http\(s\) URLs/),
      expect.stringMatching(/another origin/),
      expect.stringMatching(/another origin/),
      expect.stringMatching(/another origin/),
      expect.stringMatching(/another origin/),
    ]);
  });

  it("follows links and submits forms of the page's own origin", () => {
    const [form] = add<HTMLFormElement>('<form action="/search"><input id="q2"><button id="go">Go</button></form>');
    const submitted = vi.fn((e: Event) => e.preventDefault());
    form.addEventListener("submit", submitted);
    control({ action: "click", id: t.register(form.querySelector("#go")!), x: 0, y: 0 });
    control({ action: "key", key: "Enter", id: t.register(form.querySelector("#q2")!) });
    const [link, id] = add<HTMLAnchorElement>('<a href="/next">next</a>');
    const followed = vi.fn((e: Event) => e.preventDefault());
    link.addEventListener("click", followed);
    control({ action: "click", id, x: 0, y: 0 });
    expect(submitted).toHaveBeenCalledTimes(2);
    expect(followed).toHaveBeenCalledTimes(1);
    expect(refusals()).toEqual([]);
  });

  it("goes back in history on navigate back", () => {
    const back = vi.spyOn(history, "back").mockImplementation(() => {});
    control({ action: "navigate", to: "back" });
    expect(back).toHaveBeenCalledTimes(1);
    back.mockRestore();
  });

  it("refuses input aimed at the consent prompt: only the user answers it", () => {
    vi.useFakeTimers();
    try {
      t.receive({ type: "consent_request", request_id: "r-1", kind: "annotate", agent: alice });
      vi.advanceTimersByTime(ACCEPT_DELAY_MS); // Accept is active now
      const accept = find("consent-accept")!;
      control({ action: "click", id: t.register(accept), x: 0, y: 0 });
      accept.focus();
      control({ action: "key", key: "Enter" });
      expect(find("consent-prompt")).not.toBeNull();
      expect(t.sent.filter((s) => s.type === "consent")).toEqual([]);
      expect(refusals()).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("does nothing without a control grant for that agent, or for another tab", () => {
    const [button, id] = add<HTMLButtonElement>("<button>Buy</button>");
    const clicks = vi.fn();
    button.addEventListener("click", clicks);
    control({ action: "click", id, x: 0, y: 0 }, bob.id);
    control({ action: "click", id, x: 0, y: 0 }, alice.id, "another-tab");
    t.grant({ kind: "annotate", agent: alice });
    control({ action: "click", id, x: 0, y: 0 });
    control({ action: "move", x: 1, y: 1 });
    expect(clicks).not.toHaveBeenCalled();
    expect(find("agent-cursor")).toBeNull();
    expect(t.sent).toEqual([]);
  });
});
