/**
 * Where agents' signals reach the page: routes what the connection hands over (§9.3, §10.3) to
 * the consent prompts, the control executor, the annotation overlay and the call, and sends
 * their answers back.
 *
 * Every control input and stroke is checked here, right before it is performed: it must name
 * this tab, and the grants as the page holds them (the server's list, minus what the user
 * stopped and the server has not yet confirmed gone) must hold a grant of the right kind for the
 * agent that sent it. The server checks too; the page does not rely on it. When a grant ends, the
 * agent's cursor or strokes go with it, and the call learns of every change of the grants (it
 * opens the microphone only under a `call` grant).
 */

import { AgentCursor } from "./agent-cursor";
import { AnnotationOverlay } from "./annotations";
import { Call, type CallEnv } from "./call";
import type { CanvasPolicy } from "./canvas-consent";
import { Consent } from "./consent";
import { ControlExecutor } from "./control";
import type { ConsentRequestHandler } from "./custom-prompt";
import type { Labels } from "./labels";
import { log } from "./log";
import { PageUi } from "./page-ui";
import type { Watching } from "./page-events";
import type { ControlMessage, Grant, PageSignal, StrokeMessage, TrackerSignal } from "./protocol";
import type { StorageLike } from "./storage";
import { type ViewMode, WatchIndicator } from "./watch-indicator";

export interface PageSignalsOptions {
  /** This tracker's tab id: input and strokes for other tabs are not performed here. */
  tabId: string;
  /** Sends a signal on the live connection; says whether it went out. */
  send: (signal: TrackerSignal) => boolean;
  /** The page node of an rrweb id (`record.mirror.getNode`). */
  nodeById: (id: number) => Node | null;
  /**
   * The rrweb id of a `<canvas>` the page may stream to agents as video, or undefined (blocked,
   * or not recorded yet). Without it no canvas is streamed.
   */
  canvasId?: (canvas: HTMLCanvasElement) => number | undefined;
  /** The site's `start({ canvas })`: whether canvases stream, and whether the user is asked first. */
  canvas?: CanvasPolicy;
  /**
   * The tab's storage (`sessionStorage`): grants the user stopped stay stopped on the tab's next
   * page, and the tab in a call joins it again.
   */
  storage?: StorageLike;
  /**
   * The site's `start({ view })`: whether the page names the agents who watch (`notify`), until
   * the server's `welcome` says the session's mode.
   */
  view?: ViewMode;
  /** The browser's media and WebRTC (tests give fakes). */
  callEnv?: Partial<CallEnv>;
  /** The texts the page shows (labels.ts); English by default. */
  labels?: Labels;
  /** The site's CSP nonce for the tracker's `<style>` elements (page-ui.ts). */
  nonce?: string;
  /** The site's `onConsentRequest` (custom-prompt.ts). */
  onConsentRequest?: ConsentRequestHandler;
  /** The grants in force changed (for the site's callbacks, page-events.ts). */
  onGrants?: (grants: Grant[]) => void;
  /** A `watching` message arrived (for the site's callbacks, page-events.ts). */
  onWatching?: (watching: Watching) => void;
  doc?: Document;
  win?: Window;
}

/**
 * The id of the page's own canvas prompt among the prompts. The server's request ids are UUIDs,
 * so it cannot meet one; the `canvas` message does not say which agent asked.
 */
const CANVAS_PROMPT_ID = "cobrowse-canvas";

export class PageSignals {
  private readonly tabId: string;
  private readonly send: (signal: TrackerSignal) => boolean;
  private readonly ui: PageUi;
  private readonly consent: Consent;
  private readonly cursor: AgentCursor;
  private readonly executor: ControlExecutor;
  private readonly overlay: AnnotationOverlay;
  private readonly call: Call;
  private readonly onGrants: (grants: Grant[]) => void;
  private readonly onWatching: (watching: Watching) => void;
  private readonly watching: WatchIndicator;
  /** Agents whose cursor or strokes are on the page, to clear when their grant ends. */
  private cursorAgent: string | null = null;
  private readonly drawingAgents = new Set<string>();
  private stopped = false;

