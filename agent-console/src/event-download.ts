// A tab's recorded events as they download: the response body of `GET /api/v1/sessions/{id}/
// events` read chunk by chunk, decoded as UTF-8 (a character split between chunks waits for its
// other half), split into events as each one completes (json-array.ts), and counted, so the replay
// can start before the end of a long recording and the agent sees how far the download got.
// `EventChunkReader` is the pure part (bytes in, events out); `readEvents` the loop over a body.

import { JsonArrayError, JsonArraySplitter } from "./json-array";
import { isRrwebEvent, type RrwebEvent } from "./rrweb-events";

/** How far a download got. */
export interface DownloadProgress {
  /** Bytes of the body read (after the browser undid any gzip/Brotli). */
  bytes: number;
  /** Events read. */
  events: number;
}

/** Bytes of a body in, the rrweb events they completed out. */
export class EventChunkReader {
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });
  private readonly splitter = new JsonArraySplitter();
  readonly progress: DownloadProgress = { bytes: 0, events: 0 };

  /** The next bytes of the body; the events they completed, in order. */
  push(bytes: Uint8Array): RrwebEvent[] {
    this.progress.bytes += bytes.byteLength;
    return this.take(this.decode(bytes, true));
  }

  /** The body ended: the last events, or an error if it was cut off. */
  finish(): RrwebEvent[] {
    const events = this.take(this.decode(new Uint8Array(0), false));
    this.splitter.finish();
    return events;
  }

  private decode(bytes: Uint8Array, stream: boolean): string {
    try {
      return this.decoder.decode(bytes, { stream });
    } catch {
      throw new JsonArrayError(`the events are not valid UTF-8 (near byte ${this.progress.bytes})`, this.progress.bytes);
    }
  }

  /** Values that are not rrweb events (no type or timestamp) are left out. */
  private take(text: string): RrwebEvent[] {
    const events = this.splitter.push(text).filter(isRrwebEvent);
    this.progress.events += events.length;
    return events;
  }
}

/**
 * Reads `body` to its end, handing each chunk's events to `onEvents` with the progress so far.
 * Rejects with `signal`'s reason once it aborts (the agent went elsewhere), and with a
 * `JsonArrayError` when the body is not an array of events or was cut off.
 */
export async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvents: (events: RrwebEvent[], progress: DownloadProgress) => void,
  signal?: AbortSignal,
): Promise<DownloadProgress> {
  const reader = body.getReader();
  const chunks = new EventChunkReader();
  const cancel = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { value, done } = await reader.read();
      signal?.throwIfAborted();
      if (done) break;
      onEvents(chunks.push(value), chunks.progress);
    }
    onEvents(chunks.finish(), chunks.progress);
    return chunks.progress;
  } catch (e) {
    cancel();
    throw e;
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
}
