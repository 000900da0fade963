import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { Backoff } from "../src/backoff";
import { type DeliveryOptions, type WorkerLike, startDelivery } from "../src/delivery";
import { type WorkerEnv, type WorkerPort, runDeliveryWorker } from "../src/delivery-worker";
import { Identity } from "../src/identity";
import { log } from "../src/log";
import { MemoryStorage } from "../src/storage";
import { type FromWorker, PageCopy, type PageEvent, type ToWorker } from "../src/worker-protocol";
import { FakeSocket } from "./socket";

/** Lets queued messages between the page and the worker arrive (they go as microtasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** What postMessage does to a message: a copy. */
const copy = <T>(message: T): T => structuredClone(message);

/** A page-side Worker with {@link runDeliveryWorker} behind it, talking through microtasks. */
function inMemoryWorker(env: WorkerEnv): WorkerLike & { fail(): void; terminated: boolean } {
  const workerSide: WorkerPort = {
    onmessage: null,
    postMessage: (message: FromWorker) =>
      queueMicrotask(() => {
        if (!page.terminated) page.onmessage?.(new MessageEvent("message", { data: copy(message) }));
      }),
  };
  const page = {
    terminated: false,
    onmessage: null as ((event: MessageEvent<FromWorker>) => void) | null,
    onerror: null as ((event: Event) => void) | null,
    postMessage: (message: ToWorker) =>
      queueMicrotask(() => {
        if (!page.terminated) workerSide.onmessage?.({ data: copy(message) });
      }),
    terminate() {
      page.terminated = true;
    },
    fail() {
      page.onerror?.(new Event("error"));
    },
  };
  runDeliveryWorker(workerSide, env);
  return page;
}

/** A Worker whose script never runs, as under a CSP refusing blob: workers. */
function deadWorker(): WorkerLike & { fail(): void; terminated: boolean } {
  const dead = {
    terminated: false,
    onmessage: null,
    onerror: null as ((event: Event) => void) | null,
    postMessage() {},
    terminate() {
      dead.terminated = true;
    },
    fail() {
      dead.onerror?.(new Event("error"));
    },
  };
  return dead;
}

function setup(options: { tab?: MemoryStorage; local?: MemoryStorage; noWorker?: boolean } = {}) {
  const sockets: FakeSocket[] = [];
  const webSocket = (url: string): FakeSocket => {
    const s = new FakeSocket(url);
    sockets.push(s);
    return s;
  };
  const tab = options.tab ?? new MemoryStorage();
  const local = options.local ?? new MemoryStorage();
  const identity = new Identity({ projectKey: "demo", local, tab });
  const key = `cobrowse.buffer.${identity.tabId}`;
  const backoff = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.5 });
  let worker: ReturnType<typeof inMemoryWorker> | null = null;
  const calls = { snapshots: vi.fn(), signals: vi.fn(), welcomes: vi.fn(), stopped: vi.fn() };
  const deliveryOptions: DeliveryOptions = {
    url: "ws://cobrowse.test/api/v1/track",
    projectKey: "demo",
    identity,
    saved: PageCopy.load(tab, key),
    hello: () => ({ page: { url: "https://shop.test/", user_agent: "test", viewport: { width: 1, height: 1 } }, metadata: {} }),
    takeFullSnapshot: calls.snapshots,
    onSignal: calls.signals,
    onWelcome: calls.welcomes,
    onStopped: calls.stopped,
    webSocket,
    worker: () => {
      // A worker whose script never runs, as under a CSP refusing blob: workers.
      worker = options.noWorker === true ? deadWorker() : inMemoryWorker({ webSocket, backoff });
      return worker;
    },
  };
  const delivery = startDelivery(deliveryOptions);
  const record = (n: number): void => {
    for (let i = 0; i < n; i++) delivery.add("rrweb", JSON.stringify({ type: 3, i }), 1000 + i, false);
  };
  const last = (): FakeSocket => sockets[sockets.length - 1]!;
  /** The worker (or the page) connects, the fake server says welcome. */
  const connect = async (token = "tok-1"): Promise<FakeSocket> => {
    await settle();
    last().open();
    last().welcome(token);
    await settle();
    return last();
  };
  return { delivery, deliveryOptions, identity, tab, local, key, sockets, last, record, connect, calls, worker: () => worker };
}

