import type { BucketLimits } from '../config.js';

export interface Rule {
  /** Names the window in the 429 message: "Too many requests in the past second." */
  name: 'second' | 'minute' | 'hour';
  limit: number;
  windowMs: number;
}

export interface Decision {
  allowed: boolean;
  /** When refused: the longest window that is full, which is the one the message names. */
  exceeded: Rule | null;
  /** When refused: how long until a retry can succeed. */
  retryAfterMs: number;
  /** The rule closest to running out, for the RateLimit-* headers. */
  limit: number;
  remaining: number;
  resetMs: number;
}

/**
 * Sliding-window limits: in any `windowMs` at most `limit` accepted requests. A refused request
 * is not recorded, so it does not use up quota.
 */
export interface RateLimiter {
  /** Records the request when every rule allows it. */
  consume(key: string, rules: Rule[]): Promise<Decision>;
  /** The decision `consume` would make, without recording anything. */
  peek(key: string, rules: Rule[]): Promise<Decision>;
  /**
   * `consume` that can be taken back: the request is recorded atomically with the decision (so
   * parallel callers can never all see room), and `release` removes that one record again, for
   * an attempt that turned out not to count (a credential that was valid).
   */
  reserve(key: string, rules: Rule[]): Promise<Reservation>;
  /** Sets a flag under `key` that lasts `ttlMs` (shared between processes where the limiter is). */
  mark(key: string, ttlMs: number): Promise<void>;
  /** Whether the flag under `key` is set and not expired. */
  isMarked(key: string): Promise<boolean>;
  unmark(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface Reservation {
  decision: Decision;
  /** Takes the recorded request back; a no-op when the decision refused it. */
  release(): Promise<void>;
}

/** A reservation whose `undo` runs at most once, and only when the decision recorded something. */
export function reservation(decision: Decision, undo: () => Promise<void> | void): Reservation {
  let held = decision.allowed;
  return {
    decision,
    async release() {
      if (!held) return;
      held = false;
      await undo();
    },
  };
}

export function rulesFor(limits: BucketLimits & { perHour?: number }): Rule[] {
  const rules: Rule[] = [
    { name: 'second', limit: limits.perSecond, windowMs: 1_000 },
    { name: 'minute', limit: limits.perMinute, windowMs: 60_000 },
  ];
  if (limits.perHour !== undefined) rules.push({ name: 'hour', limit: limits.perHour, windowMs: 3_600_000 });
  return rules;
}

export function tooManyRequestsMessage(rule: Rule): string {
  return `Too many requests in the past ${rule.name}.`;
}

/**
 * The decision for a request at `now`, given the accepted requests' times (ascending) that may
 * still count. The Redis limiter's Lua script is a line-for-line copy of this function.
 */
export function decide(accepted: readonly number[], now: number, rules: Rule[]): Decision {
  let exceeded: Rule | null = null;
  let retryAfterMs = 0;
  let report: { rule: Rule; remaining: number; resetMs: number } | null = null;
  for (const rule of rules) {
    const since = now - rule.windowMs;
    let first = accepted.length;
    while (first > 0 && accepted[first - 1]! > since) first--;
    const inWindow = accepted.length - first;
    if (inWindow >= rule.limit) {
      // The request that has to leave the window before one more fits.
      const wait = accepted[first + inWindow - rule.limit]! + rule.windowMs - now;
      retryAfterMs = Math.max(retryAfterMs, wait);
      if (!exceeded || rule.windowMs > exceeded.windowMs) exceeded = rule;
      report = { rule, remaining: 0, resetMs: wait };
      continue;
    }
    const remaining = rule.limit - inWindow - 1;
    const oldest = inWindow > 0 ? accepted[first]! : now;
    const resetMs = oldest + rule.windowMs - now;
    if (
      !exceeded &&
      (!report || remaining < report.remaining || (remaining === report.remaining && rule.windowMs > report.rule.windowMs))
    ) {
      report = { rule, remaining, resetMs };
    }
  }
  if (exceeded) {
    return { allowed: false, exceeded, retryAfterMs, limit: exceeded.limit, remaining: 0, resetMs: retryAfterMs };
  }
  const shown = report ?? { rule: rules[0]!, remaining: 0, resetMs: 0 };
  return { allowed: true, exceeded: null, retryAfterMs: 0, limit: shown.rule.limit, remaining: shown.remaining, resetMs: shown.resetMs };
}
