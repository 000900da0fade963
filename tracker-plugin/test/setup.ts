// Every test file: `byUser` accepts the events test/user.ts marks as the user's (see there).
import { vi } from "vitest";

vi.mock("../src/user-input", async () => {
  const { userEvents } = await import("./user");
  return { byUser: (event: Event) => userEvents.has(event) };
});
