import { type Kysely, sql } from 'kysely';
import type { MigrationEngine } from './engine.js';

/**
 * A long activity log kept apart from its document (SPEC §13, writes that cost the change): a
 * database rewrites a row whole, so a session's 2,000th log entry cost a 400 KB write. The older
 * entries of such a session move to `session_log_archive` (their JSON text, comma-separated, with
 * their count and bytes), and its row in session_documents keeps the rest, with `log_archived` set.
 * `session_documents_full` gives every document whole again, the archived entries put back right
 * after `"activityLog":[`: what every reader reads. The document row always keeps at least one entry
 * after the archived ones, so the comma between them is always right.
 * A document written whole again (log_archived back to 0) takes its archive away with it, by trigger,
 * whichever writer wrote it.
 * Frozen: its own SQL only. Never edit once shipped.
 */
export async function up(db: Kysely<any>, engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('session_log_archive')
    .ifNotExists()
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('entries', 'integer', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    // Last, so reading the count and bytes never walks the text's overflow pages (SQLite).
    .addColumn('log', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('session_log_archive_pk', ['org_id', 'session_id'])
    .execute();
  await db.schema
    .alterTable('session_documents')
    .addColumn('log_archived', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  if (engine === 'postgres') {
    await sql`do $$ begin alter table session_log_archive alter column log set compression lz4;
      exception when others then null; end $$`.execute(db);
    await sql`create function session_log_archive_dropped() returns trigger language plpgsql as $$
      begin
        delete from session_log_archive where org_id = new.org_id and session_id = new.session_id;
        return null;
      end $$`.execute(db);
    await sql`create trigger session_log_archive_dropped after update of log_archived on session_documents
      for each row when (old.log_archived = 1 and new.log_archived = 0)
      execute function session_log_archive_dropped()`.execute(db);
    await sql`create view session_documents_full as
      select d.org_id, d.session_id, d.created_at, d.meeting_date, d.xid, d.seq,
        case when d.log_archived = 0 then d.doc else (
          select substr(d.doc, 1, strpos(d.doc, ',"activityLog":[') + 15) || a.log || ',' ||
            substr(d.doc, strpos(d.doc, ',"activityLog":[') + 16)
          from session_log_archive a where a.org_id = d.org_id and a.session_id = d.session_id) end as doc
      from session_documents d`.execute(db);
  } else {
    await sql`create trigger session_log_archive_dropped after update of log_archived on session_documents
      when old.log_archived = 1 and new.log_archived = 0
      begin
        delete from session_log_archive where org_id = new.org_id and session_id = new.session_id;
      end`.execute(db);
    // The document is a BLOB (its UTF-8 bytes): instr and substr count bytes, and || joins the bytes as text.
    await sql`create view session_documents_full as
      select d.org_id, d.session_id, d.created_at, d.meeting_date, d.xid, d.seq,
        case when d.log_archived = 0 then d.doc else (
          select cast(substr(d.doc, 1, instr(d.doc, cast(',"activityLog":[' as blob)) + 15) || a.log || ',' ||
            substr(d.doc, instr(d.doc, cast(',"activityLog":[' as blob)) + 16) as blob)
          from session_log_archive a where a.org_id = d.org_id and a.session_id = d.session_id) end as doc
      from session_documents d`.execute(db);
  }
}
