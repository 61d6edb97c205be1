// The API token the user signed in with, kept in localStorage so a reload stays signed in.
const TOKEN_KEY = 'stackyard.token';

export function readToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string): void {
  localStorage.setItem(TOKEN_KEY, token);
}

export function clearToken(): void {
  localStorage.removeItem(TOKEN_KEY);
}

export function authorizationHeader(token: string | null = readToken()): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}
