import { describe, expect, it, vi } from "vitest";

import { Identity, SESSION_IDLE_MS } from "../src/identity";
import { MemoryStorage } from "../src/storage";

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("identity", () => {
  it("keeps a session token until 30 minutes without activity", () => {
    const c = clock();
    const local = new MemoryStorage();
    const id = new Identity({ projectKey: "demo", local, tab: new MemoryStorage(), now: c.now });
    expect(id.sessionToken()).toBeUndefined();
    id.storeToken("tok-1");
    expect(id.sessionToken()).toBe("tok-1");

    c.advance(SESSION_IDLE_MS - 1000);
    expect(id.sessionToken()).toBe("tok-1");
    id.touch(); // activity extends it
    c.advance(SESSION_IDLE_MS - 1000);
    expect(id.sessionToken()).toBe("tok-1");

    c.advance(2000 + 1);
    expect(id.sessionToken()).toBeUndefined();
    id.touch(); // activity does not revive an expired session
    expect(id.sessionToken()).toBeUndefined();
  });

  it("shares the session token between tabs, with one tab id per tab", () => {
    const local = new MemoryStorage();
    const a = new Identity({ projectKey: "demo", local, tab: new MemoryStorage() });
    const b = new Identity({ projectKey: "demo", local, tab: new MemoryStorage() });
    expect(a.tabId).not.toBe(b.tabId);
    expect(a.tabId).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    a.storeToken("tok-a");
    expect(b.sessionToken()).toBe("tok-a");
    // Another project key is another session.
    expect(new Identity({ projectKey: "other", local, tab: new MemoryStorage() }).sessionToken()).toBeUndefined();
  });

  it("keeps the tab id across a reload and gives a duplicated tab its own", () => {
    const local = new MemoryStorage();
    const tab = new MemoryStorage();
    const first = new Identity({ projectKey: "demo", local, tab });
    // Duplicating the tab copies its sessionStorage while the page holds the id.
    const duplicate = new Identity({ projectKey: "demo", local, tab: tab.clone() });
    expect(duplicate.tabId).not.toBe(first.tabId);

    first.release(); // pagehide
    const reloaded = new Identity({ projectKey: "demo", local, tab });
    expect(reloaded.tabId).toBe(first.tabId);
  });

  it("keeps seq strictly increasing and contiguous across reloads", () => {
    const local = new MemoryStorage();
    const tab = new MemoryStorage();
    const page1 = new Identity({ projectKey: "demo", local, tab });
    const used = [page1.nextSeq(), page1.nextSeq(), page1.nextSeq()];
    expect(used).toEqual([1, 2, 3]);
    for (let i = 0; i < 600; i++) used.push(page1.nextSeq());
    expect(used.every((s, i) => s === i + 1)).toBe(true);
    page1.release();

    const page2 = new Identity({ projectKey: "demo", local, tab });
    expect(page2.tabId).toBe(page1.tabId);
    expect(page2.nextSeq()).toBe(604);
    expect(page2.nextSeq()).toBe(605);

    // A page that dies without pagehide still never reuses a seq (and its tab gets a new id).
    const page3 = new Identity({ projectKey: "demo", local, tab });
    expect(page3.tabId).not.toBe(page2.tabId);
  });

  it("writes the tab's sequence to storage once, when the page hands the tab id back", () => {
    const tab = new MemoryStorage();
    const writes = vi.spyOn(tab, "setItem");
    const page = new Identity({ projectKey: "demo", local: new MemoryStorage(), tab });
    for (let i = 0; i < 100; i++) page.nextSeq();
    expect(writes).not.toHaveBeenCalled();
    page.release();
    expect(writes.mock.calls.map(([key]) => key).sort()).toEqual(["cobrowse.tab", `cobrowse.seq.${page.tabId}`].sort());
  });

  it("continues above seqs used by another page after coming back from the bfcache", () => {
    const local = new MemoryStorage();
    const tab = new MemoryStorage();
    const a = new Identity({ projectKey: "demo", local, tab });
    a.nextSeq();
    a.release(); // a goes into the bfcache
    const b = new Identity({ projectKey: "demo", local, tab });
    const usedByB = Array.from({ length: 300 }, () => b.nextSeq());
    b.release(); // back button: b hides, a is restored
    a.reclaim();
    expect(a.nextSeq()).toBe(Math.max(...usedByB) + 1);
  });

  it("forgets only the token it was given", () => {
    const local = new MemoryStorage();
    const a = new Identity({ projectKey: "demo", local, tab: new MemoryStorage() });
    a.storeToken("old");
    a.forgetToken("old");
    expect(a.sessionToken()).toBeUndefined();
    a.storeToken("new-from-another-tab");
    a.forgetToken("old");
    expect(a.sessionToken()).toBe("new-from-another-tab");
  });
});
