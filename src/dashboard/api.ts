// The page's one door to the node: fetch() of the same-origin JSON API. Credentials, when the
// node asks for them (401), come from the login form and stay in sessionStorage (this tab only);
// they go in an Authorization header we set ourselves, with credentials: 'omit' so the browser
// never raises its own Basic prompt nor reuses cached ones.

import { askCredentials } from './login.js';

const STORE_KEY = 'tessera.dashboard.auth';
/** Dispatched on window when credentials were stored (the header shows "Sign out"). */
export const SIGNED_IN_EVENT = 'tessera-signed-in';
/** Dispatched on window when the form was cancelled (the header shows "Sign in"). */
export const DECLINED_EVENT = 'tessera-sign-in-declined';

/** The form was cancelled: later 401s fail at once instead of asking again on every poll,
 * until the user asks to sign in (askAgain). */
let declined = false;

export function askAgain(): void {
  declined = false;
}
/** A request that hangs this long is abandoned (the view shows the error and retries later). */
const TIMEOUT_MS = 10_000;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function authHeader(): string | null {
  return sessionStorage.getItem(STORE_KEY);
}

export function forgetCredentials(): void {
  sessionStorage.removeItem(STORE_KEY);
}

export function hasCredentials(): boolean {
  return authHeader() !== null;
}

async function once(method: string, path: string, body: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const auth = authHeader();
  if (auth !== null) headers['authorization'] = auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
}

async function errorText(r: Response): Promise<string> {
  try {
    const j = (await r.json()) as { error?: unknown };
    if (typeof j.error === 'string') return j.error;
  } catch {
    // not JSON: the status line says enough
  }
  return `${r.status} ${r.statusText}`;
}

/** Calls the API; on 401 asks for credentials (once per call, the form may be cancelled) and
 * tries again with them. Throws ApiError for any other non-2xx answer. */
export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let r = await once(method, path, body);
  // The refusal's text, once read (a body reads only once).
  let refusal: string | null = null;
  if (r.status === 401) {
    const reason = (refusal = await errorText(r));
    const creds = declined ? null : await askCredentials(reason);
    if (creds === null && !declined) {
      declined = true;
      window.dispatchEvent(new Event(DECLINED_EVENT));
    }
    if (creds !== null) {
      const bytes = new TextEncoder().encode(`${creds.user}:${creds.pass}`);
      sessionStorage.setItem(STORE_KEY, `Basic ${btoa(String.fromCharCode(...bytes))}`);
      window.dispatchEvent(new Event(SIGNED_IN_EVENT));
      r = await once(method, path, body);
      refusal = null;
    }
  }
  if (!r.ok) throw new ApiError(r.status, refusal ?? (await errorText(r)));
  return (await r.json()) as T;
}

export const get = <T>(path: string): Promise<T> => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown): Promise<T> => request<T>('POST', path, body ?? {});
