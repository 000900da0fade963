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
import { log } from "./log";
import { PageUi } from "./page-ui";
import type { ControlMessage, PageSignal, StrokeMessage, TrackerSignal } from "./protocol";
import type { StorageLike } from "./storage";

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
  /** The browser's media and WebRTC (tests give fakes). */
  callEnv?: Partial<CallEnv>;
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
  /** Agents whose cursor or strokes are on the page, to clear when their grant ends. */
  private cursorAgent: string | null = null;
  private readonly drawingAgents = new Set<string>();
  private stopped = false;

  constructor(options: PageSignalsOptions) {
    const win = options.win ?? window;
    this.tabId = options.tabId;
    this.send = options.send;
    this.ui = new PageUi(options.doc ?? document);
    this.cursor = new AgentCursor(this.ui);
    this.overlay = new AnnotationOverlay(this.ui, win);
    this.executor = new ControlExecutor({ ui: this.ui, cursor: this.cursor, nodeById: options.nodeById, win });
    this.consent = new Consent({
      ui: this.ui,
      send: options.send,
      storage: options.storage,
      onChange: () => this.grantsChanged(),
      onAccepted: (request) => this.call.accepted(request),
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
        this.consent.ask({ request_id: CANVAS_PROMPT_ID, kind: "canvas", agent: { name: "An agent" } }, answer),
      cancelCanvasAsk: () => this.consent.cancel(CANVAS_PROMPT_ID),
      env: options.callEnv,
      win,
    });
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
    }
  }

  /** The connection received `welcome`: signals may be sent again, and earlier ones were maybe lost. */
  connected(): void {
    if (this.stopped) return;
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
    const name = this.consent.agentName(message.agent_id) ?? "Agent";
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
    this.call.setGrants(this.consent.active());
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
