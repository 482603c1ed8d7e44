import { dayStartMs, endOfDayMs } from '../contract/dates.js';
import { HttpError } from './errors.js';

/**
 * Keyset cursors: the sort key of the last item of a page, opaque to clients (base64url JSON),
 * so a page costs the same deep in a large organization as at its start (no OFFSET).
 */
export function encodeCursor(key: Array<string | number>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor<T extends Array<string | number>>(cursor: string, shape: Array<'string' | 'number'>): T {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === shape.length && key.every((value, i) => typeof value === shape[i])) return key as T;
  } catch {
    // fall through to the one answer for any malformed cursor
  }
  throw new HttpError(400, 'The cursor is not one this server gave out; start again without it.');
}

export function pageLimit(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) throw new HttpError(400, `limit must be a whole number from 1 to ${max}.`);
  return limit;
}

/** Inclusive UTC-day bounds `from`/`to` as milliseconds. */
export function dayRange(from: string | undefined, to: string | undefined): { fromMs: number | null; toMs: number | null } {
  const fromMs = from === undefined ? null : dayStartMs(from);
  const toMs = to === undefined ? null : endOfDayMs(to);
  if (fromMs !== null && toMs !== null && toMs < fromMs) throw new HttpError(400, `to ${to} is before from ${from}.`);
  return { fromMs, toMs };
}

/** A page from `limit + 1` rows: the extra row only says there is more. */
export function pageOf<T>(rows: T[], limit: number, keyOf: (last: T) => Array<string | number>) {
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return { items, hasMore, cursor: hasMore && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