  constructor(options: PageSignalsOptions) {
    const win = options.win ?? window;
    this.tabId = options.tabId;
    this.send = options.send;
    this.ui = new PageUi(options.doc ?? document, { labels: options.labels, nonce: options.nonce });
    this.onGrants = options.onGrants ?? (() => {});
    this.onWatching = options.onWatching ?? (() => {});
    this.cursor = new AgentCursor(this.ui);
    this.watching = new WatchIndicator(this.ui, options.view ?? "notify");
    this.overlay = new AnnotationOverlay(this.ui, win);
    this.executor = new ControlExecutor({ ui: this.ui, cursor: this.cursor, nodeById: options.nodeById, win });
    this.consent = new Consent({
      ui: this.ui,
      send: options.send,
      storage: options.storage,
      onChange: () => this.grantsChanged(),
      onAccepted: (request) => this.call.accepted(request),
      onRequest: options.onConsentRequest,
    });
    this.call = new Call({
      ui: this.ui,
      tabId: options.tabId,
      send: options.send,
      hangup: () => this.consent.hangup(),
      stopGrant: (grant) => this.consent.stop(grant),
      canvasId: options.canvasId ?? (() => undefined),
      storage: options.storage,
      canvasPolicy: options.canvas,
      askCanvas: (answer) =>
        this.consent.ask(
          { request_id: CANVAS_PROMPT_ID, kind: "canvas", agent: { name: this.ui.labels.someAgent } },
          answer,
        ),
      cancelCanvasAsk: () => this.consent.cancel(CANVAS_PROMPT_ID),
      env: options.callEnv,
      win,
    });
  }

  /** The tracker's one element on the page, which other parts of the UI share. */
  get pageUi(): PageUi {
    return this.ui;
  }

  receive(signal: PageSignal): void {
    if (this.stopped) return;
    switch (signal.type) {
      case "consent_request":
        this.consent.request(signal);
        return;
      case "consent_cancel":
        this.consent.cancel(signal.request_id);
        return;
      case "grants":
        this.consent.setGrants(signal.grants);
        return;
      case "control":
        this.control(signal);
        return;
      case "stroke":
        this.stroke(signal);
        return;
      case "call_offer":
        this.call.offer(signal);
        return;
      case "call_candidate":
        this.call.candidate(signal);
        return;
      case "call_closed":
        this.call.closed(signal);
        return;
      case "canvas":
        this.call.canvas(signal.on);
        return;
      case "watching":
        this.onWatching(signal);
        this.watching.update(signal.watchers);
        return;
    }
  }

  /**
   * The connection received `welcome`: signals may be sent again, and earlier ones were maybe
   * lost. `view` is the session's mode as the server says it (an older server does not).
   */
  connected(view?: ViewMode): void {
    if (this.stopped) return;
    if (view !== undefined) this.watching.follow(view);
    this.consent.connected();
    this.call.connected();
  }

  /**
   * Removes everything the tracker shows and stops its timers; later signals are ignored (the
   * tracker stopped, or the user is ending the session).
   */
  stop(): void {
    this.stopped = true;
    this.call.stop();
    this.consent.close();
    this.watching.hide();
    this.cursor.hide();
    this.overlay.remove();
    this.ui.remove();
  }

  private control(message: ControlMessage): void {
    if (message.tab !== this.tabId) return;
    if (!this.consent.allows("control", message.agent_id)) {
      log.debug(`ignoring ${message.input.action} input of agent ${message.agent_id}: no control grant`);
      return;
    }
    this.cursorAgent = message.agent_id;
    const name = this.consent.agentName(message.agent_id) ?? this.ui.labels.agent;
    const refusal = this.executor.perform(message.input, name);
    if (refusal !== undefined) {
      log.debug(`refused ${message.input.action} input of agent ${message.agent_id}: ${refusal}`);
      this.send({ type: "refused", agent_id: message.agent_id, action: message.input.action, reason: refusal });
    }
  }

  private stroke(message: StrokeMessage): void {
    if (message.tab !== this.tabId) return;
    if (!this.consent.allows("annotate", message.agent_id)) {
      log.debug(`ignoring a stroke of agent ${message.agent_id}: no annotate grant`);
      return;
    }
    this.drawingAgents.add(message.agent_id);
    this.overlay.draw(message.agent_id, message.stroke);
  }

  private grantsChanged(): void {
    const active = this.consent.active();
    this.call.setGrants(active);
    this.onGrants(active);
    if (this.cursorAgent !== null && !this.consent.allows("control", this.cursorAgent)) {
      this.cursorAgent = null;
      this.cursor.hide();
    }
    for (const agentId of this.drawingAgents) {
      if (this.consent.allows("annotate", agentId)) continue;
      this.drawingAgents.delete(agentId);
      this.overlay.clear(agentId);
    }
  }
}
