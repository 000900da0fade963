// The stage: the area that shows the user's page. The live players are put here by the live
// session; this owns the other thing the stage can show, a non-live replayer over the watched
// tab's recorded events positioned from the timeline, with the download of those events and its
// progress bar, the message when there is no page, and what the console, the network panel and
// the viewport say at the replayed moment. The replayer starts as soon as the download holds the
// moment asked for (a full snapshot at least) and takes the rest of the events as they arrive.

import type { DownloadProgress } from "../../event-download";
import { countUpTo, type ConsoleEntry } from "../../console-log";
import { h } from "../../dom";
import type { NetworkRequest } from "../../network-log";
import { PastPlayer, replayable } from "../../player";
import { replayLoadingModel } from "../../replay-loading";
import type { RrwebEvent, Viewport } from "../../rrweb-events";
import { stageMessage, type LiveStatus } from "../../session-status";
import { emptyRecording, extendRecording, recordingCovers, viewportAt, type TabRecording } from "../../tab-recording";
import { offsetOfTrackerTime, replayerOffset, timelineOffset } from "../../timeline";

export interface StageOptions {
  /** Session start, server time. */
  startMs: number;
  /** The session was over when the view opened: a fetched recording is complete. */
  complete: boolean;
  /** Downloads `tab`'s events, handing on each chunk's as it arrives; stops when `signal` aborts. */
  fetchEvents(
    tab: string,
    signal: AbortSignal,
    onEvents: (events: RrwebEvent[], progress: DownloadProgress) => void,
  ): Promise<unknown>;
  serverNow(): number;
  /** The timeline's end, ms from the session's start: how far a complete recording reaches. */
  end(): number;
  serverMinusTracker(): number;
  /** The view went back to live while a fetch ran: its answer is dropped. */
  isLive(): boolean;
  onChange(): void;
}

/** A download of one tab's events under way. */
interface Download {
  tab: string;
  /** Fills up as the events arrive; on screen as `pastRecording`. */
  recording: TabRecording;
  abort: AbortController;
  progress: DownloadProgress;
  /** Play once the replayer is built (the view was playing when the download started). */
  play: boolean;
}

export class SessionStage {
  readonly el: HTMLElement;
  private readonly pastHolder: HTMLElement;
  private readonly message: HTMLElement;
  private readonly progressBox: HTMLElement;
  private readonly progressBar: HTMLProgressElement;
  private readonly progressText: HTMLElement;
  /** Recordings downloaded whole, by tab. */
  private readonly recordings = new Map<string, TabRecording>();
  private past: PastPlayer | null = null;
  /** The tab and recording on screen (also when it could not be replayed). */
  private pastTab: string | null = null;
  private pastRecording: TabRecording | null = null;
  private download: Download | null = null;
  private problem: string | null = null;
  /** The timeline position (ms from start) the agent asked for last. */
  private target = 0;
  /** `target` is beyond what has downloaded: the replayer goes there once it arrives. */
  private seekPending = false;
  /** The replay played up to the end of what had downloaded: it goes on when more arrives. */
  private resumeOnMore = false;
  private seekScheduled = false;
  private speed = 1;
  private skipInactive = false;

  constructor(private readonly options: StageOptions) {
    this.el = h("div", { id: "stage", class: "stage" });
    this.message = h("div", { id: "stage-message", class: "stage-message" });
    this.pastHolder = h("div", { id: "past-view", class: "past-holder", hidden: true });
    this.progressBar = h("progress", { id: "replay-progress", max: 100, "aria-label": "Loading the recording" });
    this.progressText = h("span", { id: "replay-progress-text" });
    this.progressBox = h("div", { class: "replay-loading", hidden: true }, this.progressBar, this.progressText);
    this.el.append(this.pastHolder, this.message, this.progressBox);
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
    if (this.holds(tab, offset)) {
      this.seekPending = false;
      this.seekNow();
      return;
    }
    const download = this.download;
    if (download && download.tab === tab && this.willCover(download.recording, offset)) {
      // The download under way reaches there: the replay moves when it arrives.
      this.seekPending = true;
      this.options.onChange();
      return;
    }
    const play = this.isPlaying || (download?.play ?? false);
    this.stop();
    this.pastTab = tab;
    this.problem = null;
    const cached = this.recordings.get(tab);
    if (cached && this.covers(cached, offset)) {
      this.pastRecording = cached;
      this.build(play);
      this.options.onChange();
      return;
    }
    await this.fetch(tab, play);
  }

