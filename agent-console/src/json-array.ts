// Reads a JSON array of objects as it arrives, handing on each element as soon as its closing
// brace is in: the server streams a session's events (`GET /api/v1/sessions/{id}/events`) as one
// array that can run to many megabytes, and the replay should not wait for the last byte. It scans
// text (decode bytes with a streaming TextDecoder first, so a character split across chunks
// arrives whole), tracks only nesting depth and strings (braces, brackets and escaped quotes
// inside strings count for nothing), and leaves each element's own syntax to JSON.parse. Pure: text
// in, values out.

/** The text is not a JSON array of objects; `position` is the character where that showed. */
export class JsonArrayError extends Error {
  override name = "JsonArrayError";
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

/**
 * One element may not grow past this many characters (a string left open would otherwise buffer
 * the rest of the response). The server's own bound on an event is 10 MiB by default
 * (`--max-event-bytes`); this leaves room for a server configured higher.
 */
export const MAX_ELEMENT_CHARS = 64 * 1024 * 1024;

type State = "start" | "first" | "next" | "element" | "after" | "done";

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff;
}

function shown(c: number): string {
  return JSON.stringify(String.fromCharCode(c));
}

export class JsonArraySplitter {
  private state: State = "start";
  /** Characters consumed so far, for error positions. */
  private consumed = 0;
  /** The element being read: its text from earlier chunks. */
  private pieces: string[] = [];
  private pieceChars = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Elements handed on so far. */
  private count = 0;
  /** Once the text proved not to be an array of objects, every later call says so again. */
  private error: JsonArrayError | null = null;

  constructor(private readonly maxElementChars = MAX_ELEMENT_CHARS) {}

  /** The next piece of the text; returns the elements it completed, parsed, in order. */
  push(chunk: string): unknown[] {
    if (this.error) throw this.error;
    const out: unknown[] = [];
    let start = this.state === "element" ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      switch (this.state) {
        case "element":
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (c === BACKSLASH) this.escaped = true;
            else if (c === QUOTE) this.inString = false;
          } else if (c === QUOTE) {
            this.inString = true;
          } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
            this.depth++;
          } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
            this.depth--;
            if (this.depth === 0) {
              out.push(this.parseElement(chunk.slice(start, i + 1), i));
              this.state = "after";
              start = -1;
            }
          }
          break;
        case "start":
          if (isSpace(c)) break;
          if (c !== OPEN_BRACKET) this.fail(`expected "[" to open the array of events, found ${shown(c)}`, i);
          this.state = "first";
          break;
        case "first":
        case "next":
          if (isSpace(c)) break;
          if (c === CLOSE_BRACKET && this.state === "first") {
            this.state = "done";
            break;
          }
          if (c !== OPEN_BRACE) this.fail(`expected an event (a JSON object), found ${shown(c)}`, i);
          this.state = "element";
          this.depth = 1;
          start = i;
          break;
        case "after":
          if (isSpace(c)) break;
          if (c === COMMA) this.state = "next";
          else if (c === CLOSE_BRACKET) this.state = "done";
          else this.fail(`expected "," or "]" after event ${this.count}, found ${shown(c)}`, i);
          break;
        case "done":
          if (!isSpace(c)) this.fail(`unexpected ${shown(c)} after the end of the array`, i);
          break;
      }
    }
    if (this.state === "element") {
      const rest = chunk.slice(Math.max(0, start));
      this.pieces.push(rest);
      this.pieceChars += rest.length;
      if (this.pieceChars > this.maxElementChars) {
        this.fail(`event ${this.count + 1} is longer than ${this.maxElementChars} characters`, chunk.length);
      }
    }
    this.consumed += chunk.length;
    return out;
  }

  /** The text ended: throws unless the array was closed. */
  finish(): void {
    if (this.error) throw this.error;
    if (this.state === "done") return;
    const where =
      this.state === "start"
        ? "before the array began"
        : this.state === "element"
          ? `inside event ${this.count + 1}`
          : `after event ${this.count}`;
    throw new JsonArrayError(`the list of events was cut off ${where}`, this.consumed);
  }

  /** Elements read so far. */
  get elements(): number {
    return this.count;
  }

  private parseElement(tail: string, at: number): unknown {
    const text = this.pieces.length > 0 ? this.pieces.join("") + tail : tail;
    this.pieces = [];
    this.pieceChars = 0;
    if (text.length > this.maxElementChars) {
      this.fail(`event ${this.count + 1} is longer than ${this.maxElementChars} characters`, at);
    }
    try {
      const value: unknown = JSON.parse(text);
      this.count++;
      return value;
    } catch (e) {
      this.fail(`event ${this.count + 1} is not valid JSON: ${(e as Error).message}`, at);
    }
  }

  private fail(message: string, indexInChunk: number): never {
    const position = this.consumed + indexInChunk;
    this.error = new JsonArrayError(`${message} (at character ${position})`, position);
    throw this.error;
  }
}
