// Following one session live: its WebSocket, its tabs, one live player per tab, the console
// output and the network requests as they arrive, and the agents' side of it (who watches, who may control or draw, the
// activity trail). The session view and each grid cell own one of these; they differ only in the
// chrome they draw around it.

import { ActivityLog } from "./activity";
import { parseAgentRecord } from "./agent-records";
import type { Api, ActivityItem } from "./api";
import { ConsentState } from "./consent";
import { consoleEntryOf, isError, type ConsoleEntry } from "./console-log";
import { LiveFeed, type ConnectionStatus } from "./feed";
import { networkRequestOf, type NetworkRequest } from "./network-log";
import { LiveTabPlayer } from "./player";
import { tryEventJson, type AgentRef, type AgentRequest, type CallMessage, type DeliveredEvent } from "./protocol";
import { EventType, isRrwebEvent, type RrwebEvent } from "./rrweb-events";
import { StoredState, storedStart } from "./stored-start";
import { TabTracker, tabOfEvent } from "./tabs";
import { ClockEstimator } from "./timeline";

/** Console entries kept per tab; older ones are dropped. */
const MAX_CONSOLE_PER_TAB = 2000;
/** Network requests kept per tab; older ones are dropped. */
const MAX_NETWORK_PER_TAB = 2000;
/** How long a tab may go without a snapshot before its recorded events are fetched instead. */
const BACKFILL_AFTER_MS = 3000;
/** Events of a tab without a snapshot kept for after a backfill. */
const MAX_PENDING = 5000;

export interface LiveSessionOptions {
  api: Api;
  sessionId: string;
  /** Where the per-tab players go (stacked; only the watched one is shown). */
  stage: HTMLElement;
  /** Tabs the session summary named, so they show before their first event. */
  knownTabs: readonly string[];
  /** An `id` to give the shown player's element (the session view uses `live-view`). */
  shownId?: string;
  /**
   * `agent` records from before this view joined (the summary's `activity`): the live feed starts
   * shortly before "now", so without them the activity list would start (nearly) empty. Without
   * them, the agent records the feed catches up on are not shown either.
   */
  history?: readonly ActivityItem[];
  /** Something changed: status, tabs, the active tab, console entries, agents. */
  onChange: () => void;
  /** The server's call signalling for this agent (the session view's call); ignored without. */
  onCall?: (message: CallMessage) => void;
  /** A `recording` record arrived (a recording started or stopped): the list may have changed. */
  onRecording?: () => void;
}

export class LiveSession {
  readonly tracker = new TabTracker();
  readonly clock = new ClockEstimator();
  status: ConnectionStatus = "connecting";
  statusDetail = "connecting…";
  /** When the session ended (server time), once its `end` record arrived. */
  endedMs: number | null = null;
  readonly consent = new ConsentState();
  readonly activity = new ActivityLog();
  /** This connection's agent (null until the server said; a new one after each reconnect). */
  self: AgentRef | null = null;
  /** The server's last complaint about a frame this agent sent, and when (agent time). */
  lastServerError: { text: string; at: number; refused?: boolean } | null = null;
  private readonly consoleByTab = new Map<string, ConsoleEntry[]>();
  private readonly networkByTab = new Map<string, NetworkRequest[]>();
  private readonly players = new Map<string, LiveTabPlayer>();
  private pinned: string | null = null;
  private readonly feed: LiveFeed;
  /** Events of tabs whose player has no page yet, and when the first of them arrived. */
  private readonly pending = new Map<string, { since: number; events: RrwebEvent[] }>();
  private readonly backfilling = new Set<string>();
  private readonly backfillTimer: ReturnType<typeof setInterval>;
  private closed = false;
  /** Stops the backfill downloads still running when the view closes. */
  private readonly downloads = new AbortController();
  /**
   * While the feed catches up on stored events (until its first `caught_up`): each tab's events
   * from its latest full snapshot, shown all at once when the catch-up ends.
   */
  private stored: StoredState | null;
  /** Catch-up `agent` records up to this time are already in `history`. */
  private readonly historyEnd: number;

