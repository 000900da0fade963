// The agent token, kept in sessionStorage: a reload of the tab stays signed in, and closing the tab
// forgets it. Nothing of it goes to localStorage, which every tab and every later visit would
// share (and which an earlier console used: what it left there is removed).

const KEY = "cobrowse.agentToken";

export function loadToken(): string | null {
  try {
    localStorage.removeItem(KEY);
    const t = sessionStorage.getItem(KEY);
    return t && t.trim() !== "" ? t : null;
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}
