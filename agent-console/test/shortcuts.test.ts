import { describe, expect, it } from "vitest";
import { isTypingTarget, shortcutAction, type KeyInput, type TargetInfo } from "../src/shortcuts";

const key = (k: string, mods: Partial<KeyInput> = {}): KeyInput => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, ...mods });
const body: TargetInfo = { tagName: "BODY" };

describe("shortcutAction", () => {
  it("maps the view's keys", () => {
    expect(shortcutAction(key(" "), body)).toBe("play-pause");
    expect(shortcutAction(key("ArrowLeft"), body)).toBe("back");
    expect(shortcutAction(key("ArrowRight"), body)).toBe("forward");
    expect(shortcutAction(key("l"), body)).toBe("live");
    expect(shortcutAction(key("L"), body)).toBe("live");
    expect(shortcutAction(key("/"), body)).toBe("search");
    expect(shortcutAction(key("/"), null)).toBe("search");
  });

  it("ignores other keys and keys held with Ctrl, Cmd or Alt", () => {
    expect(shortcutAction(key("k"), body)).toBeNull();
    expect(shortcutAction(key("Enter"), body)).toBeNull();
    expect(shortcutAction(key("l", { ctrlKey: true }), body)).toBeNull();
    expect(shortcutAction(key("ArrowLeft", { metaKey: true }), body)).toBeNull();
    expect(shortcutAction(key("/", { altKey: true }), body)).toBeNull();
    expect(shortcutAction(key("l", { isComposing: true }), body)).toBeNull();
  });

  it("leaves keys typed into a field to the field", () => {
    for (const target of [
      { tagName: "INPUT", type: "search" },
      { tagName: "input" },
      { tagName: "TEXTAREA" },
      { tagName: "SELECT" },
      { tagName: "DIV", isContentEditable: true },
    ]) {
      expect(shortcutAction(key("l"), target)).toBeNull();
      expect(shortcutAction(key(" "), target)).toBeNull();
    }
  });

  it("still works on the timeline slider and checkboxes, which take no typing", () => {
    expect(shortcutAction(key("ArrowRight"), { tagName: "INPUT", type: "range" })).toBe("forward");
    expect(shortcutAction(key("l"), { tagName: "INPUT", type: "checkbox" })).toBe("live");
  });

  it("lets Space press a focused button or link", () => {
    expect(shortcutAction(key(" "), { tagName: "BUTTON" })).toBeNull();
    expect(shortcutAction(key(" "), { tagName: "A" })).toBeNull();
    expect(shortcutAction(key("ArrowLeft"), { tagName: "BUTTON" })).toBe("back");
  });
});

describe("isTypingTarget", () => {
  it("is false with nothing focused", () => {
    expect(isTypingTarget(null)).toBe(false);
    expect(isTypingTarget(body)).toBe(false);
  });
});
