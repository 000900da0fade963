// The site's own consent prompt (`onConsentRequest`): what it is handed, and that only the
// user's own activation, after the prompt's delay, grants anything.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { CONSENT_TIMEOUT_MS } from "../src/consent";
import { ACCEPT_DELAY_MS } from "../src/consent-prompt";
import type { ConsentRequestInfo } from "../src/custom-prompt";
import { resolveLabels } from "../src/labels";
import { alice, find, setupSignals } from "./page";
import { stamps, userEvents } from "./user";

/** An event of `type` at `timeStamp` (ms on `performance.now()`'s clock), the user's if `user`. */
function eventAt(type: string, timeStamp: number, user: boolean, init: EventInit = {}): Event {
  const event = type.startsWith("key") ? new KeyboardEvent(type, init) : new MouseEvent(type, init);
  stamps.set(event, timeStamp);
  if (user) userEvents.add(event);
  return event;
}

/**
 * What `request.accept` answers when the site's Accept calls it from the listener of `event`,
 * as the site's prompt does: the event is being dispatched then.
 */
function acceptOn(request: ConsentRequestInfo, event: Event): boolean {
  const button = document.createElement("button");
  document.body.append(button);
  let taken: boolean | undefined;
  button.addEventListener(event.type, (e) => {
    taken = request.accept(e);
  });
  button.dispatchEvent(event);
  button.remove();
  if (taken === undefined) throw new Error(`no ${event.type} reached the listener`);
  return taken;
}

