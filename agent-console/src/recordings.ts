// A session's call recordings as the agent reads them (protocol.md §10.6): newest first, each
// file named by whose it is and what it holds, with its size. Pure; the panel that lists them and
// fetches the files is views/call-panel.ts.

import type { RecordingFile, RecordingInfo } from "./api";
import { USER_PARTICIPANT } from "./protocol";

/** "812 B", "45.2 KB", "3.1 MB" (powers of 1024). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
  const units = ["KB", "MB", "GB"];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Whether a recorded file is Ogg/Opus audio, which a browser's `<audio>` plays. */
export function isPlayableAudio(file: Pick<RecordingFile, "name">): boolean {
  return /\.ogg$/i.test(file.name);
}

/** What a file holds, for its link: "the user · audio · 1.2 MB", "alice · canvas #12 · 3.0 MB (incomplete)". */
export function fileLabel(file: RecordingFile): string {
  const who = file.participant.id === USER_PARTICIPANT ? "the user" : file.participant.name;
  // `<participant>-canvas-<id>.ivf`: the canvas's rrweb id.
  const canvas = file.media === "canvas" ? /-canvas-(\d+)\.[a-z0-9]+$/i.exec(file.name)?.[1] : undefined;
  const media = canvas !== undefined ? `canvas #${canvas}` : file.media;
  return `${who} · ${media} · ${formatBytes(file.bytes)}${file.complete ? "" : " (incomplete)"}`;
}

/** Recordings newest first; each one's files the user's first, then by name. */
export function sortRecordings(recordings: readonly RecordingInfo[]): RecordingInfo[] {
  return [...recordings]
    .sort((a, b) => b.started_ms - a.started_ms || a.id.localeCompare(b.id))
    .map((r) => ({
      ...r,
      files: [...r.files].sort((a, b) => {
        const au = a.participant.id === USER_PARTICIPANT ? 0 : 1;
        const bu = b.participant.id === USER_PARTICIPANT ? 0 : 1;
        return au - bu || a.name.localeCompare(b.name);
      }),
    }));
}
