import { describe, expect, it } from "vitest";
import { scrubStep, timelineBarModel, type TimelineBarInput } from "../src/time-travel";

describe("scrubStep", () => {
  it("keeps the live view when the timeline is dragged to its very end", () => {
    expect(scrubStep("live", "t1", 60_000, 60_000, false)).toBe("stay");
    expect(scrubStep("live", "t1", 59_800, 60_000, false)).toBe("stay");
  });

  it("leaves live for a replay when the timeline is dragged back", () => {
    expect(scrubStep("live", "t1", 30_000, 60_000, false)).toBe("load");
  });

  it("stays live when there is no tab to replay yet", () => {
    expect(scrubStep("live", null, 0, 60_000, false)).toBe("stay");
  });

  it("moves the replayer on screen when it already holds that moment of the tab", () => {
    expect(scrubStep("past", "t1", 10_000, 60_000, true)).toBe("seek");
    expect(scrubStep("recorded", "t1", 10_000, 60_000, true)).toBe("seek");
  });

  it("loads a replayer when the one on screen does not hold that moment", () => {
    expect(scrubStep("past", "t1", 59_900, 60_000, false)).toBe("load");
    expect(scrubStep("recorded", "t1", 0, 60_000, false)).toBe("load");
  });
});

describe("timelineBarModel", () => {
  const base: TimelineBarInput = {
    mode: "past",
    end: 65_400.6,
    slider: 12_000,
    playingAt: null,
    hasReplayer: true,
    canGoLive: true,
  };

  it("pins the slider to the end while live and says so", () => {
    const m = timelineBarModel({ ...base, mode: "live", hasReplayer: false });
    expect(m).toMatchObject({ max: 65_401, value: 65_401, moveSlider: true, label: "1:05 · live" });
    // The live view pauses into the past; there is no replayer to wait for.
    expect(m.playText).toBe("❚❚ Pause");
    expect(m.playDisabled).toBe(false);
    expect(m.backToLive).toBe(false);
  });

  it("tells screen readers the position as m:ss", () => {
    expect(timelineBarModel(base).valueText).toBe("0:12");
    expect(timelineBarModel({ ...base, playingAt: 64_999 }).valueText).toBe("1:04");
    expect(timelineBarModel({ ...base, mode: "live" }).valueText).toBe("1:05, live");
  });

  it("leaves a paused replay's slider where the agent put it", () => {
    const m = timelineBarModel(base);
    expect(m).toMatchObject({ value: 12_000, moveSlider: false, label: "0:12 / 1:05", playing: false, playText: "▶ Play" });
  });

  it("moves the slider with a playing replay", () => {
    const m = timelineBarModel({ ...base, playingAt: 20_700.4 });
    expect(m).toMatchObject({ value: 20_700, moveSlider: true, label: "0:20 / 1:05", playing: true, playText: "❚❚ Pause" });
  });

  it("never puts the slider past the end", () => {
    expect(timelineBarModel({ ...base, slider: 90_000 }).value).toBe(65_401);
    expect(timelineBarModel({ ...base, playingAt: 90_000 }).label).toBe("1:05 / 1:05");
  });

  it("offers back to live only for a live session looked at in the past", () => {
    expect(timelineBarModel(base).backToLive).toBe(true);
    expect(timelineBarModel({ ...base, canGoLive: false }).backToLive).toBe(false);
    expect(timelineBarModel({ ...base, mode: "recorded", canGoLive: false }).backToLive).toBe(false);
  });

  it("disables play until a replayer is on screen", () => {
    expect(timelineBarModel({ ...base, hasReplayer: false }).playDisabled).toBe(true);
    expect(timelineBarModel({ ...base, mode: "recorded", hasReplayer: false }).playDisabled).toBe(true);
  });
});
