import { describe, expect, it } from "vitest";
import { browserName, formatAgo, formatDuration, formatOffset, sessionDuration, userLabel } from "../src/format";

describe("browserName", () => {
  const cases: Array<[string, string]> = [
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36", "Chrome 120"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox 121"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15", "Safari 17"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.77", "Edge 120"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0", "Opera 105"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Safari 17"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1", "Chrome 120"],
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "Headless Chrome 131"],
    ["Mozilla/5.0 (Linux; Android 13; SM-S908B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", "Samsung Internet 23"],
    ["curl/8.4.0", "Unknown"],
    ["", "Unknown"],
  ];
  for (const [ua, name] of cases) {
    it(`${name} from ${ua.slice(0, 40) || "(empty)"}…`, () => expect(browserName(ua)).toBe(name));
  }
});

describe("formatDuration", () => {
  it("formats seconds, minutes and hours", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(999)).toBe("0s");
    expect(formatDuration(45_000)).toBe("45s");
    expect(formatDuration(185_000)).toBe("3m 05s");
    expect(formatDuration(3_720_000)).toBe("1h 02m");
    expect(formatDuration(-5000)).toBe("0s");
  });
  it("formats timeline offsets", () => {
    expect(formatOffset(0)).toBe("0:00");
    expect(formatOffset(65_432)).toBe("1:05");
    expect(formatOffset(3_725_000)).toBe("1:02:05");
  });
  it("says how long ago", () => {
    const now = 1_000_000_000;
    expect(formatAgo(now - 1000, now)).toBe("just now");
    expect(formatAgo(now - 42_000, now)).toBe("42 s ago");
    expect(formatAgo(now - 180_000, now)).toBe("3 min ago");
    expect(formatAgo(now - 7_200_000, now)).toBe("2 h ago");
    expect(formatAgo(now - 3 * 86_400_000, now)).toBe("3 d ago");
  });
});

describe("session fields", () => {
  const base = { started_ms: 1000, last_activity_ms: 61_000, ended_ms: null };
  it("measures a live session until now, an ended one until its end", () => {
    expect(sessionDuration({ ...base, live: true }, 100_000)).toBe(99_000);
    expect(sessionDuration({ ...base, live: false, ended_ms: 31_000 }, 100_000)).toBe(30_000);
    expect(sessionDuration({ ...base, live: false }, 100_000)).toBe(60_000);
  });
  it("labels a session by its user, else its id", () => {
    expect(userLabel({ user_id: "user-42", id: "0193e0b6-8c1e-7a4e-9b5e-1f2d3c4b5a69" })).toBe("user-42");
    expect(userLabel({ user_id: null, id: "0193e0b6-8c1e-7a4e-9b5e-1f2d3c4b5a69" })).toBe("anonymous · 4b5a69");
  });
});
