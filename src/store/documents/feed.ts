import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';
import type { FeedChange, FeedPosition } from '../store.js';

const START: FeedPosition = { xid: '0', seq: '0' };

/**
 * Sessions whose document changed after `after`, oldest change first. Each session has one row,
 * rewritten with a new position by every change, so a session changed many times appears once.
 *
 * PostgreSQL: commit order is not start order. A transaction that took its position (xid, seq)
 * first can commit last, after a reader already moved past later positions, so positions of
 * transactions that may still be running are never handed out: only rows whose xid is below the
 * oldest xid still running (pg_snapshot_xmin of the current snapshot) are returned. Every later
 * transaction gets a larger xid, so once a reader has passed (xid, seq) nothing can appear behind it.
 *
 * That xmin is the whole cluster's, so a long transaction in another database would hold the feed
 * back. The bound used is therefore the oldest running xid of the snapshot that is not positively
 * known (pg_stat_activity) to belong to another database, which cannot write this table; an xid
 * that cannot be placed (it just ended, or its session is not visible to this role) counts as ours,
 * so the bound is never above the oldest transaction that could still write a document here.
 * SQLite serializes writers, so every stored row is final: xid is 0 and seq a counter.
 */
export async function changesAfter(db: Kysely<Database>, dialect: Dialect, orgId: string, after: FeedPosition | null, limit: number): Promise<FeedChange[]> {
  const from = after ?? START;
  // Positions reach SQL as numbers; anything else is the caller's bug (a cursor is checked before it gets here).
  if (!/^\d{1,20}$/.test(from.xid) || !/^\d{1,19}$/.test(from.seq)) throw new RangeError('A feed position is two decimal strings.');
  if (dialect === 'postgres') {
    const { rows } = await sql<{ xid: string; seq: number | string; doc: string }>`
      select xid::text as xid, seq, doc from session_documents
      where org_id = ${orgId}
        and (xid, seq) > (${from.xid}::xid8, ${from.seq}::bigint)
        and xid < (
          select coalesce(min(running), pg_snapshot_xmax(pg_current_snapshot()))
          from pg_snapshot_xip(pg_current_snapshot()) as running
          where (running::text::numeric % 4294967296)::text::xid not in (
            select backend_xid from pg_stat_activity where datname <> current_database() and backend_xid is not null))
      order by xid, seq
      limit ${limit}`.execute(db);
    return rows.map((row) => ({ position: { xid: row.xid, seq: String(row.seq) }, doc: row.doc }));
  }
  const rows = await db
    .selectFrom('session_documents')
    .select(['seq', 'doc'])
    .where('org_id', '=', orgId)
    .where('xid', '=', 0)
    .where('seq', '>', Number(from.seq))
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    position: { xid: '0', seq: String(row.seq) },
    doc: typeof row.doc === 'string' ? row.doc : row.doc.toString('utf8'),
  }));
}