describe("delivery from a worker", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends the page's events from the worker with the page's hello, and trims the page's copy on ack", async () => {
    const t = setup();
    t.delivery.start();
    t.record(3);
    expect(t.delivery.kind).toBe("worker");
    const ws = await t.connect();
    expect(ws.sent[0]).toMatchObject({ type: "hello", tab: t.identity.tabId, page: { url: "https://shop.test/" } });
    expect(ws.sent[0]).not.toHaveProperty("session_token");
    expect(ws.batches()).toEqual([[1, 2, 3]]);
    expect(t.identity.sessionToken()).toBe("tok-1"); // the worker's token reached the page's storage
    expect(t.calls.welcomes).toHaveBeenCalledTimes(1);
    const data = (ws.sent[1]!["events"] as { data: Uint8Array }[])[0]!.data;
    expect(JSON.parse(new TextDecoder().decode(data))).toEqual({ type: 3, i: 0 });

    ws.receive({ type: "ack", seq: 2 });
    await settle();
    t.delivery.save(t.tab, t.key);
    expect(PageCopy.load(t.tab, t.key).all().map((e) => e.seq)).toEqual([3]);
    ws.receive({ type: "ack", seq: 3 });
    await settle();
    t.delivery.save(t.tab, t.key);
    expect(t.tab.getItem(t.key)).toBeNull();
  });

  it("saves on pagehide what the worker has not seen acknowledged, and the tab's next page resends it once", async () => {
    const t = setup();
    t.delivery.start();
    const ws = await t.connect();
    t.record(4);
    await settle();
    ws.receive({ type: "ack", seq: 1 });
    await settle();
    t.record(1); // on its way to the worker when the page goes
    // pagehide: no time for a round trip to the worker; what it has not seen acknowledged is saved.
    t.delivery.save(t.tab, t.key);
    t.identity.release();

    const next = setup({ tab: t.tab, local: t.local });
    expect(next.identity.tabId).toBe(t.identity.tabId);
    next.delivery.start();
    const ws2 = await next.connect("tok-2");
    expect(ws2.sent[0]).toMatchObject({ type: "hello", session_token: "tok-1" });
    expect(ws2.batches()).toEqual([[2, 3, 4, 5]]);
    next.record(1);
    await settle();
    ws2.receive({ type: "ack", seq: 5 });
    await settle();
    expect(ws2.batches()).toEqual([[2, 3, 4, 5], [6]]);
  });

  it("resends after a reconnect what was not acknowledged, with no duplicates in the page's copy", async () => {
    const t = setup();
    t.delivery.start();
    const ws = await t.connect();
    t.record(3);
    await settle();
    ws.receive({ type: "ack", seq: 1 });
    await settle();
    ws.serverClose(1011);
    vi.advanceTimersByTime(100);
    const ws2 = await t.connect("tok-1");
    expect(ws2.sent[0]).toMatchObject({ type: "hello", session_token: "tok-1" });
    expect(ws2.batches()).toEqual([[2, 3]]);
    ws2.receive({ type: "ack", seq: 3 });
    await settle();
    t.delivery.save(t.tab, t.key);
    expect(t.tab.getItem(t.key)).toBeNull();
  });

  it("forwards agents' signals and resyncs to the page, and sends the page's answers", async () => {
    const t = setup();
    t.delivery.start();
    expect(t.delivery.sendSignal({ type: "revoke", kind: "control", agent_id: "a-1" })).toBe(false); // not connected yet
    const ws = await t.connect();
    ws.receive({ type: "consent_request", request_id: "r-1", kind: "control", agent: { id: "a-1", name: "Ann" } });
    ws.receive({ type: "resync" });
    await settle();
    expect(t.calls.signals).toHaveBeenCalledWith(expect.objectContaining({ type: "consent_request", request_id: "r-1" }));
    expect(t.calls.snapshots).toHaveBeenCalledTimes(1);
    expect(t.delivery.sendSignal({ type: "consent", request_id: "r-1", granted: true })).toBe(true);
    await settle();
    expect(ws.sent.find((m) => m["type"] === "consent")).toMatchObject({ request_id: "r-1", granted: true });
    ws.serverClose(1006);
    await settle();
    expect(t.delivery.sendSignal({ type: "revoke", kind: "control", agent_id: "a-1" })).toBe(false);
  });

  it("starts a new session when the old one ended: the token and the old events are forgotten", async () => {
    const t = setup();
    t.delivery.start();
    const ws = await t.connect();
    t.record(2);
    await settle();
    ws.serverClose(4010, "session ended");
    await settle();
    expect(t.identity.sessionToken()).toBeUndefined();
    expect(t.calls.snapshots).toHaveBeenCalledTimes(1);
    t.delivery.save(t.tab, t.key);
    expect(t.tab.getItem(t.key)).toBeNull();
  });

  it("ends the session once everything is sent, and tells the page it stopped", async () => {
    const t = setup();
    t.delivery.start();
    const ws = await t.connect();
    t.record(2);
    t.delivery.end("done");
    await settle();
    ws.receive({ type: "ack", seq: 2 });
    await settle();
    expect(ws.sent.find((m) => m["type"] === "end")).toMatchObject({ reason: "done" });
    ws.serverClose(1000);
    await settle();
    expect(t.calls.stopped).toHaveBeenCalledTimes(1);
    expect(t.identity.sessionToken()).toBeUndefined();
  });

  it("drops an event over the server's limit in the worker and lets the page's copy go of it", async () => {
    const t = setup();
    t.delivery.start();
    await settle();
    t.last().open();
    t.last().receive({
      type: "welcome", session_id: new Uint8Array(16), session_token: "t", tab: "t", resumed: false,
      limits: { max_frame_bytes: 1000, max_event_bytes: 100, events_per_sec: 500, bytes_per_sec: 4194304 },
    });
    await settle();
    expect(t.delivery.limits.max_event_bytes).toBe(100);
    const warn = vi.spyOn(log, "warn").mockImplementation(() => {});
    // 99 characters, but over 100 bytes in UTF-8.
    t.delivery.add("rrweb", JSON.stringify("é".repeat(97)), 1, false);
    await settle();
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
    t.delivery.save(t.tab, t.key);
    expect(t.tab.getItem(t.key)).toBeNull();
  });
});

