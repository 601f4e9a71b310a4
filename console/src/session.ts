/** The signed-in credential, kept in session storage (gone when the tab closes). */

import { Concord } from '@concord/sdk';

const KEY = 'concord.console.credential';

/** An API key or a bearer token. */
export interface Credential {
  kind: 'apiKey' | 'token';
  value: string;
}

/** The stored credential, if any. */
export function load(): Credential | null {
  const raw = sessionStorage.getItem(KEY);
  if (raw === null) return null;
  try {
    const data = JSON.parse(raw) as Partial<Credential>;
    if ((data.kind === 'apiKey' || data.kind === 'token') && typeof data.value === 'string') {
      return { kind: data.kind, value: data.value };
    }
  } catch {
    // a damaged entry counts as signed out
  }
  sessionStorage.removeItem(KEY);
  return null;
}

/** Keep the credential for this tab. */
export function save(credential: Credential): void {
  sessionStorage.setItem(KEY, JSON.stringify(credential));
}

/** Forget the credential. */
export function clear(): void {
  sessionStorage.removeItem(KEY);
}

/** An SDK client of the server that serves the console. */
export function clientFor(credential: Credential): Concord {
  return new Concord({
    baseURL: window.location.origin,
    apiKey: credential.kind === 'apiKey' ? credential.value : null,
    bearerToken: credential.kind === 'token' ? credential.value : null,
    maxRetries: 1,
  });
}