  constructor(private readonly opts: LiveSessionOptions) {
    this.tracker.addKnown(opts.knownTabs);
    for (const item of opts.history ?? []) this.observeAgentRecord(item.ts, item.record);
    this.historyEnd = opts.history ? opts.history.reduce((end, i) => Math.max(end, i.ts), -Infinity) : Infinity;
    this.stored = new StoredState(new Set(opts.knownTabs));
    // The feed starts a little in the past, at a full snapshot of every tab (stored-start.ts):
    // each player shows the stored page as soon as the catch-up ends. Joining also makes the
    // server ask the user's tabs for a fresh snapshot, which follows within a moment and
    // replaces the stored page in place (from then on the player is live as before).
    this.feed = new LiveFeed(opts.api, opts.sessionId, storedStart(Date.now(), opts.history), {
      onEvents: (events, receivedAt) => this.handle(events, receivedAt),
      onCaughtUp: () => this.showStored(),
      onStatus: (status, detail) => {
        this.status = status;
        this.statusDetail = detail;
        opts.onChange();
      },
      onJoined: (agent) => {
        this.self = agent;
        opts.onChange();
      },
      onServerError: (error, message) => {
        this.lastServerError = { text: message || error, at: Date.now(), refused: error === "forbidden" };
        opts.onChange();
      },
      onCall: (message) => opts.onCall?.(message),
    });
    this.backfillTimer = setInterval(() => this.backfillStalledTabs(), 1000);
  }

  /** The tab on screen: the one the agent picked, else the user's active tab. */
  get watched(): string | null {
    return this.pinned ?? this.tracker.active ?? this.tracker.list()[0]?.id ?? null;
  }

  /** Whether the view follows the user's active tab (the agent picked none). */
  get following(): boolean {
    return this.pinned === null;
  }

  /** Watch `tab`, or follow the user's active tab with `null`. */
  watch(tab: string | null): void {
    this.pinned = tab;
    this.layout();
    this.opts.onChange();
  }

  /** Whether `tab`'s page has arrived and is on its player. */
  isReady(tab: string | null): boolean {
    return tab !== null && (this.players.get(tab)?.ready ?? false);
  }

  /** The live player of `tab`, once one of its events arrived. */
  playerOf(tab: string | null): LiveTabPlayer | null {
    return (tab !== null && this.players.get(tab)) || null;
  }

  /** Sends `request` on the live socket; false when it is not open (see `LiveFeed.send`). */
  send(request: AgentRequest): boolean {
    const sent = this.feed.send(request);
    // The answer may be a `dropped` record that does not name the kind (consent.ts).
    if (sent && request.type === "request" && this.self !== null) this.consent.asked(this.self.id, request.kind);
    return sent;
  }

  private observeAgentRecord(ts: number, json: unknown, fresh = false): void {
    const record = parseAgentRecord(json);
    if (record === null) return;
    this.consent.observe(record);
    this.activity.add(ts, record);
    if (fresh && record.action === "recording") this.opts.onRecording?.();
  }

  /** Console entries of `tab`, oldest first. */
  consoleOf(tab: string | null): ConsoleEntry[] {
    return (tab !== null && this.consoleByTab.get(tab)) || [];
  }

  /** Network requests of `tab`, in the order they ended. */
  networkOf(tab: string | null): NetworkRequest[] {
    return (tab !== null && this.networkByTab.get(tab)) || [];
  }

  private handle(events: DeliveredEvent[], receivedAt: number): void {
    const stored = this.stored;
    for (const event of events) {
      const json = tryEventJson(event);
      this.clock.observe(event, receivedAt);
      if (stored !== null) {
        // Catching up: leave out tabs closed before the view opened, and agent records the
        // summary's history already had.
        const of = tabOfEvent(event, json);
        if (of !== null && !stored.wants(of)) continue;
        if (event.kind === "agent" && event.ts <= this.historyEnd) continue;
      }
      const tab = this.tracker.observe(event, json);
      if (event.kind === "end") {
        const ended = (json as { ended_ms?: unknown } | undefined)?.ended_ms;
        this.endedMs = typeof ended === "number" ? ended : event.ts;
        this.consent.sessionEnded();
      }
      if (event.kind === "agent") this.observeAgentRecord(event.ts, json, true);
      if (event.kind !== "rrweb" || tab === null || !isRrwebEvent(json)) continue;
      if (stored !== null) stored.add(tab, json);
      else this.play(tab, json, receivedAt);
      const entry = consoleEntryOf(json, tab);
      if (entry) {
        let list = this.consoleByTab.get(tab);
        if (!list) this.consoleByTab.set(tab, (list = []));
        list.push(entry);
        if (list.length > MAX_CONSOLE_PER_TAB) list.splice(0, list.length - MAX_CONSOLE_PER_TAB);
        if (isError(entry)) this.tracker.countError(tab);
      }
      const request = networkRequestOf(json, tab);
      if (request) {
        let list = this.networkByTab.get(tab);
        if (!list) this.networkByTab.set(tab, (list = []));
        list.push(request);
        if (list.length > MAX_NETWORK_PER_TAB) list.splice(0, list.length - MAX_NETWORK_PER_TAB);
      }
    }
    // A catch-up that reaches the session's end gets no `caught_up`.
    if (this.endedMs !== null) this.showStored();
    this.layout();
    this.opts.onChange();
  }

