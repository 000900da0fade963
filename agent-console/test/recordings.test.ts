import { describe, expect, it } from "vitest";
import { recordingFilePath, type RecordingInfo } from "../src/api";
import { fileLabel, formatBytes, isPlayableAudio, sortRecordings } from "../src/recordings";

const user = { id: "user", name: "Dana" };
const alice = { id: "0193e0b6-aaaa-7000-8000-000000000001", name: "alice" };

const recordings: RecordingInfo[] = [
  {
    id: "rec-old",
    started_ms: 1000,
    files: [{ name: "user-audio.ogg", participant: user, media: "audio", bytes: 2048, complete: true }],
  },
  {
    id: "rec-new",
    started_ms: 5000,
    files: [
      { name: `${alice.id}-audio.ogg`, participant: alice, media: "audio", bytes: 812, complete: true },
      { name: "user-canvas-42.ivf", participant: user, media: "canvas", bytes: 3 * 1024 * 1024, complete: false },
      { name: "user-audio.ogg", participant: user, media: "audio", bytes: 1536, complete: true },
    ],
  },
];

describe("recordings", () => {
  it("links each file to its route (protocol.md §10.6), escaped", () => {
    expect(recordingFilePath("0193e0b6-8c1e-7a4e-9b5e-1f2d3c4b5a69", "rec-new", "user-audio.ogg")).toBe(
      "/api/v1/sessions/0193e0b6-8c1e-7a4e-9b5e-1f2d3c4b5a69/recordings/rec-new/user-audio.ogg",
    );
    expect(recordingFilePath("s", "a/b", "x y.ogg")).toBe("/api/v1/sessions/s/recordings/a%2Fb/x%20y.ogg");
  });

  it("lists recordings newest first, the user's files first", () => {
    const sorted = sortRecordings(recordings);
    expect(sorted.map((r) => r.id)).toEqual(["rec-new", "rec-old"]);
    expect(sorted[0]!.files.map((f) => f.name)).toEqual(["user-audio.ogg", "user-canvas-42.ivf", `${alice.id}-audio.ogg`]);
    // The input is left as it was.
    expect(recordings[0]!.id).toBe("rec-old");
  });

  it("names whose each file is, what it holds and its size", () => {
    const [newest] = sortRecordings(recordings);
    expect(newest!.files.map(fileLabel)).toEqual([
      "the user · audio · 1.5 KB",
      "the user · canvas #42 · 3.0 MB (incomplete)",
      "alice · audio · 812 B",
    ]);
  });

  it("plays Ogg audio in the page; video files are downloads", () => {
    expect(isPlayableAudio({ name: "user-audio.ogg" })).toBe(true);
    expect(isPlayableAudio({ name: "user-video.ivf" })).toBe(false);
  });

  it("formats sizes", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1024)).toBe("1.0 KB");
    expect(formatBytes(5 * 1024 * 1024 * 1024)).toBe("5.0 GB");
  });
});
