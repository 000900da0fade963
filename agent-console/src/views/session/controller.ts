// One session on screen, wired together: the header and tabs, the stage (live players or a
// replayer), the timeline bar, the agent bar, the call, console and activity panels. This owns
// the view's mode (live, looking at the past, or a recorded session), decides what the timeline,
// the tabs and "back to live" do to it, and redraws every part from one `render`.

import { ActivityLog } from "../../activity";
import { parseAgentRecord } from "../../agent-records";
import type { Api, SessionSummary } from "../../api";
import { watchersText } from "../../consent";
import { h } from "../../dom";
import { LiveSession } from "../../live-session";
import type { Viewport } from "../../rrweb-events";
import { statusText } from "../../session-status";
import { TabTracker } from "../../tabs";
import { PAUSE_BACK_MS, scrubStep, timelineBarModel, type ViewMode } from "../../time-travel";
import { timelineEnd } from "../../timeline";
import { ActivityPanel } from "../activity-panel";
import { ConsolePanel } from "../console-panel";
import { Acting } from "./acting";
import { CallSide } from "./call-side";
import { SessionHeader, TabsBar } from "./header";
import { SessionStage } from "./stage";
import { TimelineBar } from "./timeline-bar";

/** How often the view redraws on its own: the timeline's end moves with the clock, replays play on. */
const TICK_MS = 200;

/** Fills `el` with the view of `summary`'s session; returns its teardown. */
export function mountSession(el: HTMLElement, api: Api, summary: SessionSummary): () => void {
  const startMs = summary.started_ms;
  let mode: ViewMode = summary.live ? "live" : "recorded";
  // Created once the stage and its layers are in place; the parts reach it through `getLive`.
  let live: LiveSession | null = null;
  const getLive = () => live;

  const serverNow = () => (live ? live.clock.serverNow(Date.now()) : Date.now());
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

  const header = new SessionHeader(summary);
  const tabsBar = new TabsBar(selectTab, follow);
  const stage = new SessionStage({
    startMs,
    complete: !summary.live,
    fetchEvents: (tab) => api.events(summary.id, tab),
    serverNow,
    serverMinusTracker: () => live?.clock.serverMinusTracker ?? 0,
    isLive: () => mode === "live",
    onChange: render,
  });
  const timelineBar = new TimelineBar({
    scrub,
    playPause,
    speed: (speed) => {
      stage.setSpeed(speed);
      render();
    },
    backToLive: goLive,
  });
  const consolePanel = new ConsolePanel();
  const activityPanel = new ActivityPanel();
  const acting = new Acting(getLive, render);
  acting.bar.el.hidden = !summary.live;
  const callSide = new CallSide(api, summary, getLive, render);
  stage.el.append(callSide.canvasLayer.el, ...acting.layers);

  el.replaceChildren(
    header.el,
    tabsBar.el,
    acting.bar.el,
    h(
      "div",
      { class: "session-body" },
      stage.el,
      h("div", { class: "side-panels" }, callSide.panel.el, consolePanel.el, activityPanel.el),
    ),
    timelineBar.el,
  );

  // A recorded session's tabs and activity come from its summary (a live one's through `live`).
  const recordedTabs = new TabTracker();
  recordedTabs.addKnown(summary.tabs);
  const recordedActivity = new ActivityLog();
  if (!summary.live) {
    for (const item of summary.activity ?? []) {
      const record = parseAgentRecord(item.record);
      if (record) recordedActivity.add(item.ts, record);
    }
  }

  live = summary.live
    ? new LiveSession({
        api,
        sessionId: summary.id,
        stage: stage.el,
        knownTabs: summary.tabs,
        history: summary.activity ?? [],
        shownId: "live-view",
        onChange: render,
        onCall: (message) => callSide.handle(message),
        onRecording: () => callSide.recordingChanged(),
      })
    : null;

  function tabs(): TabTracker {
    return live?.tracker ?? recordedTabs;
  }

  function watchedTab(): string | null {
    if (mode === "live") return live?.watched ?? null;
    return stage.tab ?? live?.watched ?? recordedTabs.list()[0]?.id ?? null;
  }

  /** The timeline moved (dragged, or set by a test): go to the past, or move there. */
  function scrub(offset: number): void {
    const tab = watchedTab();
    const step = scrubStep(mode, tab, offset, end(), tab !== null && stage.holds(tab, offset));
    if (tab === null || step === "stay") return;
    if (mode === "live") mode = "past";
    if (step === "seek") stage.seek(offset);
    else void stage.show(tab, offset);
  }

  function playPause(): void {
    if (mode === "live") {
      // Pausing the live view means looking at this moment as a still: time travel to now.
      scrub(Math.max(0, end() - PAUSE_BACK_MS));
    } else if (stage.hasReplayer) {
      stage.togglePlay();
      render();
    }
  }

  function goLive(): void {
    if (!live) return;
    stage.clear();
    mode = "live";
    render();
  }

  function selectTab(tab: string): void {
    live?.watch(tab);
    // The other tab, at the same moment.
    if (mode !== "live") void stage.show(tab, stage.position());
    render();
  }

  function follow(): void {
    live?.watch(null);
    if (mode === "past" && live?.watched) selectTab(live.watched);
    render();
  }

  function currentViewport(tab: string | null): Viewport | null {
    const replayed = mode !== "live" ? stage.viewport() : null;
    const fromTabs = tab !== null ? tabs().get(tab)?.viewport : null;
    return replayed ?? fromTabs ?? (summary.viewport.width > 0 ? summary.viewport : null);
  }

  function render(): void {
    el.dataset["mode"] = mode;
    const tab = watchedTab();
    // A recorded tab is labelled with its page once its recording is loaded.
    const shown = stage.recording;
    if (!live && shown?.href) recordedTabs.noteHref(shown.tab, shown.href);
    const inPast = mode !== "live";
    const liveStatus = live ? { status: live.status, detail: live.statusDetail } : null;
    header.render({
      status: live?.status ?? "ended",
      statusText: statusText(liveStatus, summary),
      statusTitle: live?.statusDetail ?? "",
      viewport: currentViewport(tab),
      watchers: live && live.status !== "ended" ? watchersText(live.consent.watchers, live.self?.id ?? null) : "",
    });
    tabsBar.render({ tabs: tabs().list(), active: tabs().active, watched: tab, following: !live || live.following });
    stage.render(inPast, liveStatus, live?.isReady(tab) ?? true);
    if (inPast) {
      const shown = stage.console();
      if (shown) consolePanel.update(shown.entries, shown.count);
    } else {
      consolePanel.update(live?.consoleOf(tab) ?? []);
    }
    timelineBar.render(
      timelineBarModel({
        mode,
        end: end(),
        slider: timelineBar.sliderValue,
        playingAt: stage.isPlaying ? stage.position() : null,
        hasReplayer: stage.hasReplayer,
        canGoLive: live !== null,
      }),
    );
    activityPanel.update((live?.activity ?? recordedActivity).entries);
    if (live) acting.render(live, mode === "live");
    callSide.update(mode === "live");
  }

  const ticker = setInterval(render, TICK_MS);
  if (mode === "recorded") {
    const first = recordedTabs.list()[0]?.id;
    if (first) void stage.show(first, 0);
    else stage.nothingToShow("This session has no tabs.");
  }
  render();

  return () => {
    clearInterval(ticker);
    callSide.destroy();
    acting.destroy();
    stage.destroy();
    live?.close();
  };
}
