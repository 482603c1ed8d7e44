import { type Kysely, sql } from 'kysely';
import type { StoreAdapter } from '../adapter.js';
import { Prepared } from '../prepared.js';
import { documentRow } from '../rows.js';
import type { Database } from '../schema.js';
import type { RenderedDocument } from './rendered.js';

/**
 * Where an upsert of a document row replaces the stored one: a document written again as it is
 * stored (an import run twice, a session rendered again with nothing changed) keeps its row and its
 * place in the change feed, which carries each session whose export document changed (SPEC §7), so
 * a mirror (`coachport sync`) is not sent it again. A row with its older log archived holds only the
 * rest of the document, so it never equals a whole one and is replaced, archive and all.
 */
export const DOCUMENT_CHANGED = 'session_documents.doc is distinct from excluded.doc';

/** Rows per multi-row statement: eight parameters each, well under both databases' limits. */
const ROWS_PER_STATEMENT = 400;

/**
 * Stores documents and moves each session in the change feed, at the positions the adapter hands
 * out (PostgreSQL: the writing transaction's id and a sequence number; SQLite: 0 and a counter).
 */
export async function writeDocuments(trx: Kysely<Database>, adapter: StoreAdapter, orgId: string, docs: RenderedDocument[]): Promise<void> {
  if (docs.length === 0) return;
  const nextPosition = await adapter.feedPositions(trx, orgId);
  for (let i = 0; i < docs.length; i += ROWS_PER_STATEMENT) {
    const rows = docs.slice(i, i + ROWS_PER_STATEMENT).map((d) => documentRow(orgId, d, adapter.documentValue(d.json), nextPosition()));
    await trx
      .insertInto('session_documents')
      .values(rows)
      .onConflict((oc) =>
        oc
          .columns(['org_id', 'session_id'])
          .doUpdateSet((eb) => ({
            created_at: eb.ref('excluded.created_at'),
            meeting_date: eb.ref('excluded.meeting_date'),
            doc: eb.ref('excluded.doc'),
            xid: eb.ref('excluded.xid'),
            seq: eb.ref('excluded.seq'),
            // A document written whole: its archived log entries (if any) go, by migration 010's trigger.
            log_archived: eb.ref('excluded.log_archived'),
          }))
          .where(sql.raw<boolean>(DOCUMENT_CHANGED)),
      )
      .execute();
  }
}

/**
 * The same for documents whose rows exist (edited in place, documents/spliced.ts): an UPDATE each.
 * SQLite rewrites a large row with less work this way than through an upsert, which builds the row
 * for the insert it then abandons.
 */
export async function rewriteDocuments(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  docs: RenderedDocument[],
): Promise<void> {
  if (docs.length === 0) return;
  const nextPosition = await adapter.feedPositions(trx, orgId);
  for (const d of docs) {
    const row = documentRow(orgId, d, adapter.documentValue(d.json), nextPosition());
    if (meetingDateKept(d)) await rewriteDocumentKeepingMeetingDate.execute(adapter.name, trx, row);
    else await rewriteDocument.execute(adapter.name, trx, row);
  }
}

/** Whether an edit in place left the session's meeting date as its stored rows hold it. */
export const meetingDateKept = (d: RenderedDocument): boolean => d.storedMeetingDate !== undefined && d.storedMeetingDate === d.meetingDate;

// created_at is left out: a session's creation time never changes in an edit, and a column in the SET
// makes SQLite rewrite the index entries of every index that holds it. So is meeting_date when it is
// the stored one, as it is in nearly every edit.
const rewriteDocumentRow = (withMeetingDate: boolean) =>
  new Prepared((trx, { org_id, session_id, created_at: _, meeting_date, ...row }: ReturnType<typeof documentRow>) =>
    trx
      .updateTable('session_documents')
      .set(withMeetingDate ? { ...row, meeting_date } : row)
      .where('org_id', '=', org_id)
      .where('session_id', '=', session_id),
  );
const rewriteDocument = rewriteDocumentRow(true);
const rewriteDocumentKeepingMeetingDate = rewriteDocumentRow(false);
