import { describe, expect, it, vi } from "vitest";

// The real check, not the stand-in test/setup.ts gives every other file.
vi.unmock("../src/user-input");
const { byUser } = await import("../src/user-input");

describe("the user's own input", () => {
  it("is not an event a script made or dispatched", () => {
    const button = document.createElement("button");
    let seen: Event | undefined;
    button.addEventListener("click", (e) => (seen = e));
    button.click();
    expect(byUser(seen!)).toBe(false);
    button.dispatchEvent(new MouseEvent("click"));
    expect(byUser(seen!)).toBe(false);
    // Read through the browser's getter: an object saying it is trusted is not an event at all.
    expect(byUser({ isTrusted: true } as unknown as Event)).toBe(false);
  });
});
