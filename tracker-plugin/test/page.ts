// Helpers for tests of the tracker's page UI: it lives in the open shadow root of one host.
import { PageSignals, type PageSignalsOptions } from "../src/signals";
import type { Grant, PageSignal, TrackerSignal } from "../src/protocol";

export const alice = { id: "a-1", name: "Alice" };
export const bob = { id: "b-2", name: "Bob" };
export const TAB = "t-1";

/** The shadow root of the tracker's UI host, if it is on the page. */
export function uiRoot(): ShadowRoot | null {
  return document.querySelector("cobrowse-ui")?.shadowRoot ?? null;
}

/** The first element of the tracker's UI with `data-cobrowse="<name>"` (and more selector). */
export function find(name: string, more = ""): HTMLElement | null {
  return uiRoot()?.querySelector<HTMLElement>(`[data-cobrowse="${name}"]${more}`) ?? null;
}

export function findAll(name: string): HTMLElement[] {
  return Array.from(uiRoot()?.querySelectorAll<HTMLElement>(`[data-cobrowse="${name}"]`) ?? []);
}

/**
 * PageSignals with a recording `send` (connected unless `online.value` is false) and node ids
 * given by `register`.
 */
export function setupSignals(extra: Partial<PageSignalsOptions> = {}) {
  const sent: TrackerSignal[] = [];
  const online = { value: true };
  const nodes = new Map<number, Node>();
  const signals = new PageSignals({
    tabId: TAB,
    send: (signal) => {
      if (!online.value) return false;
      sent.push(signal);
      return true;
    },
    nodeById: (id) => nodes.get(id) ?? null,
    ...extra,
  });
  let nextId = 1;
  const register = (node: Node): number => {
    const id = nextId++;
    nodes.set(id, node);
    return id;
  };
  const receive = (signal: PageSignal): void => signals.receive(signal);
  const grant = (...grants: Grant[]): void => receive({ type: "grants", grants });
  return { sent, online, signals, register, receive, grant };
}
