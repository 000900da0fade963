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

/** The iframe documents attached to the replay since the last full snapshot, by rrweb id. */
export class IframeDocuments {
  private readonly attached = new Set<number>();

  /**
   * Notes `event` as it is emitted; `true` when it attaches a document the replay already holds
   * under the same id, so only a fresh full snapshot shows its content.
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
    let again = false;
    for (const add of data.adds) {
      if (this.attached.has(add.node.id)) again = true;
      this.attached.add(add.node.id);
    }
    return again;
  }
}
