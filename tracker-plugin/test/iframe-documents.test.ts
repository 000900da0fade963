import { EventType, type eventWithTime, IncrementalSource } from "rrweb";
import { describe, expect, it } from "vitest";

import { IframeDocuments } from "../src/iframe-documents";

const fullSnapshot = { type: EventType.FullSnapshot, timestamp: 1, data: {} } as unknown as eventWithTime;

/**
 * rrweb's record of an iframe's document `documentId` being attached to iframe `iframeId`, with
 * `children` nodes under the document.
 */
function attach(iframeId: number, documentId: number, isAttachIframe = true, children = 0): eventWithTime {
  const childNodes = Array.from({ length: children }, (_, i) => ({ type: 2, id: documentId + 1 + i, childNodes: [] }));
  return {
    type: EventType.IncrementalSnapshot,
    timestamp: 2,
    data: {
      source: IncrementalSource.Mutation,
      adds: [{ parentId: iframeId, nextId: null, node: { type: 0, id: documentId, childNodes } }],
      removes: [],
      texts: [],
      attributes: [],
      ...(isAttachIframe ? { isAttachIframe: true } : {}),
    },
  } as unknown as eventWithTime;
}

describe("iframe documents recorded twice", () => {
  it("asks for a full snapshot when a document is attached again under the same id, now full", () => {
    const documents = new IframeDocuments();
    expect(documents.needsFullSnapshot(fullSnapshot)).toBe(false);
    expect(documents.needsFullSnapshot(attach(41, 42))).toBe(false);
    expect(documents.needsFullSnapshot(attach(41, 42, true, 3))).toBe(true);
  });

  it("needs none when the same document is attached again as it was", () => {
    const documents = new IframeDocuments();
    expect(documents.needsFullSnapshot(attach(41, 42, true, 3))).toBe(false);
    expect(documents.needsFullSnapshot(attach(41, 42, true, 3))).toBe(false);
  });

  it("lets a new document replace the old one without a snapshot", () => {
    const documents = new IframeDocuments();
    expect(documents.needsFullSnapshot(attach(41, 42))).toBe(false);
    expect(documents.needsFullSnapshot(attach(41, 46))).toBe(false);
    expect(documents.needsFullSnapshot(attach(50, 51))).toBe(false);
  });

  it("starts over after a full snapshot, which attaches every document again", () => {
    const documents = new IframeDocuments();
    documents.needsFullSnapshot(attach(41, 42));
    expect(documents.needsFullSnapshot(fullSnapshot)).toBe(false);
    expect(documents.needsFullSnapshot(attach(41, 42, true, 3))).toBe(false);
  });

  it("ignores mutations that do not attach an iframe document", () => {
    const documents = new IframeDocuments();
    documents.needsFullSnapshot(attach(41, 42, false));
    expect(documents.needsFullSnapshot(attach(41, 42, false, 3))).toBe(false);
    expect(documents.needsFullSnapshot(attach(41, 42, true, 3))).toBe(false);
  });
});
