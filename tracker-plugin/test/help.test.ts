// Help codes as a site uses them: its own button calling requestHelp(), or the built-in widget,
// against a socket the test plays the server on.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { type Tracker, requestHelp, start } from "../src/index";
import { ENGLISH } from "../src/labels";
import { HelpDesk } from "../src/help";
import { groupedCode } from "../src/help-widget";
import { type FakeSocket, stubWebSocket } from "./socket";

describe("help codes", () => {
  let sockets: FakeSocket[];
  let tracker: Tracker | undefined;

  beforeEach(() => {
    sockets = stubWebSocket();
    localStorage.clear();
    sessionStorage.clear();
    document.body.innerHTML = "<p>hello</p>";
  });
  afterEach(() => {
    tracker?.stop();
    tracker = undefined;
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  function connected(helpButton = false): FakeSocket {
    tracker = start({ server: "http://localhost:3000", projectKey: "k", helpButton, worker: false });
    const socket = sockets[0]!;
    socket.open();
    socket.welcome("token-1");
    return socket;
  }

  const helpRequests = (socket: FakeSocket) => socket.sent.filter((m) => m["type"] === "help_request").length;

  it("asks the server on the tracker's connection and resolves with the code it gives", async () => {
    const socket = connected();
    const asked = tracker!.requestHelp();
    // A second click while the first is pending asks nothing more.
    const again = requestHelp();
    expect(helpRequests(socket)).toBe(1);
    socket.receive({ type: "help_code", code: "042137", expires_at: 1_900_000_000_000 });
    await expect(asked).resolves.toEqual({ code: "042137", expiresAt: 1_900_000_000_000 });
    await expect(again).resolves.toEqual({ code: "042137", expiresAt: 1_900_000_000_000 });
  });

  it("rejects when the server has no code, and when no tracker runs", async () => {
    const socket = connected();
    const asked = tracker!.requestHelp();
    socket.receive({ type: "help_unavailable", reason: "S2 is unavailable" });
    await expect(asked).rejects.toThrow(/S2 is unavailable/);
    tracker!.stop();
    tracker = undefined;
    await expect(requestHelp()).rejects.toThrow(/start\(\)/);
  });

  it("sends a request made while offline once the connection opens, and gives up after a while", async () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    let open = false;
    const desk = new HelpDesk((signal) => {
      if (open) sent.push(signal.type);
      return open;
    }, 1000);
    const asked = desk.request();
    expect(sent).toEqual([]);
    open = true;
    desk.connected();
    expect(sent).toEqual(["help_request"]);
    vi.advanceTimersByTime(1000);
    await expect(asked).rejects.toThrow(/did not answer/);
  });

  it("asks nothing of a server whose welcome does not offer help codes (an older one closes on it)", async () => {
    vi.useFakeTimers();
    tracker = start({ server: "http://localhost:3000", projectKey: "k", worker: false });
    const socket = sockets[0]!;
    socket.helpCodes = false;
    socket.open();
    socket.welcome("token-1");
    const asked = tracker.requestHelp();
    expect(helpRequests(socket)).toBe(0);
    vi.advanceTimersByTime(15_000);
    await expect(asked).rejects.toThrow(/did not answer/);
  });

  it("refuses a help_code that is not six digits", () => {
    const socket = connected();
    const asked = tracker!.requestHelp();
    socket.receive({ type: "help_code", code: "12<b>", expires_at: 1 });
    socket.receive({ type: "help_code", code: "123456", expires_at: 1 });
    return expect(asked).resolves.toEqual({ code: "123456", expiresAt: 1 });
  });

  it("the widget shows the code grouped for reading out, then says when it expired", async () => {
    const socket = connected(true);
    const root = document.querySelector("cobrowse-ui")!.shadowRoot!;
    const button = root.querySelector<HTMLButtonElement>('[data-cobrowse="help-button"]')!;
    expect(button.textContent).toBe(ENGLISH.helpButton);
    button.click();
    expect(root.textContent).toContain(ENGLISH.helpAsking);
    expect(helpRequests(socket)).toBe(1);
    const expiresAt = Date.now() + 200;
    socket.receive({ type: "help_code", code: "042137", expires_at: expiresAt });
    await new Promise((done) => setTimeout(done, 0));
    const code = root.querySelector('[data-cobrowse="help-code"]')!;
    expect(code.textContent).toBe("042 137");
    expect(root.querySelector('[data-cobrowse="help-expiry"]')!.textContent).toMatch(/^Valid until /);
    await new Promise((done) => setTimeout(done, 300));
    expect(root.querySelector('[data-cobrowse="help-code"]')).toBeNull();
    expect(root.textContent).toContain(ENGLISH.helpExpired);
    expect(root.querySelector('[data-cobrowse="help-retry"]')).not.toBeNull();
  });

  it("groups six digits as three and three", () => {
    expect(groupedCode("123456")).toBe("123 456");
  });
});
