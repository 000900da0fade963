// The sessions picked for the multi-live grid, kept in localStorage so the list and the grid
// (and a reload) agree.

const KEY = "cobrowse.grid";
/** More cells than this get too small to read on a laptop screen. */
export const MAX_GRID = 12;

type Listener = (ids: string[]) => void;
const listeners = new Set<Listener>();

export function gridSelection(): string[] {
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(KEY) ?? "[]");
    return Array.isArray(raw) ? raw.filter((x): x is string => typeof x === "string").slice(0, MAX_GRID) : [];
  } catch {
    return [];
  }
}

export function setGridSelection(ids: string[]): void {
  const unique = [...new Set(ids)].slice(0, MAX_GRID);
  localStorage.setItem(KEY, JSON.stringify(unique));
  for (const l of listeners) l(unique);
}

/** Adds or removes one session; returns whether it is now in the grid. */
export function toggleInGrid(id: string, on: boolean): boolean {
  const ids = gridSelection().filter((x) => x !== id);
  if (on && ids.length < MAX_GRID) ids.push(id);
  setGridSelection(ids);
  return ids.includes(id);
}

export function onGridChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
