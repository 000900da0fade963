import type { eventWithTime } from "rrweb";
import { afterEach, describe, expect, it } from "vitest";

import { PageSignals } from "../src/signals";

import {
  DEFAULT_CHECKOUT_EVERY_MS,
  isPasswordField,
  maskInput,
  PASSWORD_MASK,
  recordedCanvasId,
  recordedNode,
  recordOptions,
  startRecording,
} from "../src/record";

const noop = (): void => {};

describe("privacy options passed to rrweb", () => {
  it("masks all inputs and never records passwords by default", () => {
    const o = recordOptions(noop);
    expect(o.maskAllInputs).toBe(true);
    expect(o.maskInputOptions?.password).toBe(true);
    expect(o.maskInputFn).toBe(maskInput);
    expect(o.recordCanvas).toBe(false);
  });

  it("blocks and masks the cobrowse attributes and classes", () => {
    const o = recordOptions(noop);
    expect(o.blockClass).toBe("cobrowse-block");
    expect(o.blockSelector).toContain("[data-cobrowse-block]");
    expect(o.maskTextClass).toBe("cobrowse-mask");
    expect(o.maskTextSelector).toBe("[data-cobrowse-mask]");
  });

  it("keeps passwords masked when other inputs are not, and adds custom selectors", () => {
    const o = recordOptions(noop, {
      privacy: { maskAllInputs: false, blockSelector: ".secret", maskTextSelector: ".pii" },
    });
    expect(o.maskAllInputs).toBe(false);
    expect(o.maskInputOptions).toEqual({ password: true });
    expect(o.maskInputFn).toBe(maskInput);
    // Password fields that rrweb would not see as such are blocked instead.
    expect(o.blockSelector).toContain('input[autocomplete="new-password"]:not([type="password"])');
    expect(o.blockSelector).toContain("[data-cobrowse-block]");
    expect(o.blockSelector).toContain(".secret");
    expect(o.maskTextSelector).toBe("[data-cobrowse-mask], .pii");
    expect(recordOptions(noop, { privacy: { maskAllText: true } }).maskTextSelector).toBe("*");
  });

  it("records canvases only when asked, as WebP at the given rate, and never a masked one", () => {
    expect(recordOptions(noop).sampling).toBeUndefined();
    const o = recordOptions(noop, { canvas: { fps: 2, quality: 0.6 }, privacy: { maskTextSelector: ".pii" } });
    expect(o.recordCanvas).toBe(true);
    expect(o.sampling).toEqual({ canvas: 2 });
    expect(o.dataURLOptions).toEqual({ type: "image/webp", quality: 0.6 });
    document.body.innerHTML = `
      <canvas id="chart"></canvas>
      <canvas id="own-mask" data-cobrowse-mask></canvas>
      <div class="cobrowse-mask"><span><canvas id="deep"></canvas></span></div>
      <div class="pii"><canvas id="custom"></canvas></div>
      <div data-cobrowse-mask><p id="text">masked text stays masked, not blocked</p></div>`;
    const blocked = (id: string) => document.getElementById(id)!.matches(o.blockSelector!);
    expect(blocked("chart")).toBe(false);
    expect(blocked("own-mask")).toBe(true);
    expect(blocked("deep")).toBe(true);
    expect(blocked("custom")).toBe(true);
    expect(blocked("text")).toBe(false);
    // Without canvas recording the block selector is as before.
    expect(document.getElementById("deep")!.matches(recordOptions(noop).blockSelector!)).toBe(false);
  });

  it("takes periodic full snapshots and records the chosen console levels", () => {
    expect(recordOptions(noop).checkoutEveryNms).toBe(DEFAULT_CHECKOUT_EVERY_MS);
    expect(recordOptions(noop, { checkoutEveryNms: 5000 }).checkoutEveryNms).toBe(5000);
    expect(recordOptions(noop).plugins?.map((p) => p.name)).toEqual(["rrweb/console@1"]);
    expect(recordOptions(noop, { consoleLevels: ["error"] }).plugins?.[0]?.options).toMatchObject({ level: ["error"] });
    expect(recordOptions(noop, { consoleLevels: false }).plugins).toEqual([]);
    expect(recordOptions(noop, { consoleLevels: [] }).plugins).toEqual([]);
  });

  it("masks a password field to a fixed mask, not to its length", () => {
    const password = document.createElement("input");
    password.type = "password";
    const hinted = document.createElement("input");
    hinted.setAttribute("autocomplete", "new-password");
    const toggled = document.createElement("input");
    toggled.type = "text";
    toggled.setAttribute("data-rr-is-password", "true"); // rrweb's mark after a show-password toggle
    const text = document.createElement("input");
    for (const field of [password, hinted, toggled]) {
      expect(isPasswordField(field)).toBe(true);
      expect(maskInput("hunter2", field)).toBe(PASSWORD_MASK);
      expect(maskInput("a much longer passphrase", field)).toBe(PASSWORD_MASK);
      expect(maskInput("", field)).toBe("");
    }
    expect(isPasswordField(text)).toBe(false);
    expect(maskInput("hello", text)).toBe("*****");
  });
});

