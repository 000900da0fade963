// A Server-Sent Events parser fed text as it arrives, in chunks cut anywhere (the HTML spec's
// event stream interpretation, minus `retry`): the console reads SSE through fetch() so its token
// stays in a header, which leaves the parsing to it. Pure: text in, events out.

/** One dispatched event: its `event:` name (`message` when none) and its `data:` lines joined. */
export interface SseEvent {
  type: string;
  data: string;
  /** The last `id:` seen, "" when none. */
  lastId: string;
}

export class SseParser {
  /** Text after the last complete line. */
  private pending = "";
  /** A chunk ended in "\r": a "\n" opening the next one belongs to the same line end. */
  private afterCr = false;
  private type = "";
  private data: string[] = [];
  private lastId = "";

  /** Takes the next chunk of the stream; returns the events it completed, in order. */
  push(chunk: string): SseEvent[] {
    let text = chunk;
    if (this.afterCr && text.startsWith("\n")) text = text.slice(1);
    this.afterCr = false;
    const events: SseEvent[] = [];
    let buffer = this.pending + text;
    for (;;) {
      const end = buffer.search(/\r\n|\r|\n/);
      if (end < 0) break;
      const line = buffer.slice(0, end);
      let next = end + 1;
      if (buffer[end] === "\r") {
        if (buffer[end + 1] === "\n") next = end + 2;
        else if (end + 1 === buffer.length) this.afterCr = true;
      }
      buffer = buffer.slice(next);
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.pending = buffer;
    return events;
  }

  private line(line: string): SseEvent | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.type = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.lastId = value;
    return null;
  }

  private dispatch(): SseEvent | null {
    const type = this.type || "message";
    const data = this.data;
    this.type = "";
    this.data = [];
    if (data.length === 0) return null;
    return { type, data: data.join("\n"), lastId: this.lastId };
  }
}
