import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { CONSENT_TIMEOUT_MS } from "../src/consent";
import { ACCEPT_DELAY_MS } from "../src/consent-prompt";
import { alice, bob, find, findAll, setupSignals, TAB, uiRoot } from "./page";
import { userClick } from "./user";

type Setup = ReturnType<typeof setupSignals>;

function ask(t: Setup, requestId: string, kind: "control" | "annotate" = "control", agent = alice): void {
  t.receive({ type: "consent_request", request_id: requestId, kind, agent });
}

describe("consent prompts", () => {
  let t: Setup;
  beforeEach(() => {
    vi.useFakeTimers();
    document.body.innerHTML = "";
    t = setupSignals();
  });
  afterEach(() => {
    t.signals.stop();
    vi.useRealTimers();
  });

  it("shows a dialog naming the agent and what they ask, outside the recording", () => {
    ask(t, "r-1", "control");
    ask(t, "r-2", "annotate", bob);
    const prompts = findAll("consent-prompt");
    expect(prompts).toHaveLength(2);
    const [control, annotate] = prompts as [HTMLElement, HTMLElement];
    expect(control.getAttribute("role")).toBe("dialog");
    expect(control.dataset["kind"]).toBe("control");
    expect(control.dataset["requestId"]).toBe("r-1");
    expect(control.textContent).toContain("Alice asks to control this page");
    expect(annotate.textContent).toContain("Bob asks to draw on this page");
    expect(control.querySelector('[data-cobrowse="consent-accept"]')?.tagName).toBe("BUTTON");
    expect(control.querySelector('[data-cobrowse="consent-decline"]')?.tagName).toBe("BUTTON");
    // The host is blocked from recording, and page CSS cannot reach inside it.
    const host = document.querySelector("cobrowse-ui")!;
    expect(host.classList.contains("cobrowse-block")).toBe(true);
    expect(host.shadowRoot).not.toBeNull();
    expect(document.querySelector('[data-cobrowse="consent-prompt"]')).toBeNull();
  });

  it("sends granted:true on Accept and granted:false on Decline, then removes the prompt", () => {
    ask(t, "r-1");
    ask(t, "r-2", "annotate");
    vi.advanceTimersByTime(ACCEPT_DELAY_MS);
    userClick(find("consent-accept")!);
    expect(t.sent).toEqual([{ type: "consent", request_id: "r-1", granted: true }]);
    expect(findAll("consent-prompt").map((p) => p.dataset["requestId"])).toEqual(["r-2"]);
    find("consent-decline")!.click();
    expect(t.sent[1]).toEqual({ type: "consent", request_id: "r-2", granted: false, reason: "declined" });
    expect(findAll("consent-prompt")).toHaveLength(0);
    // Answered prompts do not time out later.
    vi.advanceTimersByTime(CONSENT_TIMEOUT_MS);
    expect(t.sent).toHaveLength(2);
  });

  it("ignores Accept for 600 ms after the prompt appears, so a click meant for the page cannot land on it", () => {
    ask(t, "r-1");
    const accept = find("consent-accept") as HTMLButtonElement;
    expect(accept.disabled).toBe(true);
    userClick(accept);
    accept.dispatchEvent(new MouseEvent("click", { bubbles: true })); // even a click sent by script
    accept.focus(); // nor can the keyboard reach it
    expect(uiRoot()!.activeElement).not.toBe(accept);
    vi.advanceTimersByTime(ACCEPT_DELAY_MS - 1);
    userClick(accept);
    expect(t.sent).toEqual([]);
    expect(find("consent-prompt")).not.toBeNull();
    vi.advanceTimersByTime(1);
    expect(accept.disabled).toBe(false);
    userClick(accept);
    expect(t.sent).toEqual([{ type: "consent", request_id: "r-1", granted: true }]);
  });

  it("takes Accept only from the user, never from a script on the page", () => {
    ask(t, "r-1");
    vi.advanceTimersByTime(ACCEPT_DELAY_MS);
    const accept = find("consent-accept") as HTMLButtonElement;
    expect(accept.disabled).toBe(false);
    accept.click();
    accept.dispatchEvent(new MouseEvent("click", { bubbles: true, composed: true }));
    expect(t.sent).toEqual([]);
    expect(find("consent-prompt")).not.toBeNull();
    userClick(accept);
    expect(t.sent).toEqual([{ type: "consent", request_id: "r-1", granted: true }]);
  });

  it("holds the Accept of every fresh prompt when an agent requests and releases again and again", () => {
    for (let i = 0; i < 5; i++) {
      ask(t, `r-${i}`);
      vi.advanceTimersByTime(ACCEPT_DELAY_MS / 2);
      userClick(find("consent-accept")!);
      t.receive({ type: "consent_cancel", request_id: `r-${i}` });
    }
    expect(t.sent).toEqual([]);
  });

  it("holds Accept again on a prompt that moves up when the one above it goes", () => {
    ask(t, "r-1");
    ask(t, "r-2", "annotate", bob);
    vi.advanceTimersByTime(ACCEPT_DELAY_MS);
    // A double click on the first Accept: the second click must not accept Bob's request.
    userClick(find("consent-accept")!);
    userClick(find("consent-accept")!);
    expect(t.sent).toEqual([{ type: "consent", request_id: "r-1", granted: true }]);
    vi.advanceTimersByTime(ACCEPT_DELAY_MS);
    userClick(find("consent-accept")!);
    expect(t.sent[1]).toEqual({ type: "consent", request_id: "r-2", granted: true });
  });

  it("declines with reason timeout after 30 s without an answer", () => {
    ask(t, "r-1");
    vi.advanceTimersByTime(CONSENT_TIMEOUT_MS - 1);
    expect(t.sent).toEqual([]);
    expect(find("consent-prompt")).not.toBeNull();
    vi.advanceTimersByTime(1);
    expect(t.sent).toEqual([{ type: "consent", request_id: "r-1", granted: false, reason: "timeout" }]);
    expect(find("consent-prompt")).toBeNull();
  });

  it("declines on Escape inside the prompt", () => {
    ask(t, "r-1");
    find("consent-accept")!.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(t.sent).toEqual([{ type: "consent", request_id: "r-1", granted: false, reason: "declined" }]);
  });

  it("removes a prompt on consent_cancel without answering it", () => {
    ask(t, "r-1");
    ask(t, "r-1"); // the same request again shows one prompt
    ask(t, "r-2");
    expect(findAll("consent-prompt")).toHaveLength(2);
    t.receive({ type: "consent_cancel", request_id: "r-1" });
    expect(findAll("consent-prompt").map((p) => p.dataset["requestId"])).toEqual(["r-2"]);
    vi.advanceTimersByTime(CONSENT_TIMEOUT_MS);
    expect(t.sent).toEqual([{ type: "consent", request_id: "r-2", granted: false, reason: "timeout" }]);
  });

  it("shows an indicator naming each agent and grant while the server lists grants", () => {
    expect(find("grant-indicator")).toBeNull();
    t.grant({ kind: "control", agent: alice }, { kind: "annotate", agent: bob });
    const indicator = find("grant-indicator")!;
    expect(indicator.getAttribute("aria-live")).toBe("polite");
    expect(indicator.textContent).toContain("Alice is controlling this page");
    expect(indicator.textContent).toContain("Bob can draw on this page");
    expect(findAll("grant-stop").map((b) => b.dataset["kind"])).toEqual(["control", "annotate"]);
    t.grant({ kind: "annotate", agent: bob });
    expect(find("grant-indicator")!.textContent).not.toContain("Alice");
    t.grant();
    expect(find("grant-indicator")).toBeNull();
  });

  it("Stop sends revoke and stops performing the agent's input at once", () => {
    const button = document.createElement("button");
    let clicks = 0;
    button.addEventListener("click", () => clicks++);
    document.body.append(button);
    const id = t.register(button);
    const click = () => t.receive({ type: "control", agent_id: alice.id, tab: TAB, input: { action: "click", id, x: 5, y: 5 } });

    t.grant({ kind: "control", agent: alice });
    click();
    expect(clicks).toBe(1);

    find("grant-stop", '[data-kind="control"]')!.click();
    expect(t.sent).toEqual([{ type: "revoke", kind: "control", agent_id: alice.id }]);
    expect(find("grant-indicator")).toBeNull();
    click();
    expect(clicks).toBe(1);
    // A list the server sent before it saw the revoke does not turn it back on.
    t.grant({ kind: "control", agent: alice });
    click();
    expect(clicks).toBe(1);
    expect(find("grant-indicator")).toBeNull();
    // Once the server agrees, a later grant (the user accepted again) works.
    t.grant();
    t.grant({ kind: "control", agent: alice });
    click();
    expect(clicks).toBe(2);
  });

  it("sends a revoke that could not leave while offline with the next grants list", () => {
    t.grant({ kind: "annotate", agent: alice });
    t.online.value = false;
    find("grant-stop")!.click();
    expect(t.sent).toEqual([]);
    t.online.value = true;
    t.grant({ kind: "annotate", agent: alice });
    expect(t.sent).toEqual([{ type: "revoke", kind: "annotate", agent_id: alice.id }]);
    t.grant({ kind: "annotate", agent: alice });
    expect(t.sent).toHaveLength(1);
  });

  it("accepting a new request lifts an earlier Stop of the same grant", () => {
    t.grant({ kind: "control", agent: alice });
    find("grant-stop")!.click();
    ask(t, "r-9");
    vi.advanceTimersByTime(ACCEPT_DELAY_MS);
    userClick(find("consent-accept")!);
    t.grant({ kind: "control", agent: alice });
    expect(find("grant-indicator")!.textContent).toContain("Alice is controlling this page");
  });

  it("removes everything from the page when the tracker stops", () => {
    ask(t, "r-1");
    t.grant({ kind: "control", agent: alice });
    expect(uiRoot()).not.toBeNull();
    t.signals.stop();
    expect(document.querySelector("cobrowse-ui")).toBeNull();
    vi.advanceTimersByTime(CONSENT_TIMEOUT_MS);
    expect(t.sent).toEqual([]);
    ask(t, "r-2");
    expect(document.querySelector("cobrowse-ui")).toBeNull();
  });
});
