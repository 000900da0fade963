// A WebSocket for tests of the tracker's connection: the test plays the server by hand.
import { decode, encode } from "@msgpack/msgpack";
import { vi } from "vitest";

import type { WebSocketLike } from "../src/connection";

/** A WebSocket the test drives by hand. */
export class FakeSocket implements WebSocketLike {
  binaryType: BinaryType = "blob";
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  sent: Record<string, unknown>[] = [];
  closedWith: number | undefined;
  /** What `welcome` says of help codes (an older server leaves it out: `false`). */
  helpCodes = true;

  constructor(readonly url: string) {}

  send(data: Uint8Array): void {
    this.sent.push(decode(data) as Record<string, unknown>);
  }
  close(code?: number): void {
    this.closedWith = code ?? 1005;
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  receive(message: Record<string, unknown>): void {
    const bytes = encode(message);
    const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    this.onmessage?.(new MessageEvent("message", { data }));
  }
  welcome(token: string): void {
    this.receive({
      type: "welcome",
      session_id: new Uint8Array(16),
      session_token: token,
      tab: "t",
      resumed: false,
      limits: { max_frame_bytes: 16777216, max_event_bytes: 10485760, events_per_sec: 500, bytes_per_sec: 4194304 },
      help_codes: this.helpCodes,
    });
  }
  serverClose(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code, reason }));
  }
  /** Seqs of every `events` message sent, one array per batch. */
  batches(): number[][] {
    return this.sent
      .filter((m) => m["type"] === "events")
      .map((m) => (m["events"] as { seq: number }[]).map((e) => e.seq));
  }
}

/**
 * Replaces the page's `WebSocket` with {@link FakeSocket}s (until `vi.unstubAllGlobals`); the
 * array fills with each socket the tracker opens, for the test to play the server on.
 */
export function stubWebSocket(): FakeSocket[] {
  const sockets: FakeSocket[] = [];
  vi.stubGlobal(
    "WebSocket",
    class extends FakeSocket {
      constructor(url: string) {
        super(url);
        sockets.push(this);
      }
    },
  );
  return sockets;
}