describe("recording a page", () => {
  let stop: (() => void) | undefined;
  afterEach(() => {
    stop?.();
    stop = undefined;
    document.body.innerHTML = "";
  });

  it("leaves secrets out of the full snapshot", () => {
    document.body.innerHTML = `
      <form>
        <input id="name" value="Ada Lovelace">
        <input id="pw" type="password" value="hunter2-secret">
        <textarea id="notes">private notes</textarea>
      </form>
      <div data-cobrowse-block><p>blocked-by-attribute</p></div>
      <div class="cobrowse-block">blocked-by-class</div>
      <p data-cobrowse-mask>masked-by-attribute</p>
      <p class="cobrowse-mask">masked-by-class</p>
      <p>visible-text</p>`;
    const events: eventWithTime[] = [];
    const recorder = startRecording((e) => events.push(e), { consoleLevels: false });
    stop = () => recorder.stop();

    const json = JSON.stringify(events);
    expect(events.some((e) => e.type === 2)).toBe(true); // FullSnapshot
    expect(json).toContain("visible-text");
    for (const secret of [
      "Ada Lovelace",
      "hunter2-secret",
      "private notes",
      "blocked-by-attribute",
      "blocked-by-class",
      "masked-by-attribute",
      "masked-by-class",
    ]) {
      expect(json, secret).not.toContain(secret);
    }
    // The password field's value is the fixed mask: not even its length is recorded.
    const inputs: Record<string, unknown>[] = [];
    const walk = (node: Record<string, unknown>): void => {
      if (node["tagName"] === "input") inputs.push(node);
      for (const child of (node["childNodes"] as Record<string, unknown>[] | undefined) ?? []) walk(child);
    };
    const full = events.find((e) => e.type === 2)!;
    walk((full.data as { node: Record<string, unknown> }).node);
    expect(inputs).toHaveLength(2);
    const [name, pw] = inputs.map((n) => n["attributes"] as Record<string, string>);
    expect(name).toMatchObject({ id: "name", value: "*".repeat("Ada Lovelace".length) });
    expect(pw).toMatchObject({ id: "pw", type: "password", value: PASSWORD_MASK });
  });

  it("records typing masked, and a password field without its length or keystroke count", async () => {
    document.body.innerHTML = '<input id="name"><input id="pw" type="password">';
    const events: eventWithTime[] = [];
    const recorder = startRecording((e) => events.push(e), { consoleLevels: false });
    stop = () => recorder.stop();
    const before = events.length;

    for (const [id, value] of [["name", "Ada"], ["pw", "t"], ["pw", "ty"], ["pw", "typed-secret"]] as const) {
      const input = document.getElementById(id) as HTMLInputElement;
      input.value = value;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));

    const inputEvents = events
      .slice(before)
      .filter((e) => e.type === 3 && (e.data as { source: number }).source === 5)
      .map((e) => e.data as { id: number; text: string });
    expect(inputEvents.map((d) => d.text)).toEqual(["***", PASSWORD_MASK]);
    expect(JSON.stringify(events)).not.toContain("typed-secret");
  });

  it("takes a fresh Meta + FullSnapshot on demand (resync)", () => {
    document.body.innerHTML = "<p>hello</p>";
    const events: eventWithTime[] = [];
    const recorder = startRecording((e) => events.push(e), { consoleLevels: false });
    stop = () => recorder.stop();
    const before = events.length;
    expect(recorder.takeFullSnapshot()).toBe(true);
    expect(events.slice(before).map((e) => e.type)).toEqual([4, 2]);
  });

  it("resolves agents' node ids through the recording, and leaves the tracker's own UI out of it", () => {
    document.body.innerHTML = '<button id="buy">Buy</button>';
    const signals = new PageSignals({ tabId: "t", send: () => true, nodeById: recordedNode });
    signals.receive({ type: "consent_request", request_id: "r", kind: "control", agent: { id: "a", name: "Alice" } });
    const events: eventWithTime[] = [];
    const recorder = startRecording((e) => events.push(e), { consoleLevels: false });
    stop = () => {
      recorder.stop();
      signals.stop();
    };

    const ids = new Map<string, number>();
    const walk = (node: Record<string, unknown>): void => {
      const attributes = node["attributes"] as Record<string, string> | undefined;
      if (attributes?.["id"] !== undefined) ids.set(attributes["id"], node["id"] as number);
      if (node["tagName"] === "cobrowse-ui") ids.set("ui", node["id"] as number);
      for (const child of (node["childNodes"] as Record<string, unknown>[] | undefined) ?? []) walk(child);
    };
    walk((events.find((e) => e.type === 2)!.data as { node: Record<string, unknown> }).node);
    expect(recordedNode(ids.get("buy")!)).toBe(document.getElementById("buy"));
    // The prompt's host is a blocked box: its text and buttons are not recorded.
    expect(ids.has("ui")).toBe(true);
    expect(JSON.stringify(events)).not.toContain("Alice asks");
    expect(JSON.stringify(events)).not.toContain("consent-accept");
  });
  it("names canvases by their recorded ids for streaming, except blocked and masked ones", () => {
    document.body.innerHTML = `
      <canvas id="chart"></canvas>
      <canvas id="own" data-cobrowse-block></canvas>
      <div class="cobrowse-block"><canvas id="inside"></canvas></div>
      <canvas id="custom" class="card-preview"></canvas>
      <div data-cobrowse-mask><canvas id="masked"></canvas></div>
      <div class="cobrowse-mask"><canvas id="masked-class"></canvas></div>
      <canvas id="statement" class="statement"></canvas>`;
    const recorder = startRecording(() => {}, { consoleLevels: false });
    stop = () => recorder.stop();
    const canvas = (id: string) => document.getElementById(id) as HTMLCanvasElement;
    const privacy = { blockSelector: ".card-preview" };
    const chart = recordedCanvasId(canvas("chart"), privacy);
    expect(chart).toBeGreaterThan(0);
    expect(recordedNode(chart!)).toBe(canvas("chart"));
    expect(recordedCanvasId(canvas("own"), privacy)).toBeUndefined();
    expect(recordedCanvasId(canvas("inside"), privacy)).toBeUndefined();
    expect(recordedCanvasId(canvas("custom"), privacy)).toBeUndefined();
    expect(recordedCanvasId(canvas("custom"))).toBeGreaterThan(0);
    expect(recordedCanvasId(canvas("masked"))).toBeUndefined();
    expect(recordedCanvasId(canvas("masked-class"))).toBeUndefined();
    expect(recordedCanvasId(canvas("statement"), { maskTextSelector: ".statement" })).toBeUndefined();
    expect(recordedCanvasId(canvas("statement"))).toBeGreaterThan(0);
    expect(recordedCanvasId(canvas("chart"), { maskAllText: true })).toBeUndefined();
    // A canvas rrweb has not seen has no id yet.
    const late = document.createElement("canvas");
    expect(recordedCanvasId(late)).toBeUndefined();
  });

  it("leaves the call window out of the recording", async () => {
    const { setupCall, flush } = await import("./call-fakes");
    const t = setupCall();
    t.signals.connected();
    t.grant({ kind: "call", agent: { id: "a", name: "Alice" }, video: false }, { kind: "record", agent: { id: "a", name: "Alice" } });
    await flush();
    const events: eventWithTime[] = [];
    const recorder = startRecording((e) => events.push(e), { consoleLevels: false });
    stop = () => {
      recorder.stop();
      t.signals.stop();
    };
    const json = JSON.stringify(events);
    expect(json).toContain("cobrowse-ui");
    for (const text of ["Hang up", "Recording", "call-window", "Join here"]) expect(json, text).not.toContain(text);
  });
});
