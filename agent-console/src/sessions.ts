// Ordering of the session list. Pure.

/** Live sessions first, then the others; newest first within each (ties broken by id). */
export function sortSessions<T extends { live: boolean; started_ms: number; id: string }>(sessions: readonly T[]): T[] {
  return [...sessions].sort((a, b) => {
    if (a.live !== b.live) return a.live ? -1 : 1;
    if (a.started_ms !== b.started_ms) return b.started_ms - a.started_ms;
    return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  });
}
