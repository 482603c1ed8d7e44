import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { FeedChange, FeedPosition } from '../store.js';

/**
 * A position's transaction id at or past the next one to be handed out: never the case for a
 * position of this cluster's (a row's xid is of a transaction that began), so the cluster is another
 * (a database restored into a new one) or the cursor another server's.
 */
export async function feedPositionAhead(db: Kysely<Database>, _orgId: string, position: FeedPosition): Promise<boolean> {
  const { rows } = await sql<{ ahead: boolean }>`
    select ${position.xid}::xid8 >= pg_snapshot_xmax(pg_current_snapshot()) as ahead`.execute(db);
  return rows[0]?.ahead === true;
}

/**
 * After a database is restored into another PostgreSQL cluster (pg_dump, then pg_restore), its rows
 * keep the old cluster's transaction ids, which may lie beyond the new one's: the feed would hold
 * them back until the new cluster's ids caught up. Such rows are moved to xid 0, ahead of every
 * change made since, their order kept by seq. Found per organization through the end of its
 * (org_id, xid, seq) index, so a store that needs nothing pays a few index reads at start.
 */
export async function repairRestoredPositions(db: Kysely<Database>): Promise<void> {
  await sql`
    update session_documents d set xid = '0'::xid8
    where d.org_id in (
        select o.id from organizations o
        where (select x.xid from session_documents x where x.org_id = o.id order by x.xid desc limit 1)
          >= pg_snapshot_xmax(pg_current_snapshot()))
      and d.xid >= pg_snapshot_xmax(pg_current_snapshot())`.execute(db);
}

/**
 * The change feed on PostgreSQL. Commit order is not start order. A transaction that took its
 * position (xid, seq) first can commit last, after a reader already moved past later positions,
 * so positions of transactions that may still be running are never handed out: only rows whose xid
 * is below the oldest xid still running (pg_snapshot_xmin of the current snapshot) are returned.
 * Every later transaction gets a larger xid, so once a reader has passed (xid, seq) nothing can
 * appear behind it.
 *
 * That xmin is the whole cluster's, so a long transaction in another database would hold the feed
 * back. The bound used is therefore the oldest running xid of the snapshot that is not positively
 * known (pg_stat_activity) to belong to another database, which cannot write this table; an xid
 * that cannot be placed (it just ended, or its session is not visible to this role) counts as ours,
 * so the bound is never above the oldest transaction that could still write a document here.
 */
export async function changesAfter(
  db: Kysely<Database>,
  orgId: string,
  from: FeedPosition,
  limit: number,
  bytes: number,
): Promise<FeedChange[]> {
  // Ordered by the xid8 column (qualified: a bare xid would name the text output column, and sort
  // '10' before '9'). The window sums run over the `limit` rows the index hands out first, never over the whole feed;
  // octet_length reads a stored text's size without decompressing it.
  const { rows } = await sql<{ xid: string; seq: number | string; doc: string }>`
    select xid::text as xid, seq, doc from (
      select xid, seq, doc,
        sum(octet_length(doc)) over w - octet_length(doc) as before,
        row_number() over w as rn
      from (
        select xid, seq, doc from session_documents_full
        where org_id = ${orgId}
          and (xid, seq) > (${from.xid}::xid8, ${from.seq}::bigint)
          and xid < (
            select coalesce(min(running), pg_snapshot_xmax(pg_current_snapshot()))
            from pg_snapshot_xip(pg_current_snapshot()) as running
            where (running::text::numeric % 4294967296)::text::xid not in (
              select backend_xid from pg_stat_activity where datname <> current_database() and backend_xid is not null))
        order by xid, seq
        limit ${limit}) as first_rows
      window w as (order by xid, seq rows between unbounded preceding and current row)) as sized
    where before <= ${bytes} or rn <= 2
    order by sized.xid, sized.seq`.execute(db);
  return rows.map((row) => ({ position: { xid: row.xid, seq: String(row.seq) }, doc: row.doc }));
}
