/** Seconds after the previous attempt fails, one per retry (Standard Webhooks' and Svix's schedule). */
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

/** ±10%: deliveries failed together (a receiver's outage) come back spread out instead of at once. */
const JITTER = 0.1;

/** The longest Retry-After honoured: a receiver cannot park a delivery for longer than a day. */
const RETRY_AFTER_CAP_MS = 24 * 3600 * 1000;

/**
 * When to try again after `attemptsMade` attempts, or null when the schedule is spent. A receiver's
 * Retry-After (on 429 and 503) replaces the schedule's wait (at least 1 s, at most a day); it
 * still counts as an attempt, so a receiver that always asks for more time still ends.
 */
export function nextAttemptAt(
  attemptsMade: number,
  now: number,
  schedule: readonly number[],
  random: () => number,
  retryAfterMs: number | null = null,
): number | null {
  const waitSeconds = schedule[attemptsMade - 1];
  if (waitSeconds === undefined) return null;
  if (retryAfterMs !== null) return now + Math.min(Math.max(retryAfterMs, 1000), RETRY_AFTER_CAP_MS);
  const jitter = 1 - JITTER + 2 * JITTER * random();
  return now + Math.round(waitSeconds * 1000 * jitter);
}

/** A Retry-After header's wait in milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now: number): number | null {
  if (header === undefined) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
