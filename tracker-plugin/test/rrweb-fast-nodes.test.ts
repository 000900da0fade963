import type { eventWithTime } from "rrweb";
import { afterEach, describe, expect, it } from "vitest";

import { rrwebFastNodes } from "../vite.config";
import { startRecording } from "../src/record";

type Transform = (code: string, id: string) => { code: string } | null;
const transform = rrwebFastNodes().transform as unknown as Transform;
const RRWEB_ID = "/repo/tracker-plugin/node_modules/rrweb/dist/rrweb.js";

interface Serialized {
  tagName?: string;
  childNodes?: Serialized[];
  [key: string]: unknown;
}

function elements(node: Serialized, out: Serialized[] = []): Serialized[] {
  if (node.tagName !== undefined) out.push(node);
  for (const child of node.childNodes ?? []) elements(child, out);
  return out;
}

describe("rrweb-fast-nodes build patch", () => {
  let stop: (() => void) | undefined;
  afterEach(() => {
    stop?.();
    stop = undefined;
    document.body.innerHTML = "";
  });

  it("patches only rrweb's bundle, and fails the build when rrweb changed", () => {
    const code = "a(); delete serializedNode.needBlock; b();";
    expect(transform(code, RRWEB_ID)?.code).toBe("a(); serializedNode.needBlock = void 0; b();");
    expect(transform(code, "/repo/tracker-plugin/src/record.ts")).toBeNull();
    expect(() => transform("a(); b();", RRWEB_ID)).toThrow(/review this patch/);
  });

  it("records what unpatched rrweb records: blocked content out, no needBlock in the JSON", () => {
    document.body.innerHTML = `<div data-cobrowse-block><p>blocked-text</p></div><table><tr><td>cell</td></tr></table>`;
    const events: eventWithTime[] = [];
    const recorder = startRecording((e) => events.push(e), { consoleLevels: false });
    stop = () => recorder.stop();

    const full = events.find((e) => e.type === 2)!;
    const nodes = elements((full.data as { node: Serialized }).node);
    // The tests run the patched rrweb (vite.config.ts inlines it): the property stays, undefined.
    expect(nodes.length).toBeGreaterThan(3);
    for (const node of nodes) {
      expect(Object.hasOwn(node, "needBlock"), node.tagName).toBe(true);
      expect(node["needBlock"]).toBeUndefined();
    }
    const json = JSON.stringify(events);
    expect(json).not.toContain("needBlock");
    expect(json).not.toContain("blocked-text");
    expect(json).toContain("cell");
  });
});
