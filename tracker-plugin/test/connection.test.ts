import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { Backoff } from "../src/backoff";
import { type BufferedEvent, EventBuffer } from "../src/buffer";
import {
  RESYNC_INTERVAL_MS,
  TrackerConnection,
  UNWATCHED_BATCH_DELAY_MS,
  trackUrl,
} from "../src/connection";
import { Identity } from "../src/identity";
import { log } from "../src/log";
import { jsonBytes } from "../src/protocol";
import { MemoryStorage } from "../src/storage";
import { FakeSocket } from "./socket";

function setup() {
  const sockets: FakeSocket[] = [];
  const local = new MemoryStorage();
  const identity = new Identity({ projectKey: "demo", local, tab: new MemoryStorage() });
  const buffer = new EventBuffer();
  const snapshots = vi.fn();
  const stopped = vi.fn();
  const signals = vi.fn();
  const welcomes = vi.fn();
  const conn = new TrackerConnection({
    url: "ws://cobrowse.test/api/v1/track",
    projectKey: "demo",
    identity,
    buffer,
    hello: () => ({
      page: { url: "https://shop.test/", user_agent: "test", viewport: { width: 800, height: 600 } },
      user_id: "u-1",
      metadata: { plan: "gold" },
    }),
    takeFullSnapshot: snapshots,
    onSignal: signals,
    onWelcome: welcomes,
    onStopped: stopped,
    webSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    backoff: new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.5 }),
  });
  const record = (n = 1): void => {
    for (let i = 0; i < n; i++) {
      const seq = identity.nextSeq();
      const event: BufferedEvent = { seq, ts: 1000 + seq, kind: "rrweb", data: jsonBytes({ type: 3, seq }), keep: false };
      buffer.push(event);
      conn.notify();
    }
  };
  const last = (): FakeSocket => sockets[sockets.length - 1]!;
  return { sockets, last, local, identity, buffer, snapshots, signals, welcomes, stopped, conn, record };
}

