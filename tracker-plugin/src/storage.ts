/**
 * Web Storage access that never throws. Browsers refuse storage in some contexts (sandboxed
 * iframes, disabled cookies, some private modes): the tracker then keeps its state in memory for
 * the life of the page, and only loses what storage would have carried across a reload.
 */

/** The part of the Web Storage API the tracker uses. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A storage that lives only as long as the page. */
export class MemoryStorage implements StorageLike {
  private readonly items = new Map<string, string>();

  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }

  removeItem(key: string): void {
    this.items.delete(key);
  }

  /** A copy, as a browser copies `sessionStorage` when a tab is duplicated. */
  clone(): MemoryStorage {
    const copy = new MemoryStorage();
    for (const [k, v] of this.items) copy.setItem(k, v);
    return copy;
  }
}

/** `window.localStorage` or `window.sessionStorage` if usable, else an in-memory stand-in. */
export function browserStorage(kind: "localStorage" | "sessionStorage"): StorageLike {
  try {
    const storage = window[kind];
    const probe = "cobrowse.probe";
    storage.setItem(probe, "1");
    storage.removeItem(probe);
    return storage;
  } catch {
    return new MemoryStorage();
  }
}

/** Reads and parses a JSON item; `null` if absent or unreadable. */
export function readJson(storage: StorageLike, key: string): unknown {
  try {
    const text = storage.getItem(key);
    return text === null ? null : (JSON.parse(text) as unknown);
  } catch {
    return null;
  }
}

/** Writes a JSON item; `false` if the storage refused it (quota, disabled). */
export function writeJson(storage: StorageLike, key: string, value: unknown): boolean {
  try {
    storage.setItem(key, JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

export function removeItem(storage: StorageLike, key: string): void {
  try {
    storage.removeItem(key);
  } catch {
    // Nothing to do: the item stays, and is ignored or overwritten later.
  }
}
