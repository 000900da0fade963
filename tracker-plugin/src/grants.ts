/**
 * The grants the page acts on: the server's latest `grants` list, minus the grants the user
 * stopped in this tab and the server has not yet confirmed gone.
 *
 * The server's list is the truth, but it lags: after the user clicks Stop, input already on its
 * way (and a `grants` list sent before the server saw the `revoke`) still arrives. And a `revoke`
 * the socket accepted may never arrive: the connection drops, or the page navigates away. So a
 * stopped grant stays off until a list without it arrives (the server agrees) or the user accepts
 * a new request of the same kind from the same agent, and until then:
 *
 * - it is kept in the tab's storage (`sessionStorage`), so the tab's next page keeps it off too;
 * - every new connection counts as not having seen its `revoke`: {@link GrantSet.connected}
 *   hands it back to be revoked again after each `welcome`, and {@link GrantSet.update} hands
 *   back those whose `revoke` could not be sent on the current connection.
 *
 * Pure state over an injected storage; no DOM and no timers.
 */

import type { Grant, GrantKind } from "./protocol";
import { type StorageLike, MemoryStorage, readJson, removeItem, writeJson } from "./storage";

/** A grant the user stopped: what a `revoke` names. */
export interface StoppedGrant {
  kind: GrantKind;
  agent_id: string;
}

/** Where the tab's stopped grants are kept (copied with the tab's `sessionStorage`). */
export const STOPPED_GRANTS_KEY = "cobrowse.stopped-grants";
/** More stopped grants than this are not kept (a tab never has that many agents). */
const MAX_STOPPED = 64;

const key = (kind: GrantKind, agentId: string): string => `${kind} ${agentId}`;

export class GrantSet {
  private readonly storage: StorageLike;
  private server: Grant[] = [];
  /** Stopped grants, by kind and agent id, with whether their `revoke` went out on this connection. */
  private readonly stopped = new Map<string, { grant: StoppedGrant; sent: boolean }>();

  /** Picks up the grants the tab's earlier pages stopped, from `storage`. */
  constructor(storage: StorageLike = new MemoryStorage()) {
    this.storage = storage;
    for (const grant of loadStopped(storage)) {
      this.stopped.set(key(grant.kind, grant.agent_id), { grant, sent: false });
    }
  }

  /**
   * A new connection is open (`welcome`): no `revoke` sent before is known to have arrived.
   * Returns every stopped grant, to be revoked again now.
   */
  connected(): StoppedGrant[] {
    for (const stopped of this.stopped.values()) stopped.sent = false;
    return this.pendingRevokes();
  }

  /**
   * Takes the server's list. A stopped grant it no longer holds is settled. Returns the stopped
   * grants it still holds whose `revoke` has not gone out on this connection: they must be
   * revoked (again).
   */
  update(grants: Grant[]): StoppedGrant[] {
    this.server = grants;
    let settled = false;
    for (const k of [...this.stopped.keys()]) {
      if (!grants.some((g) => key(g.kind, g.agent.id) === k)) {
        this.stopped.delete(k);
        settled = true;
      }
    }
    if (settled) this.save();
    return this.pendingRevokes();
  }

  /** The user stopped `grant`; `sent` says whether the `revoke` reached the socket. */
  stop(grant: Grant, sent: boolean): void {
    const stopped: StoppedGrant = { kind: grant.kind, agent_id: grant.agent.id };
    this.stopped.set(key(grant.kind, grant.agent.id), { grant: stopped, sent });
    this.save();
  }

  /** The `revoke` of a stopped grant went out on this connection. */
  revokeSent(grant: StoppedGrant): void {
    const stopped = this.stopped.get(key(grant.kind, grant.agent_id));
    if (stopped !== undefined) stopped.sent = true;
  }

  /**
   * The user accepted a new request and the answer went out: an earlier Stop of the same grant
   * no longer applies.
   */
  accepted(kind: GrantKind, agentId: string): void {
    if (this.stopped.delete(key(kind, agentId))) this.save();
  }

  /** Whether the page may act for `agentId` under a `kind` grant now. */
  allows(kind: GrantKind, agentId: string): boolean {
    return this.active().some((g) => g.kind === kind && g.agent.id === agentId);
  }

  /** The grants in force: the server's, minus the ones stopped here. */
  active(): Grant[] {
    return this.server.filter((g) => !this.stopped.has(key(g.kind, g.agent.id)));
  }

  /** The name of an agent the server's list names, if it does. */
  agentName(agentId: string): string | undefined {
    return this.server.find((g) => g.agent.id === agentId)?.agent.name;
  }

  private pendingRevokes(): StoppedGrant[] {
    return [...this.stopped.values()].filter((s) => !s.sent).map((s) => s.grant);
  }

  private save(): void {
    if (this.stopped.size === 0) {
      removeItem(this.storage, STOPPED_GRANTS_KEY);
      return;
    }
    const list = [...this.stopped.values()].map((s) => s.grant).slice(-MAX_STOPPED);
    // If the storage refuses, the Stop still holds for the life of this page.
    writeJson(this.storage, STOPPED_GRANTS_KEY, list);
  }
}

/** The stopped grants kept in `storage`; entries that are not well-formed are skipped. */
function loadStopped(storage: StorageLike): StoppedGrant[] {
  const value = readJson(storage, STOPPED_GRANTS_KEY);
  if (!Array.isArray(value)) return [];
  const out: StoppedGrant[] = [];
  for (const item of value.slice(-MAX_STOPPED) as unknown[]) {
    if (typeof item !== "object" || item === null) continue;
    const { kind, agent_id } = item as Record<string, unknown>;
    if (isGrantKind(kind) && typeof agent_id === "string" && agent_id !== "") {
      out.push({ kind, agent_id });
    }
  }
  return out;
}

function isGrantKind(value: unknown): value is GrantKind {
  return value === "control" || value === "annotate" || value === "call" || value === "record";
}
