// The stage: the area that shows the user's page. The live players are put here by the live
// session; this owns the other thing the stage can show, a non-live replayer over the watched
// tab's recorded events positioned from the timeline, with the fetch of those events, the message
// when there is no page, and what the console and the viewport say at the replayed moment.

import { countUpTo, type ConsoleEntry } from "../../console-log";
import { h } from "../../dom";
import { PastPlayer, replayable } from "../../player";
import type { RrwebEvent, Viewport } from "../../rrweb-events";
import { stageMessage, type LiveStatus } from "../../session-status";
import { recordingCovers, tabRecording, viewportAt, type TabRecording } from "../../tab-recording";
import { replayerOffset, timelineOffset } from "../../timeline";

export interface StageOptions {
  /** Session start, server time. */
  startMs: number;
  /** The session was over when the view opened: a fetched recording is complete. */
  complete: boolean;
  fetchEvents(tab: string): Promise<RrwebEvent[]>;
  serverNow(): number;
  serverMinusTracker(): number;
  /** The view went back to live while a fetch ran: its answer is dropped. */
  isLive(): boolean;
  onChange(): void;
}

export class SessionStage {
  readonly el: HTMLElement;
  private readonly pastHolder: HTMLElement;
  private readonly message: HTMLElement;
  private readonly recordings = new Map<string, TabRecording>();
  private past: PastPlayer | null = null;
  /** The tab and recording on screen (also when it could not be replayed). */
  private pastTab: string | null = null;
  private pastRecording: TabRecording | null = null;
  private loading = false;
  private problem: string | null = null;
  /** Bumped on every load, so a slow fetch that lost the race is dropped. */
  private loadToken = 0;
  /** The timeline position (ms from start) the agent asked for last. */
  private target = 0;
  private seekScheduled = false;
  private speed = 1;
  private skipInactive = false;

  constructor(private readonly options: StageOptions) {
    this.el = h("div", { id: "stage", class: "stage" });
    this.message = h("div", { id: "stage-message", class: "stage-message" });
    this.pastHolder = h("div", { id: "past-view", class: "past-holder", hidden: true });
    this.el.append(this.pastHolder, this.message);
  }

  /** The tab the replayer shows (or is about to), if any. */
  get tab(): string | null {
    return this.pastTab;
  }

  /** The recording on screen (also when it could not be replayed). */
  get recording(): TabRecording | null {
    return this.pastRecording;
  }

  get hasReplayer(): boolean {
    return this.past !== null;
  }

  get isPlaying(): boolean {
    return this.past?.isPlaying ?? false;
  }

  /** There is nothing to replay at all (a recorded session without tabs): says why. */
  nothingToShow(reason: string): void {
    this.problem = reason;
  }

  /** The replayer on screen shows `tab` and already holds timeline position `offset`. */
  holds(tab: string, offset: number): boolean {
    const recording = this.pastRecording;
    return this.past !== null && this.pastTab === tab && recording !== null && this.covers(recording, offset);
  }

  /** Shows `tab` as it was at timeline position `offset`, building its replayer if needed. */
  async show(tab: string, offset: number): Promise<void> {
    this.target = offset;
    const token = ++this.loadToken;
    if (this.holds(tab, offset)) {
      this.seekNow();
      return;
    }
    const wasPlaying = this.isPlaying;
    this.loading = true;
    this.problem = null;
    this.options.onChange();
    let recording: TabRecording;
    try {
      recording = await this.recordingOf(tab, offset);
    } catch (e) {
      if (token !== this.loadToken) return;
      this.loading = false;
      this.problem = `Could not load the recording: ${(e as Error).message}`;
      this.options.onChange();
      return;
    }
    if (token !== this.loadToken || this.options.isLive()) return;
    this.loading = false;
    this.past?.destroy();
    this.past = null;
    this.pastTab = tab;
    this.pastRecording = recording;
    if (!replayable(recording.events)) {
      this.problem = "Nothing recorded in this tab yet.";
    } else {
      this.past = new PastPlayer(this.pastHolder, recording.events, this.speed, this.skipInactive);
      this.past.onFinish = () => this.options.onChange();
      this.seekNow();
      if (wasPlaying) this.past.play();
    }
    this.options.onChange();
  }

  /** Moves the replayer on screen to `offset`; seeking rebuilds the page, so once per frame. */
  seek(offset: number): void {
    this.target = offset;
    if (this.seekScheduled) return;
    this.seekScheduled = true;
    requestAnimationFrame(() => {
      this.seekScheduled = false;
      this.seekNow();
    });
  }

  /** Back to live: the replayer goes, and any fetch still running is dropped. */
  clear(): void {
    this.loadToken++;
    this.past?.destroy();
    this.past = null;
    this.pastTab = null;
    this.pastRecording = null;
    this.loading = false;
    this.problem = null;
  }

  togglePlay(): void {
    if (!this.past) return;
    if (this.past.isPlaying) this.past.pause();
    else this.past.play();
  }

  setSpeed(speed: number): void {
    this.speed = speed;
    this.past?.setSpeed(speed);
  }

  setSkipInactive(skip: boolean): void {
    this.skipInactive = skip;
    this.past?.setSkipInactive(skip);
  }

  /** The timeline position the replayer stands at; the one asked for while there is none. */
  position(): number {
    const past = this.past;
    if (!past) return this.target;
    return timelineOffset(past.currentTime(), this.options.startMs, past.span, this.options.serverMinusTracker());
  }

  /** The viewport at the replayed moment, when the recording says. */
  viewport(): Viewport | null {
    const now = this.replayedTs();
    return now !== null && this.pastRecording ? viewportAt(this.pastRecording, now) : null;
  }

  /** The recording's console up to the replayed moment; null while a fetch runs. */
  console(): { entries: readonly ConsoleEntry[]; count: number } | null {
    const recording = this.pastRecording;
    const now = this.replayedTs();
    if (recording && now !== null) return { entries: recording.console, count: countUpTo(recording.console, now) };
    if (this.loading) return null;
    return { entries: recording?.console ?? [], count: recording?.console.length ?? 0 };
  }

  /** Shows the replayer (`inPast`) or the live players, and says why when there is no page. */
  render(inPast: boolean, live: LiveStatus | null, liveReady: boolean): void {
    this.el.classList.toggle("showing-past", inPast);
    this.pastHolder.hidden = !inPast;
    const message = stageMessage({ inPast, loading: this.loading, problem: this.problem, live, liveReady });
    this.message.textContent = message;
    this.message.hidden = message === "";
  }

  destroy(): void {
    this.loadToken++;
    this.past?.destroy();
  }

  private seekNow(): void {
    const past = this.past;
    if (!past) return;
    past.seek(replayerOffset(this.target, this.options.startMs, past.span, this.options.serverMinusTracker()));
    this.options.onChange();
  }

  /** The replayed moment in tracker time, while a replayer is on screen. */
  private replayedTs(): number | null {
    return this.past && this.pastRecording ? this.past.span.firstEventTs + this.past.currentTime() : null;
  }

  private covers(recording: TabRecording, offset: number): boolean {
    return recordingCovers(recording, this.options.complete, this.options.startMs, offset);
  }

  private async recordingOf(tab: string, offset: number): Promise<TabRecording> {
    const cached = this.recordings.get(tab);
    // Fetched events cover the past up to the fetch; a live session may need a fresher copy.
    if (cached && this.covers(cached, offset)) return cached;
    const fetchedAt = this.options.serverNow();
    const recording = tabRecording(tab, await this.options.fetchEvents(tab), fetchedAt);
    this.recordings.set(tab, recording);
    return recording;
  }
}
