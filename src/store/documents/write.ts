import { sql, type Kysely } from 'kysely';
import type { SessionFacts } from '../../analytics/session-facts.js';
import type { DocumentSize } from '../../coaching/limits.js';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';

/**
 * A session's document as the renderer made it, with the two time axes the export reads it by,
 * and the facts its stats row holds (taken from the same document).
 */
export interface RenderedDocument {
  sessionId: string;
  createdAt: number;
  meetingDate: number | null;
  json: string;
  facts: SessionFacts;
  /** What the size limits (coaching/limits.ts) count, of this document. */
  size: DocumentSize;
}

/** Rows per multi-row statement: seven parameters each, well under both databases' limits. */
const ROWS_PER_STATEMENT = 400;

/**
 * The next feed sequence number of an organization on SQLite. Writers are serialized there, and a
 * row that holds the largest number is only ever rewritten with a larger one, so the largest
 * stored number plus one is always new (read from the end of the (org_id, xid, seq) index).
 */
export async function nextSqliteSeq(trx: Kysely<Database>, orgId: string): Promise<number> {
  // ORDER BY ... LIMIT 1 walks the index from its end; max() with a WHERE would scan the organization's rows.
  const row = await trx
    .selectFrom('session_documents')
    .select('seq')
    .where('org_id', '=', orgId)
    .where('xid', '=', 0)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return Number(row?.seq ?? 0) + 1;
}

/**
 * Stores documents and moves each session in the change feed. PostgreSQL records the writing
 * transaction's id (xid8) and a sequence number, which the feed reads against the oldest
 * transaction still running; SQLite, whose writers run one at a time, records xid 0 and a counter.
 */
export async function writeDocuments(trx: Kysely<Database>, dialect: Dialect, orgId: string, docs: RenderedDocument[]): Promise<void> {
  if (docs.length === 0) return;
  let seq = dialect === 'sqlite' ? await nextSqliteSeq(trx, orgId) : 0;
  for (let i = 0; i < docs.length; i += ROWS_PER_STATEMENT) {
    const rows = docs.slice(i, i + ROWS_PER_STATEMENT).map((d) => ({
      org_id: orgId,
      session_id: d.sessionId,
      created_at: d.createdAt,
      meeting_date: d.meetingDate,
      doc: dialect === 'sqlite' ? Buffer.from(d.json, 'utf8') : d.json,
      xid: dialect === 'sqlite' ? 0 : sql<string>`pg_current_xact_id()`,
      seq: dialect === 'sqlite' ? seq++ : sql<number>`nextval('session_documents_seq')`,
    }));
    await trx
      .insertInto('session_documents')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['org_id', 'session_id']).doUpdateSet((eb) => ({
          created_at: eb.ref('excluded.created_at'),
          meeting_date: eb.ref('excluded.meeting_date'),
          doc: eb.ref('excluded.doc'),
          xid: eb.ref('excluded.xid'),
          seq: eb.ref('excluded.seq'),
        })),
      )
      .execute();
  }
}
