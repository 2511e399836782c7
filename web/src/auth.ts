// Signing in to a server with access control: the user pastes an API token, which is checked
// with /api/v1/whoami and kept in this tab's session storage (gone when the tab closes, never
// written to disk by the page). Every request of the UI sends it as a bearer token.

import { apiUrl } from "./base";

const KEY = "modeltrail.token";

export interface Principal {
  name: string;
  role?: string | null;
  id?: string | null;
}

/** What the UI knows of the session: access control off, signed in, or a sign-in needed. */
export type Session = { state: "open" } | { state: "signed-in"; principal: Principal } | { state: "signed-out" };

const listeners = new Set<(s: Session) => void>();
let current: Session | undefined;

export function storedToken(): string | null {
  try {
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: behave as signed out
  }
}

export function authHeaders(): Record<string, string> {
  const token = storedToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

function publish(session: Session): void {
  current = session;
  listeners.forEach((l) => l(session));
}

export function onSession(listener: (s: Session) => void): () => void {
  listeners.add(listener);
  if (current) listener(current);
  return () => void listeners.delete(listener);
}

async function whoami(token: string | null): Promise<Response> {
  return fetch(apiUrl("/whoami"), {
    headers: { accept: "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
}

/** Ask the server who this tab is; an answer without a token means access control is off. */
export async function checkSession(): Promise<Session> {
  const token = storedToken();
  const response = await whoami(token);
  if (response.status === 401) {
    if (token) window.sessionStorage.removeItem(KEY); // expired or revoked
    publish({ state: "signed-out" });
  } else if (response.ok) {
    const principal = (await response.json()) as Principal;
    publish(token ? { state: "signed-in", principal } : { state: "open" });
  } else {
    throw new Error(`the server answered ${response.status} to /api/v1/whoami`);
  }
  return current!;
}

/** Check a pasted token; keep it only when the server knows it. Returns the reason it was refused. */
export async function signIn(token: string): Promise<string | null> {
  const trimmed = token.trim();
  if (!trimmed) return "paste an API token";
  const response = await whoami(trimmed);
  if (!response.ok) {
    let detail = `the server answered ${response.status}`;
    try {
      const body = (await response.json()) as { detail?: string };
      if (body.detail) detail = body.detail;
    } catch {
      /* keep the status */
    }
    return detail;
  }
  window.sessionStorage.setItem(KEY, trimmed);
  publish({ state: "signed-in", principal: (await response.json()) as Principal });
  return null;
}

export function signOut(): void {
  window.sessionStorage.removeItem(KEY);
  publish({ state: "signed-out" });
}

/** An API call answered 401: the token is gone or was never given. */
export function sessionLost(): void {
  if (current?.state !== "signed-out") {
    window.sessionStorage.removeItem(KEY);
    publish({ state: "signed-out" });
  }
}
