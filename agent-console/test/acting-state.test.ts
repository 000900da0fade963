import { describe, expect, it } from "vitest";
import { NOTICE_MS, Notices, PointerChoice } from "../src/acting-state";

describe("PointerChoice", () => {
  it("gives the mouse to control once the user grants it, and only over the live page", () => {
    const p = new PointerChoice();
    expect(p.active(true)).toEqual({ control: false, annotate: false });
    p.update({ control: true, annotate: false });
    expect(p.active(true)).toEqual({ control: true, annotate: false });
    expect(p.active(false)).toEqual({ control: false, annotate: false });
    expect(p.pointer).toBeNull();
  });

  it("lets a grant that just arrived take the mouse from the other one", () => {
    const p = new PointerChoice();
    p.update({ control: true, annotate: false });
    p.update({ control: true, annotate: true });
    expect(p.pointer).toBe("annotate");
    expect(p.active(true)).toEqual({ control: false, annotate: true });
  });

  it("with both grants, follows the agent's pick until a grant arrives again", () => {
    const p = new PointerChoice();
    p.update({ control: true, annotate: true });
    p.choose("control");
    p.update({ control: true, annotate: true });
    expect(p.active(true)).toEqual({ control: true, annotate: false });
    // Drawing given back and granted again: drawing takes the mouse.
    p.update({ control: true, annotate: false });
    p.update({ control: true, annotate: true });
    expect(p.pointer).toBe("annotate");
  });

  it("keeps the only grant active whatever the agent picked", () => {
    const p = new PointerChoice();
    p.choose("annotate");
    p.update({ control: true, annotate: false });
    p.choose("annotate");
    expect(p.active(true)).toEqual({ control: true, annotate: false });
  });
});

describe("Notices", () => {
  it("shows the agent's notice for a while, then drops it", () => {
    const n = new Notices();
    n.show("Not connected", 1000);
    expect(n.text(null, 1000 + NOTICE_MS)).toBe("Not connected");
    expect(n.text(null, 1001 + NOTICE_MS)).toBe("");
  });

  it("shows a recent server complaint when the agent has no notice of its own", () => {
    const n = new Notices();
    const error = { text: "frame too large", at: 5000 };
    expect(n.text(error, 5000)).toBe("The server dropped a message: frame too large");
    n.show("Not connected", 5000);
    expect(n.text(error, 5000)).toBe("Not connected");
    expect(new Notices().text(error, 5000 + NOTICE_MS)).toBe("");
  });

  it("shows a refusal by role as a refusal, naming the role it takes", () => {
    const refused = { text: "agent vera is a viewer and may not request control: that takes the helper role", at: 5000, refused: true };
    expect(new Notices().text(refused, 5000)).toBe(
      "Refused: agent vera is a viewer and may not request control: that takes the helper role",
    );
  });
});
