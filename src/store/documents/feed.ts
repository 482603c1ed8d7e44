import type { Kysely } from 'kysely';
import type { StoreAdapter } from '../adapter.js';
import type { Database } from '../schema.js';
import type { FeedChange, FeedPosition } from '../store.js';

const START: FeedPosition = { xid: '0', seq: '0' };

/**
 * Sessions whose document changed after `after`, oldest change first. Each session has one row,
 * rewritten with a new position by every change, so a session changed many times appears once.
 * Which positions are final differs by database (sqlite/feed.ts, postgres/feed.ts).
 *
 * With `maxBytes`, only the changes whose earlier changes in the answer hold at most that many
 * bytes of documents, and always the first two: enough for a page cut at about maxBytes
 * (src/feed/page.ts) to know whether more follow, without reading every large document behind it.
 */
export async function changesAfter(
  db: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  after: FeedPosition | null,
  limit: number,
  maxBytes?: number,
): Promise<FeedChange[]> {
  const from = after ?? START;
  // Past any real total (bigint and SQLite integers both hold it), so no change is left out.
  const bytes = maxBytes ?? Number.MAX_SAFE_INTEGER;
  // Positions reach SQL as numbers; anything else is the caller's bug (a cursor is checked before it gets here).
  if (!/^\d{1,20}$/.test(from.xid) || !/^\d{1,19}$/.test(from.seq)) throw new RangeError('A feed position is two decimal strings.');
  return adapter.changesAfter(db, orgId, from, limit, bytes);
}
