import { createHash } from 'node:crypto';
import type { BucketLimits, Config } from '../config.js';
import { rulesFor, type Decision, type RateLimiter, type Reservation, type Rule } from './limiter.js';

/** How long a token that authenticated stays "known good" and skips the per-address ceiling. */
export const KNOWN_GOOD_MS = 24 * 60 * 60 * 1000;

/**
 * A short, one-way name for a presented token, for limiter keys: the token itself must never
 * be a key (keys can be listed in Redis), and a distinct tag keeps it apart from the stored hash.
 */
export function tokenFingerprint(secret: string | undefined): string {
  const presented = secret?.trim() ?? '';
  if (presented === '') return 'none';
  return createHash('sha256').update(`coachport-auth-limit:${presented}`, 'utf8').digest('base64url').slice(0, 22);
}

/** The bucket every failed authentication from one client address counts in (tokens, cookies, passwords, links). */
const addressKey = (address: string) => `auth-failures:${address}`;
const knownGoodKey = (fingerprint: string) => `auth-ok:${fingerprint}`;

export type Attempt<T> = { outcome: 'limited'; decision: Decision } | { outcome: 'checked'; result: T };

/**
 * Failed-authentication limits for API tokens, atomic and fair.
 *
 * - Atomic: an attempt is reserved (recorded) before its credential is checked, in one step of
 *   the limiter, so N parallel guesses find at most `limit` free places; a valid credential gives
 *   its place back afterwards, so only failures stay counted.
 * - Fair: failures are counted per address and presented token, so one client behind a NAT
 *   retrying a revoked token runs out of its own allowance, not its colleagues'. A per-address
 *   ceiling bounds clients that present ever new tokens (guessing); tokens that authenticated
 *   recently are known good and skip that ceiling, so colleagues keep working during a flood.
 */
export class AuthFailureLimiter {
  private readonly perAddress: Rule[];
  private readonly perToken: Rule[];

  constructor(
    private readonly limiter: RateLimiter,
    limits: { perAddress: BucketLimits; perToken: BucketLimits },
  ) {
    this.perAddress = rulesFor(limits.perAddress);
    this.perToken = rulesFor(limits.perToken);
  }

  /** The limits the service is configured with. */
  static configured(limiter: RateLimiter, limits: Config['limits']): AuthFailureLimiter {
    return new AuthFailureLimiter(limiter, { perAddress: limits.authFailures, perToken: limits.authFailuresPerToken });
  }

  /**
   * A place in the per-address bucket alone, for credentials checked outside `attempt` (passwords,
   * invite links): reserved before the check, and to be released when the credential was valid.
   */
  reserveForAddress(address: string): Promise<Reservation> {
    return this.limiter.reserve(addressKey(address), this.perAddress);
  }

  /**
   * Makes a secret issued just now (a new browser session id) known good for `ttlMs`, so the
   * browser's first burst of parallel requests is checked without competing for failure places.
   */
  trust(secret: string, ttlMs: number): Promise<void> {
    return this.limiter.mark(knownGoodKey(tokenFingerprint(secret)), ttlMs);
  }

  /**
   * Runs `check` only when the attempt fits the limits, and counts it as a failure when
   * `succeeded` says it failed. Errors from `check` leave nothing counted.
   */
  async attempt<T>(
    address: string,
    secret: string | undefined,
    check: () => Promise<T>,
    succeeded: (result: T) => boolean,
  ): Promise<Attempt<T>> {
    const fingerprint = tokenFingerprint(secret);
    const tokenKey = `auth-failures:${address}:${fingerprint}`;
    const goodKey = knownGoodKey(fingerprint);

    // No credential at all is no guess and costs no lookup: answered without counting, so
    // anonymous requests (a console page opened before signing in) never use up the allowance
    // of everyone behind the same address.
    if (fingerprint === 'none') return { outcome: 'checked', result: await check() };

    if (await this.limiter.isMarked(goodKey)) {
      // A token that worked recently is checked without reserving, so a busy client's parallel
      // requests never compete for failure places. If it fails now (revoked, expired), the
      // failure is counted and the token is known good no more: its retries take the path below.
      const result = await check();
      if (!succeeded(result)) {
        await this.limiter.unmark(goodKey);
        await this.limiter.consume(tokenKey, this.perToken);
      }
      return { outcome: 'checked', result };
    }

    const reservations: Reservation[] = [];
    const releaseAll = () => Promise.all(reservations.map((r) => r.release()));
    // This client's own allowance first: a retrier that spent it never reaches the shared ceiling.
    for (const [key, rules] of [
      [tokenKey, this.perToken],
      [addressKey(address), this.perAddress],
    ] as const) {
      const reservation = await this.limiter.reserve(key, rules);
      if (!reservation.decision.allowed) {
        await releaseAll();
        return { outcome: 'limited', decision: reservation.decision };
      }
      reservations.push(reservation);
    }

    let result: T;
    try {
      result = await check();
    } catch (error) {
      await releaseAll();
      throw error;
    }
    if (succeeded(result)) {
      await releaseAll();
      await this.limiter.mark(goodKey, KNOWN_GOOD_MS);
    }
    return { outcome: 'checked', result };
  }
}
