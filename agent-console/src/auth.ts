// The agent token, kept in localStorage so a reload stays signed in.

const KEY = "cobrowse.agentToken";

export function loadToken(): string | null {
  try {
    const t = localStorage.getItem(KEY);
    return t && t.trim() !== "" ? t : null;
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  localStorage.setItem(KEY, token.trim());
}

export function clearToken(): void {
  localStorage.removeItem(KEY);
}
