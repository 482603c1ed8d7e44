import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { ENTRY } from './document-text.js';

/**
 * A long activity log kept apart from its document (migration 010): once the entries in a
 * document row pass LOG_FOLD_AT, an edit moves all but the newest into the session's archive row,
 * so each later edit rewrites a document row of at most that many entries instead of the whole log.
 * The archive itself is rewritten only at a fold: once every LOG_FOLD_AT - 1 entries.
 */
export const LOG_FOLD_AT = 128;

/** What an archive row holds beside its text: enough for the size limits without reading it. */
export interface ArchivedLog {
  entries: number;
  bytes: number;
}

/** Entries moved from the document row to the archive. */
export interface LogFold extends ArchivedLog {
  sessionId: string;
  text: string;
}

/**
 * The log's text in the document row split before its newest entry: the entries to archive and
 * the array kept. Null when the log has no entry to move. Entries start with `{"userId":` (the
 * renderer's first key), which a string value cannot hold unescaped (document-text.ts).
 */
export function splitLog(log: string): { moved: string; kept: string } | null {
  const last = log.lastIndexOf(`,${ENTRY}`);
  if (last < 0) return null;
  return { moved: log.slice(1, last), kept: `[${log.slice(last + 1)}` };
}

/** Appends each fold to its session's archive row (made at the first fold), in the caller's transaction. */
export async function archiveEntries(trx: Kysely<Database>, orgId: string, folds: LogFold[]): Promise<void> {
  for (const fold of folds) {
    await trx
      .insertInto('session_log_archive')
      .values({ org_id: orgId, session_id: fold.sessionId, entries: fold.entries, bytes: fold.bytes, log: fold.text })
      .onConflict((oc) =>
        oc.columns(['org_id', 'session_id']).doUpdateSet({
          entries: sql`session_log_archive.entries + excluded.entries`,
          // One byte more: the comma between the old entries and the new.
          bytes: sql`session_log_archive.bytes + 1 + excluded.bytes`,
          log: sql`session_log_archive.log || ',' || excluded.log`,
        }),
      )
      .execute();
  }
}

/** The archived entries' text, for the rare edit that reads the whole log (an acknowledgement time). */
export async function archivedText(trx: Kysely<Database>, orgId: string, sessionId: string): Promise<string> {
  const row = await trx
    .selectFrom('session_log_archive')
    .select('log')
    .where('org_id', '=', orgId)
    .where('session_id', '=', sessionId)
    .executeTakeFirstOrThrow();
  return row.log;
}
