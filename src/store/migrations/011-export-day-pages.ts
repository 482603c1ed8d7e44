import { type Kysely, sql } from 'kysely';
import type { MigrationEngine } from './engine.js';

/**
 * SQLite's export keeps a day's documents ready joined (SPEC §13, the export at 3× its floor):
 * `export_day_pages` holds, for an organization, a time axis (0 createdAt, 1 meetingDate) and a UTC
 * day (its first millisecond), the documents of that day in export order, each after a comma, cut
 * into parts (1, 2, …) of about a megabyte, and `build` tells one build's parts from another's. An
 * export reads a paged day as a few large BLOBs instead of a document at a time out of the b-tree.
 * A day is paged when its marker, part 0 (no documents; `sessions` the day's count), exists: it is
 * written last, once all the parts are (day-page-builder.ts). A day without documents never is.
 * `used_at`: when a part was written, or a marker's day last exported (unused days are dropped).
 * Any write to a session's document or to its archived log deletes the pages of the days it was
 * and is on, by trigger, in the writing transaction itself, whichever writer wrote it; the builder
 * writes a marker only over whole parts of its own build, in the transaction of the last, and the
 * reader takes a day as paged only when its parts are whole and of its marker's build
 * (document-pages.ts). So an export's read transaction reads a day's pages only when they hold
 * exactly that snapshot's documents. Pages are built only after exports (day-page-builder.ts).
 * PostgreSQL exports by `COPY` and has no such table.
 * Frozen: its own SQL only. Never edit once shipped.
 */
export async function up(db: Kysely<any>, engine: MigrationEngine): Promise<void> {
  if (engine !== 'sqlite') return;
  await sql`create table export_day_pages (
    org_id text not null,
    axis integer not null,
    day integer not null,
    part integer not null,
    build integer not null,
    used_at integer not null,
    sessions integer not null,
    docs blob not null)`.execute(db);
  await sql`create unique index export_day_pages_key on export_day_pages (org_id, axis, day, part)`.execute(db);
  // The first millisecond of an instant's UTC day, also before 1970 (% keeps the sign of its left side).
  const day = (ms: string) => `${ms} - ((${ms} % 86400000) + 86400000) % 86400000`;
  const dropDays = (row: 'new' | 'old', org = `${row}.org_id`, created = `${row}.created_at`, meeting = `${row}.meeting_date`) => `
    delete from export_day_pages where org_id = ${org} and axis = 0 and day = ${day(created)};
    delete from export_day_pages where org_id = ${org} and axis = 1 and day = ${day(meeting)};`;
  await sql
    .raw(`create trigger export_day_pages_document_inserted after insert on session_documents begin ${dropDays('new')} end`)
    .execute(db);
  await sql
    .raw(
      `create trigger export_day_pages_document_updated after update on session_documents begin ${dropDays('old')} ${dropDays('new')} end`,
    )
    .execute(db);
  await sql
    .raw(`create trigger export_day_pages_document_deleted after delete on session_documents begin ${dropDays('old')} end`)
    .execute(db);
  // An archived log is part of its document (migration 010): its days are read from the document row.
  for (const [event, row, name] of [
    ['insert', 'new', 'inserted'],
    ['update', 'new', 'updated'],
    ['delete', 'old', 'deleted'],
  ] as const) {
    const of = (column: string) =>
      `(select d.${column} from session_documents d where d.org_id = ${row}.org_id and d.session_id = ${row}.session_id)`;
    await sql
      .raw(
        `create trigger export_day_pages_archive_${name} after ${event} on session_log_archive begin
          ${dropDays(row, `${row}.org_id`, of('created_at'), of('meeting_date'))} end`,
      )
      .execute(db);
  }
}
