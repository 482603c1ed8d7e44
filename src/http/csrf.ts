import type { FastifyRequest } from 'fastify';
import { sameSecret } from '../accounts/browser-sessions.js';
import { HttpError } from './errors.js';

export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether a browser's Origin header names this server: the public origin (PUBLIC_URL), or the
 * origin the request itself was addressed to (its Host), which a cross-site page cannot forge;
 * the second keeps the console working when reached by another name (a test on a free port).
 */
export function isOwnOrigin(request: FastifyRequest, publicOrigin: string): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (origin === publicOrigin) return true;
  return origin === `${request.protocol}://${request.host}`;
}

/** A browser-originated write from another site is refused before anything else is looked at. */
export function assertOwnOrigin(request: FastifyRequest, publicOrigin: string): void {
  if (!isOwnOrigin(request, publicOrigin)) {
    throw new HttpError(403, 'This request comes from another site (its Origin header), so it is refused.');
  }
}

/**
 * The CSRF defence for requests authenticated by the session cookie: a write must come from this
 * server's own pages (Origin, when the browser sends it) and carry the session's CSRF token in
 * X-CSRF-Token, which a page of another site cannot read. Reads change nothing and pass.
 */
export function assertCsrf(request: FastifyRequest, publicOrigin: string, csrfToken: string): void {
  if (SAFE_METHODS.has(request.method)) return;
  assertOwnOrigin(request, publicOrigin);
  const header = request.headers[CSRF_HEADER];
  const given = Array.isArray(header) ? header[0] : header;
  if (!given || !sameSecret(given, csrfToken)) {
    throw new HttpError(403, 'A request signed in by cookie that changes something needs the X-CSRF-Token header from /api/v1/auth/me.');
  }
}
