import { createHash, randomBytes } from 'node:crypto';
import { DAY_MS, isoOrNull as iso } from '../contract/dates.js';
import { newId } from '../ids.js';
import { markInBackground } from './usage-marks.js';
import type { NewToken, TokenOwner, TokenRecord } from '../store/accounts-store.js';
import type { Store } from '../store/store.js';
import type { UserRecord } from '../coaching/records.js';

export const DEFAULT_TOKEN_DAYS = 90;
const TOKEN_PREFIX = 'cp_';
/** Shown in listings so a person can tell tokens apart without the secret. */
const VISIBLE_CHARS = 10;
/** last_used_at is a hint, not an audit trail: writing it at most once a minute keeps reads cheap. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Tokens carry 256 random bits, so a plain SHA-256 is enough to make a stolen table useless
 * (no dictionary to try) while keeping the per-request lookup a single indexed equality.
 */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export interface IssuedToken {
  secret: string;
  token: TokenRecord;
}

/** A new secret and the record that stores only its hash. */
export function mintToken(owner: { orgId: string; userId: string }, expiresInDays: number | null, now: number) {
  const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const record: NewToken = {
    id: newId(now),
    orgId: owner.orgId,
    userId: owner.userId,
    hash: hashToken(secret),
    prefix: secret.slice(0, VISIBLE_CHARS),
    createdAt: now,
    expiresAt: expiresInDays === null ? null : now + expiresInDays * DAY_MS,
  };
  return { secret, record };
}

export async function issueToken(
  store: Store,
  owner: { orgId: string; userId: string },
  expiresInDays: number | null,
  now: number,
): Promise<IssuedToken> {
  const { secret, record } = mintToken(owner, expiresInDays, now);
  await store.insertToken(record);
  const { hash: _hash, ...shown } = record;
  return { secret, token: { ...shown, lastUsedAt: null, deactivatedAt: null } };
}

export interface Principal {
  orgId: string;
  user: UserRecord;
  /** The API token the request carried, when it carried one. */
  tokenId: string | null;
  /** The browser session the request's cookie names, when it came from the console. */
  browserSession: { idHash: string; csrfToken: string } | null;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; error: string };

export async function authenticate(store: Store, secret: string | undefined, now: number): Promise<AuthResult> {
  if (secret === undefined || secret.trim() === '') {
    return { ok: false, error: 'An API token is required in the apiToken header.' };
  }
  const found: TokenOwner | null = await store.findToken(hashToken(secret.trim()));
  if (!found) return { ok: false, error: 'The API token is not valid.' };
  const { token, user } = found;
  if (!user.active) return { ok: false, error: 'The user of this API token has been deactivated.' };
  if (token.deactivatedAt !== null && token.deactivatedAt <= now) {
    return { ok: false, error: 'The API token has been deactivated.' };
  }
  if (token.expiresAt !== null && token.expiresAt <= now) {
    return { ok: false, error: 'The API token has expired.' };
  }
  if (token.lastUsedAt === null || now - token.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
    // A hint: no request waits for it or fails with it (an import can hold SQLite's write lock for hours).
    markInBackground(`token ${token.id}`, "A token's last use", () => store.markTokenUsed(token.id, now));
  }
  return { ok: true, principal: { orgId: token.orgId, tokenId: token.id, browserSession: null, user } };
}

/** A token as it may be shown: everything but the secret and its hash. */
export function describeToken(token: TokenRecord, now: number) {
  return {
    id: token.id,
    userId: token.userId,
    prefix: token.prefix,
    createdAt: iso(token.createdAt),
    expiresAt: iso(token.expiresAt),
    lastUsedAt: iso(token.lastUsedAt),
    active: token.deactivatedAt === null && (token.expiresAt === null || token.expiresAt > now),
  };
}
