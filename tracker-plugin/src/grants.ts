/**
 * The grants the page acts on: the server's latest `grants` list, minus the grants the user
 * stopped here and the server has not yet confirmed gone.
 *
 * The server's list is the truth, but it lags: after the user clicks Stop, input already on its
 * way (and a `grants` list sent before the server saw the `revoke`) still arrives. A stopped
 * grant therefore stays off locally until a list without it arrives (the server agrees) or the
 * user grants it again. Pure state, no DOM and no timers.
 */

import type { Grant, GrantKind } from "./protocol";

interface Stopped {
  grant: Grant;
  /** Whether the `revoke` reached the socket; if not, it is sent again with the next list. */
  sent: boolean;
}

const key = (kind: GrantKind, agentId: string): string => `${kind} ${agentId}`;

export class GrantSet {
  private server: Grant[] = [];
  private readonly stopped = new Map<string, Stopped>();

  /**
   * Takes the server's list. Returns the stopped grants it still holds whose `revoke` never left
   * this page (the connection was down): they must be revoked again.
   */
  update(grants: Grant[]): Grant[] {
    this.server = grants;
    const resend: Grant[] = [];
    for (const [k, stopped] of this.stopped) {
      if (!grants.some((g) => key(g.kind, g.agent.id) === k)) {
        this.stopped.delete(k);
      } else if (!stopped.sent) {
        resend.push(stopped.grant);
      }
    }
    return resend;
  }

  /** The user stopped `grant`; `sent` says whether the `revoke` reached the socket. */
  stop(grant: Grant, sent: boolean): void {
    this.stopped.set(key(grant.kind, grant.agent.id), { grant, sent });
  }

  /** The `revoke` of a stopped grant was sent again. */
  revokeSent(grant: Grant): void {
    const stopped = this.stopped.get(key(grant.kind, grant.agent.id));
    if (stopped !== undefined) stopped.sent = true;
  }

  /** The user accepted a new request: an earlier Stop of the same grant no longer applies. */
  accepted(kind: GrantKind, agentId: string): void {
    this.stopped.delete(key(kind, agentId));
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
}
