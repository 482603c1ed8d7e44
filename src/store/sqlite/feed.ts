import { sql, type Kysely } from 'kysely';
import { Prepared } from '../prepared.js';
import type { Database } from '../schema.js';
import type { FeedChange, FeedPosition } from '../store.js';

/**
 * The change feed on SQLite. Writers are serialized, so every stored row is final: xid is 0 and
 * seq a counter per organization.
 */

/**
 * The next feed sequence number of an organization. Writers are serialized, and a row that holds
 * the largest number is only ever rewritten with a larger one, so the largest stored number plus
 * one is always new (read from the end of the (org_id, xid, seq) index).
 */
export async function nextSeq(trx: Kysely<Database>, orgId: string): Promise<number> {
  const { rows } = await lastSeq.execute('sqlite', trx, { orgId });
  return Number(rows[0]?.seq ?? 0) + 1;
}

// ORDER BY ... LIMIT 1 walks the index from its end; max() with a WHERE would scan the organization's rows.
const lastSeq = new Prepared((trx, { orgId }: { orgId: string }) =>
  trx.selectFrom('session_documents').select('seq').where('org_id', '=', orgId).where('xid', '=', 0).orderBy('seq', 'desc').limit(1),
);

/** SQLite hands out xid 0 and numbers up to the organization's largest stored one. */
export async function feedPositionAhead(db: Kysely<Database>, orgId: string, position: FeedPosition): Promise<boolean> {
  return position.xid !== '0' || Number(position.seq) >= (await nextSeq(db, orgId));
}

export async function changesAfter(
  db: Kysely<Database>,
  orgId: string,
  from: FeedPosition,
  limit: number,
  bytes: number,
): Promise<FeedChange[]> {
  const { rows } = await sql<{ seq: number; doc: Buffer | string }>`
    select seq, doc from (
      select seq, doc,
        sum(length(doc)) over w - length(doc) as before,
        row_number() over w as rn
      from (
        select seq, doc from session_documents_full
        where org_id = ${orgId} and xid = 0 and seq > ${Number(from.seq)}
        order by seq
        limit ${limit}) as first_rows
      window w as (order by seq rows between unbounded preceding and current row)) as sized
    where before <= ${bytes} or rn <= 2
    order by seq`.execute(db);
  return rows.map((row) => ({
    position: { xid: '0', seq: String(row.seq) },
    doc: typeof row.doc === 'string' ? row.doc : row.doc.toString('utf8'),
  }));
}
