import { describe, expect, it } from "vitest";
import { callMembers, callPanelModel, type CallPanelInput } from "../src/call-state";
import { TOO_SOON_TEXT, type KindState } from "../src/consent";

const alice = { id: "a1", name: "alice" };
const bob = { id: "b1", name: "bob" };

const st = (status: KindState["status"], reason: KindState["reason"] = null, holder: KindState["holder"] = null): KindState => ({
  status,
  reason,
  holder,
});

function input(overrides: Partial<CallPanelInput> = {}): CallPanelInput {
  return {
    connected: true,
    call: st("none"),
    record: st("none"),
    callHolders: [],
    recordHolders: [],
    selfId: alice.id,
    phase: "idle",
    closedReason: null,
    problem: "",
    hasAudio: false,
    hasVideo: false,
    ...overrides,
  };
}

describe("callPanelModel", () => {
  it("goes back to the start, with a notice, after a call request dropped as too soon", () => {
    const m = callPanelModel(input({ call: st("none", "too_soon") }));
    expect(m).toMatchObject({ state: "none", text: "", notice: TOO_SOON_TEXT, showStart: true, hangUp: null });
    // A device problem says more than that.
    expect(callPanelModel(input({ call: st("none", "too_soon"), problem: "Not connected" })).notice).toBe("Not connected");
    // Joining a call that runs, likewise.
    expect(callPanelModel(input({ call: st("none", "too_soon"), callHolders: [bob] }))).toMatchObject({
      state: "running",
      showJoin: true,
      notice: TOO_SOON_TEXT,
    });
    // A record request dropped as too soon leaves Record to click again.
    const rec = callPanelModel(input({ call: st("granted"), record: st("none", "too_soon"), callHolders: [alice], phase: "connected", hasAudio: true }));
    expect(rec).toMatchObject({ showRecord: true, recordEnabled: true, stopRecording: null, notice: "" });
    expect(rec.recordText).toBe("Asked too soon to record; try again in a few seconds");
  });

  it("offers a voice or video call when none runs", () => {
    const m = callPanelModel(input());
    expect(m).toMatchObject({ state: "none", showStart: true, showJoin: false, hangUp: null, showRecord: false, recording: false });
    expect(callPanelModel(input({ connected: false })).enabled).toBe(false);
  });

  it("waits for the user, with a way to cancel", () => {
    const m = callPanelModel(input({ call: st("pending") }));
    expect(m).toMatchObject({ state: "pending", text: "Waiting for the user…", showStart: false, showJoin: false, hangUp: "Cancel" });
  });

  it("says declined, and offers to call again", () => {
    expect(callPanelModel(input({ call: st("declined", "declined") }))).toMatchObject({
      state: "declined",
      text: "The user declined the call",
      showStart: true,
    });
    expect(callPanelModel(input({ call: st("declined", "timeout") })).text).toBe("The user did not answer (timed out)");
  });

  it("shows the way in while granted, then the call's controls", () => {
    const joining = callPanelModel(input({ call: st("granted"), callHolders: [alice], phase: "media" }));
    expect(joining).toMatchObject({ state: "joining", text: "Starting your microphone…", hangUp: "Hang up", showStart: false, showJoin: false });
    const inCall = callPanelModel(input({ call: st("granted"), callHolders: [alice], phase: "connected", hasAudio: true, hasVideo: true }));
    expect(inCall).toMatchObject({ state: "in-call", text: "In the call", showMute: true, showCamera: true, showRecord: true, recordEnabled: true });
    expect(inCall.members).toBe("In the call: the user, alice (you)");
    const voice = callPanelModel(input({ call: st("granted"), callHolders: [alice], phase: "connected", hasAudio: true }));
    expect(voice.showCamera).toBe(false);
  });

  it("lets a second agent join a call that runs", () => {
    const m = callPanelModel(input({ callHolders: [bob] }));
    expect(m).toMatchObject({ state: "running", showStart: false, showJoin: true, members: "In the call: the user, bob" });
  });

  it("offers to join again after the server closed the connection", () => {
    const m = callPanelModel(input({ call: st("granted"), callHolders: [alice], phase: "closed", closedReason: "participant replaced" }));
    expect(m).toMatchObject({ state: "closed", showRejoin: true, hangUp: "Hang up", recordEnabled: false });
    expect(m.text).toContain("participant replaced");
  });

  it("shows the recording indicator while anyone holds a record grant", () => {
    const mine = callPanelModel(input({ call: st("granted"), record: st("granted"), callHolders: [alice], recordHolders: [alice], phase: "connected" }));
    expect(mine).toMatchObject({ recording: true, showRecord: false, stopRecording: "Stop recording", recordText: "Recording the call" });
    const bobs = callPanelModel(input({ call: st("granted"), callHolders: [alice, bob], recordHolders: [bob], phase: "connected" }));
    expect(bobs).toMatchObject({ recording: true, showRecord: true, recordEnabled: false, stopRecording: null, recordText: "bob is recording the call" });
    // Watching without being in the call: the indicator still shows.
    expect(callPanelModel(input({ callHolders: [bob], recordHolders: [bob] })).recording).toBe(true);
    expect(callPanelModel(input({ callHolders: [bob] })).recording).toBe(false);
  });

  it("waits for the user to allow recording, and says no when declined or busy", () => {
    expect(callPanelModel(input({ call: st("granted"), record: st("pending"), phase: "connected" }))).toMatchObject({
      showRecord: false,
      stopRecording: "Cancel recording request",
      recordText: "Waiting for the user to allow recording…",
    });
    expect(callPanelModel(input({ call: st("granted"), record: st("declined", "declined"), phase: "connected" })).recordText).toBe(
      "The user declined recording",
    );
    expect(callPanelModel(input({ call: st("granted"), record: st("busy", "busy", bob), phase: "connected" })).recordText).toBe(
      "bob is already recording",
    );
  });

  it("does not enable Record outside the call", () => {
    expect(callPanelModel(input({ call: st("pending") })).showRecord).toBe(false);
    expect(callPanelModel(input({ call: st("granted"), phase: "media" })).recordEnabled).toBe(true);
    expect(callPanelModel(input({ call: st("granted"), phase: "failed", problem: "x" })).recordEnabled).toBe(false);
  });

  it("says how a call ended", () => {
    expect(callPanelModel(input({ call: st("none", "revoked") })).text).toBe("The user ended the call");
    expect(callPanelModel(input({ call: st("none", "session_ended") })).text).toBe("The session ended");
  });

  it("keeps a device problem beside the state", () => {
    const m = callPanelModel(input({ call: st("granted"), phase: "connected", problem: "Camera unavailable (x); joined with the microphone only", hasAudio: true }));
    expect(m.notice).toMatch(/Camera unavailable/);
  });
});

describe("callMembers", () => {
  it("lists the user first, then the agents, marking this one", () => {
    expect(callMembers([], alice.id)).toBe("");
    expect(callMembers([bob, alice], alice.id)).toBe("In the call: the user, bob, alice (you)");
  });
});
