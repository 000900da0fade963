import { describe, expect, it } from "vitest";

import { navigationRefusal } from "../src/navigation";

/** A `Location` as far as the rule reads it. */
function at(href: string): Location {
  const url = new URL(href);
  return { href, protocol: url.protocol, origin: url.origin } as Location;
}

describe("where an agent may take the page", () => {
  const page = at("https://shop.example/cart/");

  it("allows paths and URLs of the page's own origin", () => {
    for (const url of ["/checkout", "next", "../help?q=1#top", "https://shop.example/x"]) {
      expect(navigationRefusal(url, page), url).toBeUndefined();
    }
  });

  it("refuses other origins, however they are spelled", () => {
    for (const url of ["https://evil.example/", "http://shop.example/", "//evil.example/", "/\\\\evil.example/", " https://evil.example"]) {
      expect(navigationRefusal(url, page), url).toMatch(/another origin/);
    }
  });

  it("refuses every scheme but http(s)", () => {
    for (const url of ["javascript:alert(1)", " java\tscript:alert(1)", "data:text/html,x", "blob:https://shop.example/1", "file:///etc/passwd"]) {
      expect(navigationRefusal(url, page), url).toMatch(/only http\(s\) URLs/);
    }
  });

  it("sends a page without an http(s) origin nowhere, not even to javascript:", () => {
    for (const opaque of [at("about:blank"), at("data:text/html,hi"), { href: "https://x.example/", protocol: "https:", origin: "null" } as Location]) {
      expect(navigationRefusal("javascript:alert(1)", opaque)).toMatch(/no http\(s\) origin/);
      expect(navigationRefusal("/x", opaque)).toMatch(/no http\(s\) origin/);
    }
  });
});
