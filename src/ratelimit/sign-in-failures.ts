import { createHash } from 'node:crypto';
import type { Config, HourLimits } from '../config.js';
import { rulesFor, type Decision, type RateLimiter, type Reservation, type Rule } from './limiter.js';

/** How long an address where someone signed in to an account stays known for that account. */
export const KNOWN_ADDRESS_MS = 30 * 24 * 60 * 60 * 1000;

/** A one-way name for an account in limiter keys: emails are not to be listed from Redis. */
function accountTag(email: string): string {
  return createHash('sha256').update(`coachport-sign-in:${email}`, 'utf8').digest('base64url').slice(0, 22);
}

const pairKey = (account: string, address: string) => `sign-in-failures:${account}:${address}`;
const accountKey = (account: string) => `sign-in-account:${account}`;
const knownKey = (account: string, address: string) => `sign-in-known:${account}:${address}`;

export interface SignInPlaces {
  /** Why the attempt is refused before its password is checked (its places are then given back), or null. */
  refused: { decision: Decision; what: string } | null;
  /** The password was right: gives the places back and makes the address known for the account. */
  succeeded(): Promise<void>;
  /** The attempt was neither right nor wrong (an error): gives the places back. */
  release(): Promise<void>;
}

/**
 * Failed sign-ins per account, so guessing one person's password never locks that person out:
 *
 * - per (account, address): one address guessing one account runs out of its own allowance;
 * - per account, the ceiling on guessing from many addresses: failures from addresses not known
 *   for the account count in it, and when it is full only those addresses are refused. An address
 *   is known for an account for 30 days after someone signed in there with it (password or invite).
 *
 * With the per-(account, address) limits below the ceiling's, one address alone never fills the
 * ceiling, so its owner signs in from any other address while it guesses. Places are reserved
 * before the password is checked, atomically (parallel guesses find at most the limit), and a
 * right password gives them back: only failures stay counted. An unknown email takes the same
 * path with the same keys, so the limits answer alike whether the email exists or not.
 */
export class SignInFailureLimiter {
  private readonly perPair: Rule[];
  private readonly perAccount: Rule[];

  constructor(
    private readonly limiter: RateLimiter,
    limits: { perAccountAddress: HourLimits; perAccount: HourLimits },
  ) {
    this.perPair = rulesFor(limits.perAccountAddress);
    this.perAccount = rulesFor(limits.perAccount);
  }

  static configured(limiter: RateLimiter, limits: Config['limits']): SignInFailureLimiter {
    return new SignInFailureLimiter(limiter, { perAccountAddress: limits.signInPerAccountAddress, perAccount: limits.signInPerAccount });
  }

  /** `email` normalized. */
  async reserve(email: string, address: string): Promise<SignInPlaces> {
    const account = accountTag(email);
    const held: Reservation[] = [];
    const release = async () => void (await Promise.all(held.map((r) => r.release())));
    const places = (refused: SignInPlaces['refused']): SignInPlaces => ({
      refused,
      release,
      succeeded: async () => {
        await release();
        await this.remember(email, address);
      },
    });

    const pair = await this.limiter.reserve(pairKey(account, address), this.perPair);
    if (!pair.decision.allowed) return places({ decision: pair.decision, what: 'failed sign-ins for this account from this address' });
    held.push(pair);
    if (await this.limiter.isMarked(knownKey(account, address))) return places(null);
    const ceiling = await this.limiter.reserve(accountKey(account), this.perAccount);
    if (!ceiling.decision.allowed) {
      await release();
      return places({ decision: ceiling.decision, what: 'sign-in attempts for this account' });
    }
    held.push(ceiling);
    return places(null);
  }

  /** Makes `address` known for the account of `email` (normalized): the ceiling no longer applies to it there. */
  remember(email: string, address: string): Promise<void> {
    return this.limiter.mark(knownKey(accountTag(email), address), KNOWN_ADDRESS_MS);
  }
}