  /** Moves the replayer on screen to `offset`; seeking rebuilds the page, so once per frame. */
  seek(offset: number): void {
    this.target = offset;
    this.seekPending = false;
    if (this.seekScheduled) return;
    this.seekScheduled = true;
    requestAnimationFrame(() => {
      this.seekScheduled = false;
      this.seekNow();
    });
  }

  /** Back to live: the replayer goes, and any download still running stops. */
  clear(): void {
    this.stop();
    this.problem = null;
  }

  togglePlay(): void {
    if (!this.past) return;
    this.resumeOnMore = false;
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
    if (!past || this.seekPending) return this.target;
    return timelineOffset(past.currentTime(), this.options.startMs, past.span, this.options.serverMinusTracker());
  }

  /** The viewport at the replayed moment, when the recording says. */
  viewport(): Viewport | null {
    const now = this.replayedTs();
    return now !== null && this.pastRecording ? viewportAt(this.pastRecording, now) : null;
  }

  /** The recording's console up to the replayed moment; null while waiting for the replayer. */
  console(): { entries: readonly ConsoleEntry[]; count: number } | null {
    const recording = this.pastRecording;
    const now = this.replayedTs();
    if (recording && now !== null) return { entries: recording.console, count: countUpTo(recording.console, now) };
    if (this.download) return null;
    return { entries: recording?.console ?? [], count: recording?.console.length ?? 0 };
  }

  /** The recording's requests that ended up to the replayed moment; null while waiting for the replayer. */
  network(): { requests: readonly NetworkRequest[]; count: number } | null {
    const recording = this.pastRecording;
    const now = this.replayedTs();
    if (recording && now !== null) return { requests: recording.network, count: countUpTo(recording.network, now) };
    if (this.download) return null;
    return { requests: recording?.network ?? [], count: recording?.network.length ?? 0 };
  }

  /** Shows the replayer (`inPast`) or the live players, and says why when there is no page. */
  render(inPast: boolean, live: LiveStatus | null, liveReady: boolean): void {
    this.el.classList.toggle("showing-past", inPast);
    this.pastHolder.hidden = !inPast;
    const loading = this.download !== null && this.past === null;
    const message = stageMessage({ inPast, loading, problem: this.problem, live, liveReady });
    this.message.textContent = message;
    this.message.hidden = message === "";
    this.renderProgress(inPast);
  }

  destroy(): void {
    this.stop();
  }

  /** Downloads `tab`'s recording, replaying it as soon as it holds the moment asked for. */
  private async fetch(tab: string, play: boolean): Promise<void> {
    const recording = emptyRecording(tab, this.options.serverNow());
    const download: Download = { tab, recording, abort: new AbortController(), progress: { bytes: 0, events: 0 }, play };
    this.download = download;
    this.pastRecording = recording;
    this.problem = null;
    this.options.onChange();
    const current = () => this.download === download && !download.abort.signal.aborted && !this.options.isLive();
    try {
      await this.options.fetchEvents(tab, download.abort.signal, (events, progress) => {
        if (!current()) return;
        download.progress = { ...progress };
        extendRecording(recording, events);
        this.arrived(download, events);
      });
    } catch (e) {
      if (!current()) return;
      this.download = null;
      this.problem = `Could not load the recording: ${(e as Error).message}`;
      this.options.onChange();
      return;
    }
    if (!current()) return;
    this.download = null;
    recording.loaded = true;
    this.recordings.set(tab, recording);
    if (this.past) {
      if (this.seekPending) this.seekNow();
    } else if (replayable(recording.events)) {
      this.build(download.play);
    } else {
      this.problem = "Nothing recorded in this tab yet.";
    }
    this.options.onChange();
  }

