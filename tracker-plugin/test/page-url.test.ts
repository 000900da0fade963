import { describe, expect, it } from "vitest";

import { EventType, type eventWithTime } from "rrweb";

import { recordedEvent, recordedUrl, withoutCredentials, withoutQuery } from "../src/page-url";

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

  it("redacts secret-named parameters of a kept query and fragment, and leaves the rest as it was", () => {
    expect(recordedUrl("https://shop.example/cb?code=AUTH123&state=s1", true)).toBe(`https://shop.example/cb?code=${encodeURIComponent("[redacted]")}&state=s1`);
    const signed = "https://bucket.example/f.pdf?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc&response-content-type=pdf";
    const kept = recordedUrl(signed, true);
    expect(kept).not.toContain("AKIA");
    expect(kept).not.toContain("abc");
    expect(kept).toContain("response-content-type=pdf");
    expect(recordedUrl("https://maps.example/js?key=AIzaXYZ&v=3", true)).not.toContain("AIzaXYZ");
    const implicit = recordedUrl("https://shop.example/#access_token=eyJ.x.y&token_type=bearer&expires_in=3600", true);
    expect(implicit).not.toContain("eyJ");
    expect(implicit).toContain("expires_in=3600");
    // Nothing secret: the URL as the page had it, encoding and all.
    expect(recordedUrl("https://shop.example/s?q=a%20b&sort=price#reviews", true)).toBe("https://shop.example/s?q=a%20b&sort=price#reviews");
  });

  it("never keeps a username or password, also when the site keeps queries", () => {
    const url = "https://ann:hunter2@shop.example/a?q=1#f";
    expect(recordedUrl(url, false)).toBe("https://shop.example/a");
    expect(recordedUrl(url, true)).toBe("https://shop.example/a?q=1#f");
    expect(withoutCredentials("https://ann@shop.example/")).toBe("https://shop.example/");
    // Not a URL the parser takes: the `…@` after the scheme goes all the same.
    expect(withoutCredentials("https://ann:hunter2@[bad/x")).toBe("https://[bad/x");
    expect(withoutQuery("https://ann:hunter2@[bad/x?y=1")).toBe("https://[bad/x");
    for (const recordQuery of [false, true]) {
      const meta = { type: EventType.Meta, data: { href: url, width: 1, height: 1 }, timestamp: 1 } as eventWithTime;
      expect(JSON.stringify(recordedEvent(meta, recordQuery))).not.toContain("hunter2");
    }
  });
});