describe("a consent prompt the site renders itself", () => {
  let requests: ConsentRequestInfo[];
  let t: ReturnType<typeof setupSignals>;
  let handles: boolean;
  /** What the site's handler does before it returns (renders its prompt). */
  let render: () => void;

  beforeEach(() => {
    vi.useFakeTimers();
    document.body.innerHTML = "";
    requests = [];
    handles = true;
    render = () => {};
    t = setupSignals({
      labels: resolveLabels("fr"),
      onConsentRequest: (request) => {
        requests.push(request);
        render();
        return handles;
      },
    });
  });
  afterEach(() => {
    t.signals.stop();
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  const ask = (): ConsentRequestInfo => {
    t.receive({ type: "consent_request", request_id: "r-1", kind: "control", agent: alice });
    return requests.at(-1)!;
  };
  const later = (): number => performance.now() + ACCEPT_DELAY_MS + 1;

  it("gets the request with its texts in the tracker's locale, and no built-in prompt shows", () => {
    const request = ask();
    expect(request).toMatchObject({ id: "r-1", kind: "control", agent: { name: "Alice" }, video: false });
    expect(request.title).toBe("Alice demande à contrôler cette page");
    expect(request.detail).toContain("mot de passe");
    expect(request.signal.aborted).toBe(false);
    expect(find("consent-prompt")).toBeNull();
  });

  it("refuses an event a script made: the request stays pending and nothing is granted", () => {
    const request = ask();
    // Made by `new MouseEvent` / `dispatchEvent`: not the user's (isTrusted is false).
    expect(acceptOn(request, eventAt("click", later(), false))).toBe(false);
    expect(acceptOn(request, new MouseEvent("click"))).toBe(false);
    expect(t.sent).toEqual([]);
    expect(request.signal.aborted).toBe(false);
    // The user's own click still answers it.
    expect(acceptOn(request, eventAt("click", later(), true))).toBe(true);
    expect(t.sent).toEqual([{ type: "consent", request_id: "r-1", granted: true }]);
    expect(request.signal.aborted).toBe(true);
  });

  it("refuses the user's event within the prompt's delay, and events that are no activation", () => {
    const request = ask();
    expect(acceptOn(request, eventAt("click", performance.now() + ACCEPT_DELAY_MS - 50, true))).toBe(false);
    expect(acceptOn(request, eventAt("mousemove", later(), true))).toBe(false);
    expect(acceptOn(request, eventAt("focus", later(), true))).toBe(false);
    expect(acceptOn(request, eventAt("mouseup", later(), true))).toBe(false);
    expect(t.sent).toEqual([]);
    expect(acceptOn(request, eventAt("pointerup", later(), true))).toBe(true);
    // Settled: a second answer is refused.
    expect(acceptOn(request, eventAt("click", later(), true))).toBe(false);
    request.decline();
    expect(t.sent).toHaveLength(1);
  });

  it("refuses keys, held or not: Enter on a button reaches the site as a click", () => {
    const request = ask();
    expect(acceptOn(request, eventAt("keydown", later(), true, { key: "Enter" } as KeyboardEventInit))).toBe(false);
    expect(acceptOn(request, eventAt("keydown", later(), true, { key: "Enter", repeat: true } as KeyboardEventInit))).toBe(false);
    expect(acceptOn(request, eventAt("keyup", later(), true, { key: " " } as KeyboardEventInit))).toBe(false);
    expect(t.sent).toEqual([]);
    // What a browser fires on a <button> for Enter or Space.
    expect(acceptOn(request, eventAt("click", later(), true, { detail: 0 } as MouseEventInit))).toBe(true);
  });

  it("refuses the user's event kept from earlier and handed over later, outside its dispatch", () => {
    const request = ask();
    // The user's click, taken by a listener of the page while it was dispatched…
    let kept: Event | null = null;
    const elsewhere = document.createElement("a");
    document.body.append(elsewhere);
    elsewhere.addEventListener("click", (event) => {
      kept = event;
    });
    elsewhere.dispatchEvent(eventAt("click", later(), true));
    // …and replayed into accept once the dispatch is over: refused, the request stays pending.
    expect(request.accept(kept!)).toBe(false);
    // Nor with its phase redefined to look dispatched: the browser's getter says what it is.
    Object.defineProperty(kept!, "eventPhase", { value: Event.AT_TARGET });
    expect(kept!.eventPhase).toBe(Event.AT_TARGET);
    expect(request.accept(kept!)).toBe(false);
    // Nor an object made up to look like the user's click.
    const madeUp = { isTrusted: true, eventPhase: Event.AT_TARGET, type: "click", timeStamp: later() };
    expect(request.accept(madeUp as unknown as Event)).toBe(false);
    expect(t.sent).toEqual([]);
    expect(request.signal.aborted).toBe(false);
  });

  it("counts the delay from when the site's prompt was rendered, not from the request", () => {
    let clock = 10_000;
    vi.spyOn(performance, "now").mockImplementation(() => clock);
    // The site takes 5 s to render its prompt (its handler returns then).
    render = () => {
      clock += 5_000;
    };
    const request = ask();
    expect(acceptOn(request, eventAt("click", 10_000 + ACCEPT_DELAY_MS + 1, true))).toBe(false);
    expect(acceptOn(request, eventAt("click", 15_000 + ACCEPT_DELAY_MS - 1, true))).toBe(false);
    expect(t.sent).toEqual([]);
    expect(acceptOn(request, eventAt("click", 15_000 + ACCEPT_DELAY_MS, true))).toBe(true);
  });

  it("declines without proof, and tells the site's prompt to go when the request is over", () => {
    const first = ask();
    first.decline();
    expect(t.sent).toEqual([{ type: "consent", request_id: "r-1", granted: false, reason: "declined" }]);
    expect(first.signal.aborted).toBe(true);

    t.receive({ type: "consent_request", request_id: "r-2", kind: "annotate", agent: alice });
    const withdrawn = requests.at(-1)!;
    t.receive({ type: "consent_cancel", request_id: "r-2" });
    expect(withdrawn.signal.aborted).toBe(true);

    t.receive({ type: "consent_request", request_id: "r-3", kind: "call", agent: alice, video: true });
    const unanswered = requests.at(-1)!;
    expect(unanswered.video).toBe(true);
    expect(unanswered.title).toBe("Alice demande un appel vidéo");
    vi.advanceTimersByTime(CONSENT_TIMEOUT_MS);
    expect(unanswered.signal.aborted).toBe(true);
    expect(t.sent.at(-1)).toEqual({ type: "consent", request_id: "r-3", granted: false, reason: "timeout" });
    expect(acceptOn(unanswered, eventAt("click", later(), true))).toBe(false);
  });

  it("shows the built-in prompt when the handler does not take the request, whose own answers then do nothing", () => {
    handles = false;
    const request = ask();
    expect(find("consent-prompt")?.textContent).toContain("Alice demande à contrôler cette page");
    expect(request.signal.aborted).toBe(true);
    expect(acceptOn(request, eventAt("click", later(), true))).toBe(false);
    expect(t.sent).toEqual([]);
  });
});