  /** More events of the download on screen arrived (already in its recording). */
  private arrived(download: Download, events: RrwebEvent[]): void {
    const recording = download.recording;
    if (!this.past) {
      // Coverage first: it is cheap, and until then there is no need to scan the events.
      if (this.covers(recording, this.target) && replayable(recording.events)) {
        this.build(download.play);
        this.options.onChange();
      } else {
        this.renderProgress(true);
      }
      return;
    }
    if (events.length === 0) return this.renderProgress(true);
    this.past.add(events);
    if (this.seekPending && this.covers(recording, this.target)) this.seekNow();
    if (this.resumeOnMore) {
      this.resumeOnMore = false;
      this.past.resume();
    }
    this.renderProgress(true);
  }

  /** A replayer over the recording on screen, at the moment asked for. */
  private build(play: boolean): void {
    const recording = this.pastRecording;
    if (!recording) return;
    const past = new PastPlayer(this.pastHolder, recording.events, this.speed, this.skipInactive);
    past.onFinish = (wasPlaying) => {
      // Played up to what has downloaded so far: go on when more arrives. A seek to the end
      // while paused stays paused.
      if (wasPlaying && this.download !== null && this.past === past) this.resumeOnMore = true;
      this.options.onChange();
    };
    this.past = past;
    this.seekNow();
    if (play) past.play();
  }

  /** Drops the replayer and stops any download. */
  private stop(): void {
    this.download?.abort.abort();
    this.download = null;
    this.past?.destroy();
    this.past = null;
    this.pastTab = null;
    this.pastRecording = null;
    this.seekPending = false;
    this.resumeOnMore = false;
  }

  private renderProgress(inPast: boolean): void {
    const download = this.download;
    this.progressBox.hidden = !inPast || download === null;
    if (!download || this.progressBox.hidden) return;
    const recording = download.recording;
    const serverMinusTracker = this.options.serverMinusTracker();
    const reachedMs = recording.events.length > 0 ? offsetOfTrackerTime(recording.lastTs, this.options.startMs, serverMinusTracker) : null;
    const endMs = Math.min(this.options.end(), recording.fetchedAt - this.options.startMs);
    const model = replayLoadingModel({ ...download.progress, reachedMs, endMs });
    if (model.value === null) this.progressBar.removeAttribute("value");
    else this.progressBar.value = model.value;
    this.progressBar.max = model.max;
    this.progressBar.setAttribute("aria-valuetext", model.valueText);
    this.progressBar.dataset["bytes"] = String(download.progress.bytes);
    this.progressBar.dataset["events"] = String(download.progress.events);
    this.progressText.textContent = model.text;
  }

  private seekNow(): void {
    const past = this.past;
    if (!past) return;
    this.seekPending = !this.pastRecording || !this.covers(this.pastRecording, this.target);
    past.seek(replayerOffset(this.target, this.options.startMs, past.span, this.options.serverMinusTracker()));
    this.options.onChange();
  }

  /** The replayed moment in tracker time, while a replayer is on screen. */
  private replayedTs(): number | null {
    return this.past && this.pastRecording ? this.past.span.firstEventTs + this.past.currentTime() : null;
  }

  private covers(recording: TabRecording, offset: number): boolean {
    return recordingCovers(recording, this.options.complete, this.options.startMs, offset, this.options.serverMinusTracker());
  }

  /** Whether `recording` covers `offset` once it has downloaded whole. */
  private willCover(recording: TabRecording, offset: number): boolean {
    return recordingCovers({ ...recording, loaded: true }, this.options.complete, this.options.startMs, offset);
  }
}