describe("tracker connection", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("derives the track URL from the server origin", () => {
    expect(trackUrl("http://localhost:8080")).toBe("ws://localhost:8080/api/v1/track");
    expect(trackUrl("https://cb.example/prefix/")).toBe("wss://cb.example/prefix/api/v1/track");
    expect(() => trackUrl("ftp://x")).toThrow(TypeError);
  });

  it("says hello, then sends buffered events in order and trims them on ack", () => {
    const t = setup();
    t.record(3); // recorded before the connection is up
    t.conn.start();
    const ws = t.last();
    expect(ws.url).toBe("ws://cobrowse.test/api/v1/track");
    ws.open();
    expect(ws.sent[0]).toMatchObject({
      type: "hello",
      protocol: 1,
      project_key: "demo",
      tab: t.identity.tabId,
      page: { url: "https://shop.test/" },
      user_id: "u-1",
      metadata: { plan: "gold" },
    });
    expect(ws.sent[0]).not.toHaveProperty("session_token");
    expect(ws.batches()).toEqual([]); // nothing before welcome

    ws.welcome("tok-1");
    expect(t.identity.sessionToken()).toBe("tok-1");
    expect(ws.batches()).toEqual([[1, 2, 3]]);
    const sentEvent = (ws.sent[1]!["events"] as Record<string, unknown>[])[0]!;
    expect(sentEvent["data"]).toBeInstanceOf(Uint8Array);
    expect(sentEvent["kind"]).toBe("rrweb");

    ws.receive({ type: "ack", seq: 2 });
    expect(t.buffer.all().map((e) => e.seq)).toEqual([3]);
    ws.receive({ type: "ack", seq: 3 });
    expect(t.buffer.size).toBe(0);
  });

  it("while watched, sends at once when nothing awaits an ack, else with the ack, or at once when 64 wait", () => {
    const t = setup();
    t.conn.start();
    t.last().open();
    t.last().welcome("tok");
    t.record(1);
    expect(t.last().batches()).toEqual([[1]]);
    // Batch [1] awaits its ack: what comes meanwhile waits for it, however long it takes.
    t.record(2);
    vi.advanceTimersByTime(10 * UNWATCHED_BATCH_DELAY_MS);
    expect(t.last().batches()).toEqual([[1]]);
    t.last().receive({ type: "ack", seq: 1 });
    expect(t.last().batches()).toEqual([[1], [2, 3]]);
    t.last().receive({ type: "ack", seq: 3 });
    t.record(1);
    expect(t.last().batches()).toEqual([[1], [2, 3], [4]]);

    // 64 waiting go without waiting for the ack.
    t.record(64);
    expect(t.last().batches()).toHaveLength(4);
    expect(t.last().batches()[3]).toHaveLength(64);
  });

  it("batches every second while nobody watches, and sends what waits as soon as an agent does", () => {
    const t = setup();
    t.conn.start();
    t.last().open();
    t.last().welcome("tok");
    t.last().receive({ type: "watching", agents: 0 });
    t.record(2);
    vi.advanceTimersByTime(UNWATCHED_BATCH_DELAY_MS - 1);
    expect(t.last().batches()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(t.last().batches()).toEqual([[1, 2]]);

    // An ack does not cut the second short while nobody watches.
    t.record(1);
    t.last().receive({ type: "ack", seq: 2 });
    vi.advanceTimersByTime(UNWATCHED_BATCH_DELAY_MS / 2);
    expect(t.last().batches()).toHaveLength(1);
    t.last().receive({ type: "watching", agents: 1 });
    expect(t.last().batches()).toEqual([[1, 2], [3]]);
    t.last().receive({ type: "ack", seq: 3 });
    t.record(1);
    expect(t.last().batches()).toEqual([[1, 2], [3], [4]]);
  });

  it("drops a rejected event and takes a full snapshot on resync", () => {
    const t = setup();
    t.conn.start();
    t.last().open();
    t.last().welcome("tok");
    t.record(3);
    const warn = vi.spyOn(log, "warn").mockImplementation(() => {});
    t.last().receive({ type: "rejected", seq: 2, reason: "event data is not valid UTF-8 JSON" });
    expect(t.buffer.all().map((e) => e.seq)).toEqual([1, 3]);
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
    expect(t.snapshots).not.toHaveBeenCalled();
    t.last().receive({ type: "resync" });
    expect(t.snapshots).toHaveBeenCalledTimes(1);
  });

  it("sends a resync's snapshot at once, without waiting for an ack or the unwatched delay", () => {
    const t = setup();
    t.snapshots.mockImplementation(() => t.record(2)); // Meta and FullSnapshot
    t.conn.start();
    t.last().open();
    t.last().welcome("tok");
    t.record(1);
    expect(t.last().batches()).toEqual([[1]]); // awaits its ack
    t.last().receive({ type: "resync" });
    expect(t.last().batches()).toEqual([[1], [2, 3]]);

    // Nobody watches yet (the server may say so after the resync): still at once.
    t.last().receive({ type: "watching", agents: 0 });
    vi.advanceTimersByTime(RESYNC_INTERVAL_MS);
    t.last().receive({ type: "resync" });
    expect(t.last().batches()).toEqual([[1], [2, 3], [4, 5]]);
  });

  it("serves a flood of resyncs with one snapshot at once and one when the second is up", () => {
    const t = setup();
    t.conn.start();
    t.last().open();
    t.last().welcome("tok");
    // An agent sends 100 resyncs in 100 ms.
    for (let i = 0; i < 100; i++) {
      t.last().receive({ type: "resync" });
      vi.advanceTimersByTime(1);
    }
    expect(t.snapshots).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(RESYNC_INTERVAL_MS - 101);
    expect(t.snapshots).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1); // a second after the first snapshot, after the last resync
    expect(t.snapshots).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(10 * RESYNC_INTERVAL_MS);
    expect(t.snapshots).toHaveBeenCalledTimes(2);
    // Once a second has passed, a resync is served at once again.
    t.last().receive({ type: "resync" });
    expect(t.snapshots).toHaveBeenCalledTimes(3);
  });

  it("counts the connection's own snapshots as the last one, and never delays them", () => {
    const t = setup();
    t.buffer.snapshotNeeded = true; // events were dropped
    t.conn.start();
    t.last().open();
    t.last().welcome("tok-1");
    expect(t.snapshots).toHaveBeenCalledTimes(1);
    t.last().receive({ type: "resync" });
    expect(t.snapshots).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(RESYNC_INTERVAL_MS);
    expect(t.snapshots).toHaveBeenCalledTimes(2);

    // A resync waits; the session ends meanwhile: the new session's snapshot is taken at once
    // and serves the waiting resync too.
    t.last().receive({ type: "resync" });
    t.last().serverClose(4010);
    expect(t.snapshots).toHaveBeenCalledTimes(3);
    vi.advanceTimersByTime(RESYNC_INTERVAL_MS);
    expect(t.snapshots).toHaveBeenCalledTimes(3);
  });

  it("takes no waiting resync snapshot after the tracker stopped", () => {
    const t = setup();
    t.conn.start();
    t.last().open();
    t.last().welcome("tok");
    t.last().receive({ type: "resync" });
    t.last().receive({ type: "resync" });
    t.conn.stop();
    vi.advanceTimersByTime(RESYNC_INTERVAL_MS);
    expect(t.snapshots).toHaveBeenCalledTimes(1);
  });

  it("after a lost connection, reconnects with backoff, resumes with the token and resends unacked events", () => {
    const t = setup();
    t.conn.start();
    t.last().open();
    t.last().welcome("tok-1");
    t.record(4);
    t.last().receive({ type: "ack", seq: 2 });
    t.last().serverClose(1006);

    expect(t.sockets).toHaveLength(1);
    vi.advanceTimersByTime(49); // first delay: 0.5 · 100 ms
    expect(t.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(t.sockets).toHaveLength(2);

    const ws = t.last();
    ws.open();
    expect(ws.sent[0]).toMatchObject({ type: "hello", session_token: "tok-1", tab: t.identity.tabId });
    t.record(1); // new event while the handshake is under way
    ws.welcome("tok-2");
    expect(ws.batches()).toEqual([[3, 4, 5]]);
    expect(t.identity.sessionToken()).toBe("tok-2");
  });

  it.each([1001, 1011, 4009, 4029])("close %i reconnects and resumes the session", (code) => {
    const t = setup();
    t.conn.start();
    t.last().open();
    t.last().welcome("tok-1");
    t.last().serverClose(code);
    vi.advanceTimersByTime(1000);
    t.last().open();
    expect(t.last().sent[0]).toMatchObject({ session_token: "tok-1" });
    expect(t.snapshots).not.toHaveBeenCalled();
  });

  it.each([4010, 4004, 4001])("close %i after a token starts a new session with a fresh snapshot", (code) => {
    const t = setup();
    t.conn.start();
    t.last().open();
    t.last().welcome("tok-1");
    t.record(3);
    t.last().serverClose(code);

    expect(t.identity.sessionToken()).toBeUndefined();
    expect(t.buffer.size).toBe(0); // the old session's events cannot be written
    expect(t.snapshots).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    t.last().open();
    expect(t.last().sent[0]).toMatchObject({ type: "hello" });
    expect(t.last().sent[0]).not.toHaveProperty("session_token");
    expect(t.stopped).not.toHaveBeenCalled();
  });

  it("stops for good on an unknown project key or a forbidden origin", () => {
    const error = vi.spyOn(log, "error").mockImplementation(() => {});
    for (const code of [4001, 4003]) {
      const t = setup();
      t.conn.start();
      t.last().open(); // no token: 4001 means the project key
      t.last().serverClose(code);
      vi.advanceTimersByTime(60_000);
      expect(t.sockets).toHaveLength(1);
      expect(t.stopped).toHaveBeenCalledTimes(1);
      expect(t.conn.stopped).toBe(true);
    }
    expect(error).toHaveBeenCalledTimes(2);
    error.mockRestore();
  });

  it.each([4002, 1007, 1009])("close %i is logged as an error and retried", (code) => {
    const t = setup();
    const error = vi.spyOn(log, "error").mockImplementation(() => {});
    t.conn.start();
    t.last().open();
    t.last().welcome("tok-1");
    t.last().serverClose(code, "bad frame");
    expect(error).toHaveBeenCalledTimes(1);
    expect(String(error.mock.calls[0]![0])).toContain(`close ${code}: bad frame`);
    vi.advanceTimersByTime(1000);
    expect(t.sockets).toHaveLength(2);
    t.last().open();
    expect(t.last().sent[0]).toMatchObject({ session_token: "tok-1" });
    error.mockRestore();
  });

  it("keeps at most 64 batches unacknowledged", () => {
    const t = setup();
    t.conn.start();
    t.last().open();
    t.last().welcome("tok");
    t.record(64 * 64 + 10);
    vi.advanceTimersByTime(60_000);
    const batches = t.last().batches();
    expect(batches).toHaveLength(64);
    const first = batches[0]!;
    t.last().receive({ type: "ack", seq: first[first.length - 1]! });
    vi.advanceTimersByTime(60_000);
    expect(t.last().batches()).toHaveLength(65);
  });

  it("ends the session after sending everything, then forgets the token", () => {
    const t = setup();
    t.conn.start();
    t.last().open();
    t.last().welcome("tok-1");
    t.record(2); // [1] goes at once, [2] waits for its ack
    t.conn.end("user clicked stop");
    const types = t.last().sent.map((m) => m["type"]);
    expect(types).toEqual(["hello", "events", "events", "end"]);
    expect(t.last().batches()).toEqual([[1], [2]]);
    expect(t.last().sent[3]).toMatchObject({ reason: "user clicked stop" });
    t.last().serverClose(1000, "session ended");
    expect(t.identity.sessionToken()).toBeUndefined();
    expect(t.stopped).toHaveBeenCalledTimes(1);
  });

  it("hands agents' signals to onSignal and sends answers only while connected", () => {
    const t = setup();
    t.conn.start();
    t.last().open();
    // Before welcome nothing goes out: an answer must be live.
    expect(t.conn.sendSignal({ type: "consent", request_id: "r-1", granted: true })).toBe(false);
    expect(t.welcomes).not.toHaveBeenCalled();
    t.last().welcome("tok");
    expect(t.welcomes).toHaveBeenCalledTimes(1);
    const request = { type: "consent_request", request_id: "r-1", kind: "control", agent: { id: "a-1", name: "Alice" } };
    t.last().receive(request);
    expect(t.signals).toHaveBeenCalledWith(request);
    expect(t.conn.sendSignal({ type: "consent", request_id: "r-1", granted: true })).toBe(true);
    expect(t.last().sent[t.last().sent.length - 1]).toEqual({ type: "consent", request_id: "r-1", granted: true });
    // No seq and no ack: the event buffer is untouched and nothing waits for an ack.
    expect(t.buffer.all()).toEqual([]);
    t.last().serverClose(1006);
    expect(t.conn.sendSignal({ type: "revoke", kind: "control", agent_id: "a-1" })).toBe(false);
  });
});
