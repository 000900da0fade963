// Every test file: `byUser` accepts the events test/user.ts marks as the user's (see there).
import { vi } from "vitest";

import { stamps } from "./user";

vi.mock("../src/user-input", async () => {
  const { userEvents } = await import("./user");
  return { byUser: (event: Event) => userEvents.has(event) };
});

// jsdom stamps events with its own clock; a test says when its events happened (test/user.ts).
// Still the getter of real events only: anything else throws, as in a browser.
const jsdomTimeStamp = Object.getOwnPropertyDescriptor(Event.prototype, "timeStamp")!.get!;
Object.defineProperty(Event.prototype, "timeStamp", {
  configurable: true,
  enumerable: true,
  get(this: Event): number {
    return stamps.get(this) ?? (jsdomTimeStamp.call(this) as number);
  },
});

// jsdom draws nothing (it has no 2D context and says so on every call): canvases get none, as
// a browser without one would, and tests that need drawing give them a fake.
HTMLCanvasElement.prototype.getContext = () => null;
