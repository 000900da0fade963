// One session on screen, wired together: the header and tabs, the stage (live players or a
// replayer), the timeline bar, the agent bar, the call, console, network and activity panels. This owns
// the view's mode (live, looking at the past, or a recorded session), decides what the timeline,
// the tabs, "back to live", the keyboard (shortcuts.ts) and a link to a moment (moment-link.ts) do
// to it, and redraws every part from one `render`.

import { ActivityLog } from "../../activity";
import { parseAgentRecord } from "../../agent-records";
import type { Api, SessionSummary } from "../../api";
import { watchersText } from "../../consent";
import { h } from "../../dom";
import { LiveSession } from "../../live-session";
import { momentUrl, parseMomentHash, shownHash } from "../../moment-link";
import type { Viewport } from "../../rrweb-events";
import { statusText } from "../../session-status";
import { shortcutAction, STEP_MS } from "../../shortcuts";
import { TabTracker } from "../../tabs";
import { throttle } from "../../throttle";
import { PAUSE_BACK_MS, scrubStep, timelineBarModel, type ViewMode } from "../../time-travel";
import { offsetOfTrackerTime, timelineEnd } from "../../timeline";
import { ActivityPanel } from "../activity-panel";
import { ConsolePanel } from "../console-panel";
import { NetworkPanel } from "../network-panel";
import { Acting } from "./acting";
import { CallSide } from "./call-side";
import { SessionHeader, TabsBar } from "./header";
import { SessionStage } from "./stage";
import { TimelineBar } from "./timeline-bar";

/** How often the view redraws on its own: the timeline's end moves with the clock, replays play on. */
const TICK_MS = 200;
/** How often the address bar follows a playing replay (browsers throttle rapid URL changes). */
const FOLLOW_MS = 1000;

/** Where a link asked the view to open: a timeline position and a tab, each optional. */
export interface OpenAt {
  t: number | null;
  tab: string | null;
}

/** Fills `el` with the view of `summary`'s session, opened `at` a moment; returns its teardown. */
export function mountSession(el: HTMLElement, api: Api, summary: SessionSummary, at: OpenAt): () => void {
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
    fetchEvents: (tab, signal, onEvents) => api.events(summary.id, tab, signal, onEvents),
    serverNow,
    end,
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
    skipInactive: (skip) => stage.setSkipInactive(skip),
    backToLive: goLive,
    momentLink: () => momentUrl(location.href, { session: summary.id, t: currentOffset(), tab: watchedTab() }),
  });
  const consolePanel = new ConsolePanel((entry) =>
    seekTo(offsetOfTrackerTime(entry.timestamp, startMs, live?.clock.serverMinusTracker ?? 0)),
  );
  const networkPanel = new NetworkPanel((request) =>
    seekTo(offsetOfTrackerTime(request.timestamp, startMs, live?.clock.serverMinusTracker ?? 0)),
  );
  const activityPanel = new ActivityPanel((entry) => seekTo(entry.ts - startMs));
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
      h("div", { class: "side-panels" }, callSide.panel.el, consolePanel.el, networkPanel.el, activityPanel.el),
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

  /** The timeline position on screen: now while live, else where the replay is or was put. */
  function currentOffset(): number {
    if (mode === "live") return end();
    return stage.isPlaying ? stage.position() : timelineBar.sliderValue;
  }

  /** Moves the view to timeline position `offset` (a key, a clicked message or entry, a link). */
  function seekTo(offset: number): void {
    const clamped = Math.min(end(), Math.max(0, offset));
    timelineBar.moveTo(clamped);
    scrub(clamped);
    render();
  }

  function onKey(e: KeyboardEvent): void {
    if (e.defaultPrevented) return;
    const action = shortcutAction(e, e.target instanceof HTMLElement ? e.target : null);
    // `/` (the session search) is the app's, which owns the list.
    if (action === null || action === "search") return;
    e.preventDefault();
    if (action === "play-pause") playPause();
    else if (action === "live") goLive();
    else seekTo(currentOffset() + (action === "back" ? -STEP_MS : STEP_MS));
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
      const requests = stage.network();
      if (requests) networkPanel.update(requests.requests, requests.count);
    } else {
      consolePanel.update(live?.consoleOf(tab) ?? []);
      networkPanel.update(live?.networkOf(tab) ?? []);
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

  /**
   * The address bar follows what is on screen (shownHash), replacing the current history entry
   * rather than adding one per moment, so a copied URL opens this moment and Back still leaves the
   * session. Only while the address is still this session's (the agent may have gone elsewhere).
   */
  const followInAddressBar = throttle((hash: string) => {
    if (parseMomentHash(location.hash)?.session !== summary.id || location.hash === hash) return;
    history.replaceState(history.state, "", hash);
  }, FOLLOW_MS);

  function followAddress(): void {
    const tab = watchedTab();
    followInAddressBar(
      shownHash({ session: summary.id, live: mode === "live", t: currentOffset(), tab, pinned: live !== null && !live.following }),
    );
  }

  const ticker = setInterval(() => {
    render();
    followAddress();
  }, TICK_MS);
  document.addEventListener("keydown", onKey);
  const firstTab = at.tab ?? recordedTabs.list()[0]?.id ?? null;
  if (mode === "recorded") {
    if (firstTab) {
      timelineBar.moveTo(at.t ?? 0);
      void stage.show(firstTab, at.t ?? 0);
    } else stage.nothingToShow("This session has no tabs.");
  } else if (at.t !== null && firstTab) {
    // A link to a moment of a live session: that moment, in the past.
    if (at.tab) live?.watch(at.tab);
    mode = "past";
    timelineBar.moveTo(at.t);
    void stage.show(firstTab, at.t);
  } else if (at.tab) {
    live?.watch(at.tab);
  }
  render();

  return () => {
    document.removeEventListener("keydown", onKey);
    clearInterval(ticker);
    followInAddressBar.cancel();
    callSide.destroy();
    acting.destroy();
    stage.destroy();
    live?.close();
  };
}
