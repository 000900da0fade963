// One session: the live view (a live replayer per tab), time travel (a second, non-live replayer
// over the watched tab's recorded events, positioned from the timeline), the tabs, the console
// panel, the viewport and the connection status; and acting on the page: remote control and
// drawing over the live player (once the user granted them), who else is watching, the activity
// trail, and calls: the call panel beside the stage, the page's canvases as video over the live
// player, the session's recordings. An ended session opens straight into replay, with its
// activity and recordings.

import { ActivityLog } from "../activity";
import { parseAgentRecord } from "../agent-records";
import { AnnotateLayer } from "../annotate-layer";
import { ApiError, recordingFilePath, type Api, type RecordingInfo, type SessionSummary } from "../api";
import { AgentCall, publishCall } from "../call";
import { callPanelModel } from "../call-state";
import { CanvasLayer } from "../canvas-layer";
import { watchersText, type KindState } from "../consent";
import { consoleEntries, countUpTo, type ConsoleEntry } from "../console-log";
import { ControlLayer } from "../control-layer";
import { h, type View } from "../dom";
import type { ConnectionStatus } from "../feed";
import { browserName, formatClockTime, formatOffset, userLabel } from "../format";
import { LiveSession } from "../live-session";
import { PastPlayer, replayable } from "../player";
import type { AgentRequest, PageGrantKind } from "../protocol";
import { viewportOf, type RrwebEvent, type Viewport } from "../rrweb-events";
import { tabLabel, TabTracker } from "../tabs";
import { replayerOffset, timelineEnd, timelineOffset } from "../timeline";
import { ActivityPanel } from "./activity-panel";
import { AgentControls } from "./agent-controls";
import { CallPanel } from "./call-panel";
import { ConsolePanel } from "./console-panel";

type Mode = "live" | "past" | "recorded";

/** A tab's recorded events, fetched once for time travel. */
interface Recording {
  tab: string;
  events: RrwebEvent[];
  console: ConsoleEntry[];
  /** Viewport changes in time order (tracker time). */
  viewports: Array<{ ts: number; viewport: Viewport }>;
  /** The server time when the fetch started: the recording covers everything before it. */
  fetchedAt: number;
}

const SPEEDS = [1, 2, 4] as const;
/** How long a notice about a failed send or a dropped frame stays up, ms. */
const NOTICE_MS = 6000;

export function sessionView(api: Api, sessionId: string): View {
  const el = h("section", { id: "session-view", "data-session-id": sessionId, "data-mode": "loading" });
  el.appendChild(h("p", { class: "loading" }, "Loading session…"));
  let destroyed = false;
  let teardown: () => void = () => {};

  api.session(sessionId).then(
    (summary) => {
      if (!destroyed) teardown = mount(el, api, summary);
    },
    (e: unknown) => {
      if (destroyed) return;
      const message =
        e instanceof ApiError && e.status === 404
          ? `Session ${sessionId} does not exist (it may have expired).`
          : `Could not load session ${sessionId}: ${(e as Error).message}`;
      el.replaceChildren(h("a", { href: "#/", id: "back-to-list" }, "← Sessions"), h("p", { class: "error" }, message));
    },
  );

  return {
    el,
    destroy() {
      destroyed = true;
      teardown();
    },
  };
}

