// The sessions the list shows, kept the way the server orders them (newest first: session ids
// are UUIDv7, so by id, descending) and limited to the pages loaded so far. The watch feed's
// `session` and `gone` events are merged in here: a change updates its row in place, a new
// session goes where the server would have put it — if that is on the loaded pages; an older one
// waits for "Load more" to bring it. Pure.

/** What the merge needs of a session. */
export interface Listed {
  id: string;
}

export interface SessionPageState<T extends Listed> {
  /** Newest first. */
  sessions: readonly T[];
  /** The server's `next_cursor`: the last session loaded; null when nothing is left to load. */
  cursor: string | null;
}

export function emptyPage<T extends Listed>(): SessionPageState<T> {
  return { sessions: [], cursor: null };
}

/** Newer first, as the server lists them (lower-case UUIDv7 text sorts by creation time). */
function newerFirst(a: Listed, b: Listed): number {
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * Whether a session belongs on the loaded pages: it does unless more pages are left to load and
 * it is older than the last one loaded (the next pages hold it).
 */
function onLoadedPages(state: SessionPageState<Listed>, id: string): boolean {
  return state.cursor === null || id >= state.cursor;
}

/**
 * A page arrived: `first` replaces what is shown (a new query, or a reload after the feed missed
 * changes); otherwise it is the next page, after what is shown.
 */
export function withPage<T extends Listed>(
  state: SessionPageState<T>,
  page: { sessions: readonly T[]; next_cursor: string | null },
  first: boolean,
): SessionPageState<T> {
  const byId = new Map<string, T>(first ? [] : state.sessions.map((s) => [s.id, s]));
  for (const s of page.sessions) byId.set(s.id, s);
  return { sessions: [...byId.values()].sort(newerFirst), cursor: page.next_cursor };
}

/** A `session` event: a session that matches the query, new or changed. */
export function withSession<T extends Listed>(state: SessionPageState<T>, session: T): SessionPageState<T> {
  const index = state.sessions.findIndex((s) => s.id === session.id);
  if (index >= 0) {
    const sessions = [...state.sessions];
    sessions[index] = session;
    return { ...state, sessions };
  }
  if (!onLoadedPages(state, session.id)) return state;
  return { ...state, sessions: [...state.sessions, session].sort(newerFirst) };
}

/** A `gone` event: the session no longer matches the query (or was erased). */
export function withoutSession<T extends Listed>(state: SessionPageState<T>, id: string): SessionPageState<T> {
  if (!state.sessions.some((s) => s.id === id)) return state;
  return { ...state, sessions: state.sessions.filter((s) => s.id !== id) };
}
