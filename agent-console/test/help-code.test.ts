import { describe, expect, it } from "vitest";

import { codeProblem, normalizeCode } from "../src/help-code";

describe("help codes as typed", () => {
  it("keeps six digits, read out in groups or not", () => {
    expect(normalizeCode("042137")).toBe("042137");
    expect(normalizeCode(" 042 137 ")).toBe("042137");
    expect(normalizeCode("042-137")).toBe("042137");
  });

  it("refuses what is not six digits", () => {
    for (const typed of ["", "12345", "1234567", "12a456", "+12345"]) expect(normalizeCode(typed)).toBeNull();
  });

  it("says what to do about each refusal", () => {
    expect(codeProblem(404, "not_found", "")).toMatch(/Check the digits/);
    expect(codeProblem(410, "expired", "")).toMatch(/expired/);
    expect(codeProblem(410, "used", "")).toMatch(/already used/);
    expect(codeProblem(429, "too_many", "too many wrong codes from you; try again in 540 s")).toBe(
      "Too many wrong codes. Try again in 540 s.",
    );
  });
});