function mount(el: HTMLElement, api: Api, summary: SessionSummary): () => void {
  const startMs = summary.started_ms;
  /** The view was torn down: late answers are dropped. */
  let gone = false;
  let mode: Mode = summary.live ? "live" : "recorded";
  let speed: number = 1;

  // ---- DOM ------------------------------------------------------------------------------------
  const status = h("span", { id: "connection-status", class: "status" });
  const viewportEl = h("span", { id: "viewport-size", class: "viewport" });
  const urlEl = h("span", { id: "session-url", class: "url", title: summary.url }, summary.url || "—");
  const tabsEl = h("nav", { id: "tabs", class: "tabs", "aria-label": "The user's tabs" });
  const followBtn = h("button", { id: "follow-active", class: "link", type: "button" }, "Follow the user's tab");
  const stage = h("div", { id: "stage", class: "stage" });
  const stageMessage = h("div", { id: "stage-message", class: "stage-message" });
  const pastHolder = h("div", { id: "past-view", class: "past-holder", hidden: true });
  stage.append(pastHolder, stageMessage);
  const consolePanel = new ConsolePanel();
  const activityPanel = new ActivityPanel();
  const watchersEl = h("span", { class: "watchers", "data-testid": "watchers", hidden: true });
  const timeline = h("input", {
    id: "timeline",
    type: "range",
    min: 0,
    max: 0,
    step: 1,
    value: 0,
    "aria-label": "Timeline (ms from the session start)",
  });
  const timeLabel = h("span", { id: "timeline-label", class: "time-label" });
  const playBtn = h("button", { id: "play-pause", type: "button", "data-state": "paused" }, "▶ Play");
  const speedBtns = SPEEDS.map((s) =>
    h("button", { class: "speed", type: "button", "data-speed": s, "aria-pressed": s === speed ? "true" : "false" }, `${s}x`),
  );
  const backToLive = h("button", { id: "back-to-live", type: "button", class: "primary", hidden: true }, "● Back to live");

  // ---- Acting on the page ---------------------------------------------------------------------
  /** Which layer takes the mouse when the agent may both control and draw. */
  let pointerMode: PageGrantKind = "control";
  let notice: { text: string; at: number } | null = null;
  const showNotice = (text: string) => {
    notice = { text, at: Date.now() };
    render();
  };
  /** Sends on the live socket; says so when it could not. */
  const send = (request: AgentRequest): boolean => {
    const ok = live?.send(request) ?? false;
    if (!ok) showNotice("Not connected to the session right now; try again in a moment.");
    return ok;
  };
  /** The tab on screen and its live replay, while the live view shows a page. */
  const liveTarget = () => {
    const tab = live?.watched ?? null;
    const player = live?.playerOf(tab);
    return tab !== null && player?.ready ? { tab, replay: player } : null;
  };
  const controlLayer = new ControlLayer({
    target: liveTarget,
    send: (tab, input) => send({ type: "control", tab, input }),
  });
  const annotateLayer = new AnnotateLayer({
    target: liveTarget,
    send: (tab, stroke) => send({ type: "stroke", tab, stroke }),
  });
  const canvasLayer = new CanvasLayer();
  stage.append(canvasLayer.el, controlLayer.el, annotateLayer.el);
  const agentControls = new AgentControls({
    request: (kind) => send({ type: "request", kind }),
    release: (kind) => send({ type: "release", kind }),
    navigate: (to, url) => {
      const tab = live?.watched;
      if (tab) send({ type: "control", tab, input: url === undefined ? { action: "navigate", to } : { action: "navigate", to, url } });
    },
    tool: (tool) => {
      annotateLayer.tool = tool;
      pointerMode = "annotate";
      render();
    },
    pointer: (kind) => {
      pointerMode = kind;
      render();
    },
    color: (color) => {
      annotateLayer.color = color;
    },
  });
  agentControls.el.hidden = !summary.live;

  // ---- Calls ----------------------------------------------------------------------------------
  let recordingsList: RecordingInfo[] = summary.recordings ?? [];
  let renderQueued = false;
  /** Renders once after whatever is running now (the call changes state from inside `render`). */
  const renderSoon = () => {
    if (renderQueued) return;
    renderQueued = true;
    queueMicrotask(() => {
      renderQueued = false;
      if (!gone) render();
    });
  };
  const call: AgentCall | null = summary.live
    ? new AgentCall({
        // Quiet: the call says itself when something the agent clicked could not be sent.
        send: (request) => live?.send(request) ?? false,
        getUserMedia: (constraints) => {
          const devices = navigator.mediaDevices as MediaDevices | undefined;
          if (!devices) return Promise.reject(new Error("the browser offers no devices here (needs https or localhost)"));
          return devices.getUserMedia(constraints);
        },
        createPeerConnection: (config) => new RTCPeerConnection(config),
        onChange: renderSoon,
      })
    : null;
  const unpublish = call ? publishCall(call) : () => {};
  let recordingsToken = 0;
  const refreshRecordings = () => {
    const token = ++recordingsToken;
    api.session(summary.id).then(
      (fresh) => {
        if (gone || token !== recordingsToken) return;
        if (fresh.recordings) recordingsList = fresh.recordings;
        render();
      },
      () => {},
    );
  };
  /** A recording started or stopped: list it now, and again once its files are complete. */
  let recordingTimer: ReturnType<typeof setTimeout> | null = null;
  const recordingChanged = () => {
    refreshRecordings();
    if (recordingTimer !== null) clearTimeout(recordingTimer);
    recordingTimer = setTimeout(refreshRecordings, 3000);
  };
  const callPanel = new CallPanel(call, {
    file: (recording, file) => api.recordingFile(summary.id, recording, file),
    filePath: (recording, file) => recordingFilePath(summary.id, recording, file),
    refreshRecordings,
  });

  el.replaceChildren(
    h(
      "header",
      { class: "session-header" },
      h("a", { href: "#/", id: "back-to-list", class: "link" }, "← Sessions"),
      h("h2", { id: "session-user" }, userLabel(summary)),
      urlEl,
      h("span", { id: "session-browser", class: "browser" }, browserName(summary.user_agent)),
      viewportEl,
      watchersEl,
      status,
    ),
    h("div", { class: "tabs-bar" }, tabsEl, followBtn),
    agentControls.el,
    h("div", { class: "session-body" }, stage, h("div", { class: "side-panels" }, callPanel.el, consolePanel.el, activityPanel.el)),
    h(
      "div",
      { class: "timeline-bar" },
      playBtn,
      h("span", { class: "speeds", role: "group", "aria-label": "Replay speed" }, ...speedBtns),
      timeline,
      timeLabel,
      backToLive,
    ),
  );

  // ---- Live -----------------------------------------------------------------------------------
  const live = summary.live
    ? new LiveSession({
        api,
        sessionId: summary.id,
        stage,
        knownTabs: summary.tabs,
        history: summary.activity ?? [],
        shownId: "live-view",
        onChange: () => render(),
        onCall: (message) => call?.handle(message),
        onRecording: recordingChanged,
      })
    : null;
  // A recorded session's tabs come from its summary.
  const recordedTabs = new TabTracker();
  recordedTabs.addKnown(summary.tabs);
  // ... and its activity too (a live session's comes through its LiveSession).
  const recordedActivity = new ActivityLog();
  if (!live) {
    for (const item of summary.activity ?? []) {
      const record = parseAgentRecord(item.record);
      if (record) recordedActivity.add(item.ts, record);
    }
  }

  // ---- Time travel ----------------------------------------------------------------------------
  const recordings = new Map<string, Recording>();
  let past: PastPlayer | null = null;
  let pastTab: string | null = null;
  let pastRecording: Recording | null = null;
  let pastLoading = false;
  let pastProblem: string | null = null;
  /** Bumped on every load, so a slow fetch that lost the race is dropped. */
  let loadToken = 0;
  /** The timeline position (ms from start) the agent asked for last. */
  let target = 0;
  let seekScheduled = false;

  const serverNow = () => (live ? live.clock.serverNow(Date.now()) : Date.now());
  const serverMinusTracker = () => live?.clock.serverMinusTracker ?? 0;
  const end = () =>
    timelineEnd(
      {
        started_ms: startMs,
        last_activity_ms: summary.last_activity_ms,
        ended_ms: live ? live.endedMs : (summary.ended_ms ?? null),
        live: live !== null && live.endedMs === null,
      },
      serverNow(),
    );
  const tabs = () => (live ? live.tracker : recordedTabs);
  const watchedTab = (): string | null =>
    mode === "live" ? (live?.watched ?? null) : (pastTab ?? live?.watched ?? recordedTabs.list()[0]?.id ?? null);

  async function recordingOf(tab: string, offset: number): Promise<Recording> {
    const cached = recordings.get(tab);
    // Fetched events cover the past up to the fetch; a live session may need a fresher copy.
    const needed = startMs + offset;
    if (cached && (mode === "recorded" || !live || needed <= cached.fetchedAt)) return cached;
    const fetchedAt = serverNow();
    const events = await api.events(summary.id, tab);
    events.sort((a, b) => a.timestamp - b.timestamp);
    const viewports: Recording["viewports"] = [];
    for (const e of events) {
      const v = viewportOf(e);
      if (v) viewports.push({ ts: e.timestamp, viewport: v });
    }
    const recording: Recording = { tab, events, console: consoleEntries(events, tab), viewports, fetchedAt };
    recordings.set(tab, recording);
    return recording;
  }

  /** Shows `tab` as it was at timeline position `offset`, building its replayer if needed. */
  async function showPast(tab: string, offset: number): Promise<void> {
    target = offset;
    const token = ++loadToken;
    const reuse = past !== null && pastTab === tab && pastRecording !== null && (mode === "recorded" || startMs + offset <= pastRecording.fetchedAt);
    if (reuse) {
      seekPast();
      return;
    }
    const wasPlaying = past?.isPlaying ?? false;
    pastLoading = true;
    pastProblem = null;
    render();
    let recording: Recording;
    try {
      recording = await recordingOf(tab, offset);
    } catch (e) {
      if (token !== loadToken) return;
      pastLoading = false;
      pastProblem = `Could not load the recording: ${(e as Error).message}`;
      render();
      return;
    }
    if (token !== loadToken || mode === "live") return;
    pastLoading = false;
    past?.destroy();
    past = null;
    pastTab = tab;
    pastRecording = recording;
    if (!replayable(recording.events)) {
      pastProblem = "Nothing recorded in this tab yet.";
    } else {
      past = new PastPlayer(pastHolder, recording.events, speed);
      past.onFinish = () => render();
      seekPast();
      if (wasPlaying) past.play();
    }
    render();
  }

  function seekPast(): void {
    if (!past) return;
    past.seek(replayerOffset(target, startMs, past.span, serverMinusTracker()));
    render();
  }

  /** The timeline moved (dragged, or set by a test): go to the past, or move there. */
  function scrub(offset: number): void {
    const max = end();
    if (mode === "live") {
      // Dragging to the very end is still live.
      if (offset >= max - 250) return;
      mode = "past";
      const tab = live?.watched ?? null;
      if (tab === null) {
        mode = "live";
        return;
      }
      void showPast(tab, offset);
      return;
    }
    const tab = watchedTab();
    if (tab === null) return;
    target = offset;
    if (past && pastTab === tab && pastRecording && (mode === "recorded" || startMs + offset <= pastRecording.fetchedAt)) {
      // Seeking rebuilds the page from the last full snapshot: once per frame is plenty.
      if (!seekScheduled) {
        seekScheduled = true;
        requestAnimationFrame(() => {
          seekScheduled = false;
          seekPast();
        });
      }
    } else {
      void showPast(tab, offset);
    }
  }

  function goLive(): void {
    if (!live) return;
    loadToken++;
    past?.destroy();
    past = null;
    pastTab = null;
    pastRecording = null;
    pastLoading = false;
    pastProblem = null;
    mode = "live";
    render();
  }

  function selectTab(tab: string): void {
    live?.watch(tab);
    if (mode !== "live") {
      // The other tab, at the same moment.
      const offset = past ? timelineOffset(past.currentTime(), startMs, past.span, serverMinusTracker()) : target;
      void showPast(tab, offset);
    }
    render();
  }

  // ---- Controls -------------------------------------------------------------------------------
  const onTimeline = () => scrub(Number(timeline.value));
  timeline.addEventListener("input", onTimeline);
  timeline.addEventListener("change", onTimeline);
  playBtn.addEventListener("click", () => {
    if (mode === "live") {
      // Pausing the live view means looking at this moment as a still: time travel to now.
      scrub(Math.max(0, end() - 1000));
      return;
    }
    if (!past) return;
    if (past.isPlaying) past.pause();
    else past.play();
    render();
  });
  for (const btn of speedBtns) {
    btn.addEventListener("click", () => {
      speed = Number(btn.dataset["speed"]);
      past?.setSpeed(speed);
      render();
    });
  }
  backToLive.addEventListener("click", goLive);
  followBtn.addEventListener("click", () => {
    live?.watch(null);
    if (mode === "past" && live?.watched) selectTab(live.watched);
    render();
  });
  tabsEl.addEventListener("click", (e) => {
    const btn = (e.target as HTMLElement).closest<HTMLElement>(".tab");
    const tab = btn?.dataset["tab"];
    if (tab) selectTab(tab);
  });

  // ---- Rendering ------------------------------------------------------------------------------
  let wasGranted: Record<PageGrantKind, boolean> = { control: false, annotate: false };
  function renderAgents(): void {
    activityPanel.update((live?.activity ?? recordedActivity).entries);
    const watchers = live && live.status !== "ended" ? watchersText(live.consent.watchers, live.self?.id ?? null) : "";
    watchersEl.textContent = watchers;
    watchersEl.hidden = watchers === "";
    if (!live) return;
    const selfId = live.self?.id ?? null;
    const control = live.consent.of(selfId, "control");
    const annotate = live.consent.of(selfId, "annotate");
    // A grant that just arrived takes the mouse; with both, the agent switches (`pointer`).
    const granted = { control: control.status === "granted", annotate: annotate.status === "granted" };
    if (granted.control && !wasGranted.control) pointerMode = "control";
    if (granted.annotate && !wasGranted.annotate) pointerMode = "annotate";
    wasGranted = granted;
    const showingLive = mode === "live" && liveTarget() !== null;
    const canControl = showingLive && control.status === "granted";
    const canDraw = showingLive && annotate.status === "granted";
    annotateLayer.setActive(canDraw && (!canControl || pointerMode === "annotate"));
    controlLayer.setActive(canControl && (!canDraw || pointerMode === "control"));
    if (notice && Date.now() - notice.at > NOTICE_MS) notice = null;
    const serverError = live.lastServerError;
    const noticeText =
      notice?.text ??
      (serverError && Date.now() - serverError.at < NOTICE_MS ? `The server dropped a message: ${serverError.text}` : "");
    agentControls.el.hidden = live.status === "ended";
    agentControls.update({
      control,
      annotate,
      live: mode === "live",
      pointer: granted.control && granted.annotate ? pointerMode : null,
      controlHolder: (() => {
        const holder = live.consent.controlHolder;
        return holder !== null && holder.id !== selfId ? holder : null;
      })(),
      connected: live.status === "live" && selfId !== null,
      notice: noticeText,
    });
  }

  function renderCall(): void {
    const self = live?.self ?? null;
    const id = self?.id ?? null;
    const consent = live?.consent;
    const none: KindState = { status: "none", reason: null, holder: null };
    const callState = consent?.of(id, "call") ?? none;
    call?.setGrant(callState.status === "granted", id !== null && (consent?.wantsVideo(id) ?? false), self);
    const model = callPanelModel({
      connected: live?.status === "live" && id !== null,
      call: callState,
      record: consent?.of(id, "record") ?? none,
      callHolders: consent?.holders("call") ?? [],
      recordHolders: consent?.holders("record") ?? [],
      selfId: id,
      phase: call?.phase ?? "idle",
      closedReason: call?.closedReason ?? null,
      problem: call?.problem ?? "",
      hasAudio: call?.hasAudio ?? false,
      hasVideo: call?.hasVideo ?? false,
    });
    callPanel.update({
      model,
      tiles: call?.tiles() ?? [],
      muted: call?.muted ?? false,
      cameraOff: call?.cameraOff ?? false,
      canvasesOn: call?.canvasesOn ?? false,
      live: live !== null && live.status !== "ended",
    });
    callPanel.renderRecordings(recordingsList);
    const player = live && mode === "live" ? live.playerOf(live.watched) : null;
    canvasLayer.update(call?.canvases() ?? [], player?.ready ? player : null);
  }

  function currentViewport(): Viewport | null {
    const tab = watchedTab();
    if (mode !== "live" && past && pastRecording) {
      const now = past.span.firstEventTs + past.currentTime();
      let found: Viewport | null = null;
      for (const v of pastRecording.viewports) {
        if (v.ts > now) break;
        found = v.viewport;
      }
      if (found) return found;
    }
    const fromTabs = tab !== null ? tabs().get(tab)?.viewport : null;
    if (fromTabs) return fromTabs;
    return summary.viewport.width > 0 ? summary.viewport : null;
  }

  let lastTabsKey = "";
  function renderTabs(): void {
    const watched = watchedTab();
    const active = tabs().active;
    const list = tabs().list();
    const key = JSON.stringify([watched, active, list.map((t) => [t.id, t.href, t.errors])]);
    if (key === lastTabsKey) return;
    lastTabsKey = key;
    tabsEl.replaceChildren(
      ...list.map((t) =>
        h(
          "button",
          {
            type: "button",
            class: `tab${t.id === active ? " active" : ""}${t.id === watched ? " watching" : ""}`,
            "data-tab": t.id,
            "aria-pressed": t.id === watched ? "true" : "false",
            title: `${t.id}${t.href ? ` — ${t.href}` : ""}${t.id === active ? " (the user's active tab)" : ""}`,
          },
          t.id === active ? h("span", { class: "tab-dot", "aria-hidden": "true" }) : null,
          tabLabel(t),
          t.errors > 0 ? h("span", { class: "tab-errors", title: "console errors" }, String(t.errors)) : null,
        ),
      ),
    );
  }

  function render(): void {
    el.dataset["mode"] = mode;
    // Status.
    const st: ConnectionStatus = live ? live.status : "ended";
    status.dataset["status"] = st;
    status.textContent = live
      ? { connecting: "Connecting…", live: "● Live", reconnecting: "Reconnecting…", ended: "Ended", error: `Error: ${live.statusDetail}` }[st]
      : `Recorded${summary.ended_ms ? ` · ended ${formatClockTime(summary.ended_ms).slice(0, 8)}${summary.end_reason ? ` (${summary.end_reason})` : ""}` : ""}`;
    status.title = live?.statusDetail ?? "";

    renderTabs();
    followBtn.hidden = !live || live.following;

    const vp = currentViewport();
    viewportEl.textContent = vp ? `${vp.width} × ${vp.height}` : "viewport unknown";
    if (vp) {
      viewportEl.dataset["width"] = String(vp.width);
      viewportEl.dataset["height"] = String(vp.height);
    }

    // Players.
    const tab = watchedTab();
    const inPast = mode !== "live";
    stage.classList.toggle("showing-past", inPast);
    pastHolder.hidden = !inPast;
    let message = "";
    if (inPast) {
      if (pastLoading) message = "Loading the recording…";
      else if (pastProblem) message = pastProblem;
    } else if (live && !live.isReady(tab)) {
      message =
        live.status === "ended"
          ? "The session ended."
          : live.status === "error"
            ? live.statusDetail
            : "Waiting for the user's page…";
    }
    stageMessage.textContent = message;
    stageMessage.hidden = message === "";

    // Console.
    if (inPast) {
      if (past && pastRecording) {
        const now = past.span.firstEventTs + past.currentTime();
        consolePanel.update(pastRecording.console, countUpTo(pastRecording.console, now));
      } else if (!pastLoading) {
        consolePanel.update(pastRecording?.console ?? [], pastRecording?.console.length ?? 0);
      }
    } else {
      consolePanel.update(live?.consoleOf(tab) ?? []);
    }

    // Timeline.
    const max = Math.round(end());
    timeline.max = String(max);
    if (mode === "live") {
      timeline.value = String(max);
    } else if (past && past.isPlaying) {
      timeline.value = String(Math.round(timelineOffset(past.currentTime(), startMs, past.span, serverMinusTracker())));
    }
    const value = Number(timeline.value);
    timeLabel.textContent = mode === "live" ? `${formatOffset(max)} · live` : `${formatOffset(value)} / ${formatOffset(max)}`;
    timeline.dataset["value"] = String(value);

    const playing = past?.isPlaying ?? false;
    playBtn.dataset["state"] = playing ? "playing" : "paused";
    playBtn.textContent = mode === "live" ? "❚❚ Pause" : playing ? "❚❚ Pause" : "▶ Play";
    playBtn.disabled = inPast && !past;
    for (const btn of speedBtns) btn.setAttribute("aria-pressed", Number(btn.dataset["speed"]) === speed ? "true" : "false");
    backToLive.hidden = !(live && mode === "past");
    renderAgents();
    renderCall();
  }

  // Ticks: the timeline's end moves with the clock, the replayer plays on.
  const ticker = setInterval(render, 200);
  if (mode === "recorded") {
    const first = recordedTabs.list()[0]?.id;
    if (first) void showPast(first, 0);
    else pastProblem = "This session has no tabs.";
  }
  render();

  return () => {
    gone = true;
    clearInterval(ticker);
    if (recordingTimer !== null) clearTimeout(recordingTimer);
    call?.close();
    unpublish();
    callPanel.destroy();
    canvasLayer.destroy();
    loadToken++;
    controlLayer.destroy();
    annotateLayer.destroy();
    past?.destroy();
    live?.close();
  };
}
