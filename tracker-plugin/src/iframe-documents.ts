/**
 * Same-origin iframe documents that rrweb records twice under one id, and why that calls for a
 * fresh full snapshot.
 *
 * rrweb records a same-origin iframe's document when the iframe is added and again on each of
 * its `load` events (an "attach" mutation holding the whole serialized document). An editor like
 * TinyMCE adds its iframe and gives it a `srcdoc`: if rrweb's first look comes after the new
 * document exists but before it was parsed, rrweb gives that empty document an id, and on `load`
 * records the same document, now full, under the same id. The Replayer keeps the node it already
 * has for a known id, so it keeps the empty document and never builds the content: the replay
 * shows an empty editor, and every later change inside it names nodes the replay lacks.
 *
 * A full snapshot rebuilds the replay from scratch, so the content appears. {@link IframeDocuments}
 * watches the events and says when one is due. Starting to record at `load` would not do: an
 * editor built after `load` races rrweb the same way.
 */

import { EventType, type eventWithTime, IncrementalSource } from "rrweb";

/** A serialized node as rrweb records it: what this module needs of it. */
interface SerializedNode {
  id: number;
  childNodes?: SerializedNode[];
}

/**
 * The iframe documents attached to the replay since the last full snapshot, by rrweb id, with
 * the number of nodes each was attached with.
 */
export class IframeDocuments {
  private readonly attached = new Map<number, number>();

  /**
   * Notes `event` as it is emitted; `true` when it attaches, with other nodes, a document the
   * replay already holds under the same id, so only a fresh full snapshot shows its content.
   * The same document attached again as it was (rrweb listens to an iframe's `load` once per
   * snapshot, so a reload can attach it twice) needs none.
   */
  needsFullSnapshot(event: eventWithTime): boolean {
    if (event.type === EventType.FullSnapshot) {
      // The replay rebuilds everything; iframe documents are attached again after the snapshot.
      this.attached.clear();
      return false;
    }
    if (event.type !== EventType.IncrementalSnapshot) return false;
    const data = event.data;
    if (data.source !== IncrementalSource.Mutation || data.isAttachIframe !== true) return false;
    let stale = false;
    for (const add of data.adds) {
      const nodes = countNodes(add.node);
      const before = this.attached.get(add.node.id);
      if (before !== undefined && before !== nodes) stale = true;
      this.attached.set(add.node.id, nodes);
    }
    return stale;
  }
}

function countNodes(node: SerializedNode): number {
  let count = 1;
  for (const child of node.childNodes ?? []) count += countNodes(child);
  return count;
}
