import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FeedPosition } from '../store/store.js';

/** Where a reader of the change feed stands before its first page. */
export const FEED_START: FeedPosition = { xid: '0', seq: '0' };

const DECIMAL = /^(0|[1-9]\d{0,18})$/;
/** Positions are PostgreSQL bigint and xid8 values; beyond bigint the database would refuse them. */
const MAX_POSITION = 9_223_372_036_854_775_807n;
const isPosition = (value: string | undefined): value is string =>
  value !== undefined && DECIMAL.test(value) && BigInt(value) <= MAX_POSITION;

export type CursorReading = { ok: true; position: FeedPosition } | { ok: false; error: string };

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest().subarray(0, 16);
}

/**
 * A change-feed cursor: the organization and the feed position, with a MAC over both, as
 * base64url. Opaque to clients; binding the organization in means a cursor copied from another
 * organization is refused rather than read as a position of this one.
 */
export function encodeCursor(secret: string, orgId: string, position: FeedPosition): string {
  const payload = `${orgId}\n${position.xid}\n${position.seq}`;
  return `${Buffer.from(payload).toString('base64url')}.${mac(secret, payload).toString('base64url')}`;
}

export function decodeCursor(secret: string, orgId: string, cursor: string): CursorReading {
  const notIssued: CursorReading = {
    ok: false,
    error: 'The cursor was not issued by this server; start without a cursor or pass the last cursor you were given.',
  };
  const [encoded, tag, extra] = cursor.split('.');
  if (encoded === undefined || tag === undefined || extra !== undefined) return notIssued;
  const payload = Buffer.from(encoded, 'base64url').toString('utf8');
  const given = Buffer.from(tag, 'base64url');
  const expected = mac(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return notIssued;
  const [org, xid, seq] = payload.split('\n');
  if (!isPosition(xid) || !isPosition(seq)) return notIssued;
  if (org !== orgId) return { ok: false, error: 'The cursor belongs to another organization; start without a cursor.' };
  return { ok: true, position: { xid, seq } };
}
