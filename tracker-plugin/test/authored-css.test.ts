// The text handling of authored-css.ts and lost-css.ts. How they repair a recording needs a
// browser's CSSOM (jsdom drops a `var()` shorthand instead of keeping it pending):
// tests/e2e/fidelity.test.mjs records a fixture in Chromium and compares the replayed boxes.
import { EventType, type eventWithTime, IncrementalSource } from "rrweb";
import { describe, expect, it } from "vitest";

import { hasEmptyDeclaration, topLevelRules } from "../src/authored-css";
import { LostCss } from "../src/lost-css";

describe("a stylesheet's text split into its top-level rules", () => {
  it("ends a block rule at the brace closing its block, nested blocks included", () => {
    const css = `
      :host { display: block; }
      @media (min-width: 40em) { .a { color: red; } .b { color: blue; } }
      @layer base, theme;
      .c { border: solid var(--w, 1px) var(--c); border-top-width: calc(var(--w) * 3); }
    `;
    expect(topLevelRules(css)).toEqual([
      ":host { display: block; }",
      "@media (min-width: 40em) { .a { color: red; } .b { color: blue; } }",
      "@layer base, theme;",
      ".c { border: solid var(--w, 1px) var(--c); border-top-width: calc(var(--w) * 3); }",
    ]);
  });

  it("skips braces and semicolons inside strings, comments and escapes", () => {
    const css = `.a::before { content: "} ;"; } /* { not a rule } */ .b\\{ { content: '\\'{'; }`;
    expect(topLevelRules(css)).toEqual([`.a::before { content: "} ;"; }`, `/* { not a rule } */ .b\\{ { content: '\\'{'; }`]);
  });

  it("leaves out what is not a rule: lone semicolons, comments after the last rule, @charset", () => {
    expect(topLevelRules(" ; .a { color: red; } ; /* the end */ ")).toEqual([".a { color: red; }"]);
    expect(topLevelRules('@charset "UTF-8";\n.a { content: "é"; }')).toEqual(['.a { content: "é"; }']);
    expect(topLevelRules("")).toEqual([]);
  });
});

describe("a serialized rule that lost declarations", () => {
  it("is one with a declaration without a value", () => {
    expect(hasEmptyDeclaration(".a { border-top-color: ; border-top-width: calc(var(--w) * 3); }")).toBe(true);
    expect(hasEmptyDeclaration("@media print { .a { color: red; padding-left: ; } }")).toBe(true);
  });

  it("is not one whose only empty declarations are custom properties, which may be empty", () => {
    expect(hasEmptyDeclaration(":host { --sl-empty: ; color: red; }")).toBe(false);
    expect(hasEmptyDeclaration(".a { border: solid var(--w) var(--c); }")).toBe(false);
  });
});

describe("repairing recorded events", () => {
  it("leaves events without lossy rules as they are", () => {
    const click = { type: EventType.IncrementalSnapshot, timestamp: 1, data: { source: IncrementalSource.MouseInteraction } };
    const adoption = {
      type: EventType.IncrementalSnapshot,
      timestamp: 2,
      data: { source: IncrementalSource.AdoptedStyleSheet, id: 5, styleIds: [1] },
    };
    const style = { type: 2, id: 7, tagName: "style", attributes: { _cssText: ".a { color: red; }" }, childNodes: [] };
    const snapshot = { type: EventType.FullSnapshot, timestamp: 3, data: { node: { type: 0, id: 1, childNodes: [style] } } };
    for (const event of [click, adoption, snapshot] as unknown as eventWithTime[]) {
      const before = structuredClone(event);
      new LostCss(() => null, () => {}).repair(event);
      expect(event).toEqual(before);
    }
  });
});
