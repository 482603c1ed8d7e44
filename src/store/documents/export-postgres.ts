import { sql, type Kysely } from 'kysely';
import type { ExportWindow } from '../../export/window.js';
import type { Database } from '../schema.js';
import type { ExportChunk } from '../store.js';

/** A small first page gets the first bytes out at once; later pages are about a megabyte. */
const FIRST_PAGE = 20;
const PAGE = 200;

interface Page {
  docs: string | null;
  n: number;
  last_axis: number | null;
  last_id: string | null;
}

/**
 * The stored documents of a window inside one REPEATABLE READ, READ ONLY transaction (one
 * snapshot), a keyset page at a time in (org, axis, id) index order. PostgreSQL joins each page
 * into one text value, so a page costs one row to decode instead of hundreds. Stopping early rolls
 * the transaction back and returns the connection.
 */
export async function* postgresStoredDocuments(db: Kysely<Database>, orgId: string, window: ExportWindow): AsyncGenerator<ExportChunk> {
  const axis = sql.ref(window.axis === 'meetingDate' ? 'meeting_date' : 'created_at');
  const trx = await db.startTransaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute();
  let finished = false;
  try {
    let after: [number, string] = [window.fromMs - 1, ''];
    let separator = '';
    for (let limit = FIRST_PAGE; ; limit = PAGE) {
      const { rows } = await sql<Page>`
        with page as (
          select ${axis} as axis, session_id, doc from session_documents
          where org_id = ${orgId} and ${axis} >= ${window.fromMs} and ${axis} <= ${window.toMs}
            and (${axis}, session_id) > (${after[0]}, ${after[1]})
          order by ${axis}, session_id
          limit ${limit})
        select string_agg(doc, ',' order by axis, session_id) as docs, count(*)::int as n,
          (select axis from page order by axis desc, session_id desc limit 1) as last_axis,
          (select session_id from page order by axis desc, session_id desc limit 1) as last_id
        from page`.execute(trx);
      const page = rows[0]!;
      if (page.docs !== null) yield { data: separator + page.docs, sessions: page.n };
      separator = ',';
      if (page.n < limit) break;
      after = [Number(page.last_axis), page.last_id!];
    }
    finished = true;
  } finally {
    // Read-only: committing and rolling back are the same; rollback also covers an abandoned read.
    await (finished ? trx.commit() : trx.rollback()).execute().catch(() => undefined);
  }
}