  /**
   * The catch-up ended: each tab's stored page goes on its player at once (rrweb applies the
   * snapshot and what followed it in one frame), and events go straight to the players from now.
   */
  private showStored(): void {
    const stored = this.stored;
    if (stored === null) return;
    this.stored = null;
    const now = Date.now();
    for (const [tab, events] of stored.take()) for (const event of events) this.play(tab, event, now);
    this.layout();
    this.opts.onChange();
  }

  /** Hands one event of `tab` to its player (made on its first event). */
  private play(tab: string, event: RrwebEvent, receivedAt: number): void {
    let player = this.players.get(tab);
    if (!player) {
      player = new LiveTabPlayer(this.opts.stage, tab);
      this.players.set(tab, player);
    }
    player.add(event);
    if (!player.ready) this.hold(tab, event, receivedAt);
  }

  private hold(tab: string, event: RrwebEvent, receivedAt: number): void {
    let p = this.pending.get(tab);
    if (!p) this.pending.set(tab, (p = { since: receivedAt, events: [] }));
    if (p.events.length < MAX_PENDING) p.events.push(event);
  }

  /**
   * The server asks every tab for a fresh snapshot when an agent joins; a tab that does not send
   * one (an older tracker, a tab asleep in the background) would leave its player empty. After a
   * few seconds, build it from the tab's recorded events instead: from its last Meta event on,
   * then the live events held meanwhile that are newer.
   */
  private backfillStalledTabs(): void {
    const now = Date.now();
    for (const [tab, p] of this.pending) {
      if (this.isReady(tab)) {
        this.pending.delete(tab);
        continue;
      }
      if (now - p.since < BACKFILL_AFTER_MS || this.backfilling.has(tab)) continue;
      this.backfilling.add(tab);
      this.opts.api.events(this.opts.sessionId, tab, this.downloads.signal).then(
        (events) => {
          if (this.closed) return;
          const player = this.players.get(tab);
          if (!player || player.ready) return;
          let start = -1;
          for (let i = events.length - 1; i >= 0; i--) {
            if (events[i]!.type === EventType.Meta) {
              start = i;
              break;
            }
          }
          if (start < 0) return;
          let last = -Infinity;
          for (const e of events.slice(start)) {
            player.add(e);
            last = Math.max(last, e.timestamp);
          }
          for (const e of this.pending.get(tab)?.events ?? []) if (e.timestamp > last) player.add(e);
          this.pending.delete(tab);
          this.opts.onChange();
        },
        () => {},
      ).finally(() => {
        this.backfilling.delete(tab);
        // Try again later if that did not help.
        const p = this.pending.get(tab);
        if (p) p.since = Date.now();
      });
    }
  }

  /** Shows the watched tab's player, hides the others (hidden players keep rendering). */
  private layout(): void {
    const watched = this.watched;
    for (const [tab, player] of this.players) {
      const shown = tab === watched;
      player.view.el.classList.toggle("shown", shown);
      if (this.opts.shownId) {
        if (shown) player.view.el.id = this.opts.shownId;
        else if (player.view.el.id === this.opts.shownId) player.view.el.removeAttribute("id");
      }
    }
  }

  close(): void {
    this.closed = true;
    this.downloads.abort();
    clearInterval(this.backfillTimer);
    this.feed.close();
    for (const player of this.players.values()) player.destroy();
    this.players.clear();
  }
}
