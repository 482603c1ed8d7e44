import { type Kysely, sql } from 'kysely';

/**
 * The names an import changed (a person's, a template's) that are still to be spliced into the
 * documents written beside it (PostgreSQL, where writes run beside an import): a row is written in
 * the import's transaction and deleted in the transaction that splices the name, once the import
 * has committed. A row outlives its import when a long transaction kept the splice out or the
 * process died after the commit; every `coachport serve` splices such names again. `kind`: 'user'
 * or 'template'. On SQLite an import holds the writer, so nothing is written beside it and the
 * table stays empty.
 * Frozen: its own SQL only. Never edit once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table names_to_splice (
    org_id text not null,
    kind text not null,
    item_id text not null,
    primary key (org_id, kind, item_id))`.execute(db);
}
