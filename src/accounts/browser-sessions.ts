import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { BrowserSessionRecord, UserAccount } from '../store/accounts-store.js';
import type { Store } from '../store/store.js';
import { hashToken } from './tokens.js';
import { markInBackground } from './usage-marks.js';

export const SESSION_COOKIE = 'coachport_session';
/** Signed out after 12 hours without a request, and after 7 days whatever happens. */
export const IDLE_TIMEOUT_MS = 12 * 3_600_000;
export const ABSOLUTE_LIFETIME_MS = 7 * 86_400_000;
/** last_seen_at is written at most once a minute: idle expiry needs no finer grain. */
const TOUCH_RESOLUTION_MS = 60_000;

/** A new session id (256 random bits): a new one at every sign-in, so an id planted before sign-in is worthless. */
export function mintBrowserSession(orgId: string, userId: string, now: number): { id: string; record: BrowserSessionRecord } {
  const id = randomBytes(32).toString('base64url');
  return { id, record: { idHash: hashToken(id), orgId, userId, createdAt: now, lastSeenAt: now } };
}

/**
 * The session's CSRF token, derived from its id rather than stored: whoever can read the page can
 * have it, a cross-site page cannot, and the database holds neither it nor the id.
 */
export function csrfTokenFor(sessionId: string): string {
  return createHash('sha256').update(`coachport-csrf:${sessionId}`, 'utf8').digest('base64url');
}

export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export type BrowserSessionResult =
  | { ok: true; orgId: string; user: UserAccount; idHash: string; csrfToken: string }
  | { ok: false; error: string };

/** The signed-in person behind a cookie, if the session is live; an ended session is removed. */
export async function resolveBrowserSession(store: Store, sessionId: string, now: number): Promise<BrowserSessionResult> {
  const idHash = hashToken(sessionId);
  const found = await store.findBrowserSession(idHash);
  if (!found) return { ok: false, error: 'The browser session has ended; sign in again.' };
  const { session, user } = found;
  const expired = now - session.lastSeenAt >= IDLE_TIMEOUT_MS || now - session.createdAt >= ABSOLUTE_LIFETIME_MS;
  if (expired || !user.active) {
    await store.deleteBrowserSession(idHash);
    return { ok: false, error: user.active ? 'The browser session has ended; sign in again.' : 'This account has been deactivated.' };
  }
  // As a token's last use (tokens.ts): no request waits for it or fails with it.
  if (now - session.lastSeenAt >= TOUCH_RESOLUTION_MS) {
    markInBackground(`browser session ${idHash}`, "A browser session's last sight", () => store.touchBrowserSession(idHash, now));
  }
  return { ok: true, orgId: session.orgId, user, idHash, csrfToken: csrfTokenFor(sessionId) };
}
