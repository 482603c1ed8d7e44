/**
 * Every call the console makes goes through here: same-origin `/api/v1`, the session cookie, and
 * on writes the CSRF token the server handed out with /auth/me or sign-in. A non-2xx answer becomes
 * an ApiError carrying the server's own one-sentence message, for the page to show where it belongs.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

type Listener = (status: number) => void;

let csrfToken: string | null = null;
const unauthorizedListeners = new Set<Listener>();

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Told when any call answers 401, so the console can return to the sign-in page at once. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export interface CallOptions {
  body?: unknown;
  /** A raw body (an import file's text), sent as JSON without parsing it here. */
  rawJson?: string;
  signal?: AbortSignal;
  /** Whether a 401 means "signed out" (not for the sign-in form itself). */
  quiet401?: boolean;
}

async function messageOf(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // Not JSON: fall through to the status line.
  }
  return `${response.status} ${response.statusText}`.trim();
}

export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: string | undefined;
  if (options.rawJson !== undefined) body = options.rawJson;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body, credentials: 'same-origin', signal: options.signal ?? null });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new ApiError(0, 'The server could not be reached.');
  }
  if (!response.ok) {
    const retry = response.headers.get('retry-after');
    const error = new ApiError(response.status, await messageOf(response), retry ? Number(retry) : null);
    if (response.status === 401 && !options.quiet401) for (const listener of unauthorizedListeners) listener(401);
    throw error;
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

export const api = {
  get: <T>(path: string, options?: CallOptions) => call<T>('GET', path, options),
  post: <T>(path: string, body?: unknown, options?: CallOptions) => call<T>('POST', path, { ...options, body }),
  patch: <T>(path: string, body: unknown, options?: CallOptions) => call<T>('PATCH', path, { ...options, body }),
  put: <T>(path: string, body: unknown, options?: CallOptions) => call<T>('PUT', path, { ...options, body }),
  del: <T>(path: string, options?: CallOptions) => call<T>('DELETE', path, options),
};

/** A query string from the parameters that are set. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
