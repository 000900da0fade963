// Every test file: `byUser` accepts the events test/user.ts marks as the user's (see there).
import { vi } from "vitest";

vi.mock("../src/user-input", async () => {
  const { userEvents } = await import("./user");
  return { byUser: (event: Event) => userEvents.has(event) };
});

// jsdom draws nothing (it has no 2D context and says so on every call): canvases get none, as
// a browser without one would, and tests that need drawing give them a fake.
HTMLCanvasElement.prototype.getContext = () => null;