describe("delivery where no worker runs", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends from the page when the worker never runs, losing nothing recorded meanwhile", async () => {
    const t = setup({ noWorker: true });
    t.delivery.start();
    t.record(3);
    expect(t.delivery.kind).toBe("worker");
    expect(t.sockets).toHaveLength(0);
    // A CSP refusing blob: workers reports it as an error event on the Worker.
    t.worker()!.fail();
    expect(t.delivery.kind).toBe("main");
    const ws = t.last();
    ws.open();
    ws.welcome("tok-1");
    expect(ws.batches()).toEqual([[1, 2, 3]]);
    expect(t.identity.sessionToken()).toBe("tok-1");
  });

  it("falls back to the main thread from the page's copy, and ends the session it was asked to end", async () => {
    const t = setup();
    t.delivery.start();
    t.record(3);
    await settle();
    t.worker()!.fail();
    expect(t.delivery.kind).toBe("main");
    expect(t.worker()!.terminated).toBe(true);
    t.record(1);
    t.delivery.end("bye");
    // The worker had not connected yet (its socket waits for open); the page connects its own.
    expect(t.sockets).toHaveLength(2);
    const ws = t.last();
    ws.open();
    ws.welcome("tok-1");
    expect(ws.batches().flat()).toEqual([1, 2, 3, 4]);
    ws.receive({ type: "ack", seq: 4 });
    expect(ws.sent.find((m) => m["type"] === "end")).toMatchObject({ reason: "bye" });
  });

  it("uses the main thread from the start when workers are off", async () => {
    const t = setup();
    const main = startDelivery({ ...t.deliveryOptions, worker: false });
    expect(main.kind).toBe("main");
  });
});

describe("the page's copy of unacknowledged events", () => {
  const event = (seq: number, keep = false): PageEvent => ({ seq, ts: seq, kind: "rrweb", json: `{"n":${seq}}`, keep });
  const seqs = (c: PageCopy): number[] => c.all().map((e) => e.seq);

  it("follows acks, removals, bound drops and clears up to the seq the worker had seen", () => {
    const c = new PageCopy();
    for (let s = 1; s <= 6; s++) c.push(event(s));
    c.apply({ type: "acked", seq: 2 });
    expect(seqs(c)).toEqual([3, 4, 5, 6]);
    c.apply({ type: "removed", seq: 4 });
    expect(seqs(c)).toEqual([3, 5, 6]);
    // The worker had seen up to 5 when its bound kept only 5; 6 was still on its way.
    c.apply({ type: "kept", seqs: [5], through: 5 });
    expect(seqs(c)).toEqual([5, 6]);
    expect(c.snapshotNeeded).toBe(true);
    c.apply({ type: "snapshot" });
    expect(c.snapshotNeeded).toBe(false);
    c.push(event(7));
    c.apply({ type: "cleared", through: 6 });
    expect(seqs(c)).toEqual([7]);
    c.apply({
      type: "welcome",
      limits: { max_frame_bytes: 1, max_event_bytes: 1, events_per_sec: 1, bytes_per_sec: 1 },
      welcome: { sessionId: "s", resumed: false },
      helpCodes: true,
    });
    expect(seqs(c)).toEqual([7]);
  });

  it("saves in the buffer's saved form, so a page sending from the main thread loads it too", () => {
    const storage = new MemoryStorage();
    const c = new PageCopy();
    c.push(event(1, true));
    c.push(event(2));
    c.save(storage, "k");
    const saved = JSON.parse(storage.getItem("k")!);
    expect(saved).toEqual({
      v: 1,
      snapshotNeeded: false,
      events: [
        { s: 1, t: 1, k: "rrweb", d: '{"n":1}', p: 1 },
        { s: 2, t: 2, k: "rrweb", d: '{"n":2}' },
      ],
    });
    const loaded = PageCopy.load(storage, "k");
    expect(loaded.all()).toEqual([event(1, true), event(2)]);
    expect(storage.getItem("k")).toBeNull();
  });
});
