import { describe, expect, it } from "vitest";

import { recordedUrl, withoutQuery } from "../src/page-url";

describe("the page's address as recorded", () => {
  it("drops the query string and the fragment", () => {
    expect(withoutQuery("https://shop.example/reset?token=abc#x")).toBe("https://shop.example/reset");
    expect(withoutQuery("https://shop.example/a#access_token=t")).toBe("https://shop.example/a");
    expect(withoutQuery("not a url?secret=1")).toBe("not a url");
  });

  it("keeps them when the site opts in", () => {
    expect(recordedUrl("https://shop.example/?q=1#f", true)).toBe("https://shop.example/?q=1#f");
    expect(recordedUrl("https://shop.example/?q=1#f", false)).toBe("https://shop.example/");
  });
});
