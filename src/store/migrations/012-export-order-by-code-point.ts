import { type Kysely, sql } from 'kysely';
import type { MigrationEngine } from './engine.js';

/**
 * SPEC §1 breaks ties between sessions of one instant by `_id`, in code point order, as SQLite's
 * BINARY collation compares them. PostgreSQL compared `session_id` by the database's collation, so
 * a database created with a locale (ICU's en-US puts "a1" before "B1") exported tied sessions in
 * another order than SQLite. The export's index range now orders `session_id collate "C"` (byte
 * order of UTF-8, which is code point order); the columns keep their collation, since changing one
 * would leave its joins with the others' without a collation to compare by.
 * PostgreSQL only. Frozen: its own SQL only. Never edit once shipped.
 */
export async function up(db: Kysely<any>, engine: MigrationEngine): Promise<void> {
  if (engine !== 'postgres') return;
  await sql`create index session_documents_created_by_code_point
    on session_documents (org_id, created_at, (session_id collate "C"))`.execute(db);
  await sql`create index session_documents_meeting_by_code_point
    on session_documents (org_id, meeting_date, (session_id collate "C"))`.execute(db);
  await sql`drop index session_documents_created`.execute(db);
  await sql`drop index session_documents_meeting`.execute(db);
}
