import { sql, type Kysely } from 'kysely';
import { allOrNothing } from './all-or-nothing.js';
import type { MigrationEngine } from './engine.js';

/**
 * The read model (SPEC §9) and the change feed's positions (SPEC §7): each session's finished
 * export document, kept next to the normalized tables, and the position of its last rewrite.
 * The documents themselves are derived data, built after all migrations ran (read-model-version.ts),
 * so this migration never calls the renderer of a later day. Never edit a migration that has shipped.
 */
export async function up(db: Kysely<unknown>, dialect: MigrationEngine): Promise<void> {
  await allOrNothing(db, dialect, () => build(db, dialect));
}

async function build(db: Kysely<unknown>, dialect: MigrationEngine): Promise<void> {
  // An ordinary rowid table (not WITHOUT ROWID): large documents in a primary b-tree spill into
  // overflow pages and read several times slower in index order.
  await db.schema
    .createTable('session_documents')
    .ifNotExists()
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('meeting_date', 'bigint')
    // SQLite: BLOB, which better-sqlite3 hands over as a Buffer without decoding UTF-8.
    .addColumn('doc', dialect === 'sqlite' ? 'blob' : 'text', (c) => c.notNull())
    // The feed position: the writing transaction's id (PostgreSQL xid8; 0 on SQLite) and a sequence.
    .addColumn('xid', dialect === 'sqlite' ? 'integer' : sql`xid8`, (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('session_documents_pk', ['org_id', 'session_id'])
    .execute();
  await db.schema
    .createIndex('session_documents_created')
    .ifNotExists()
    .on('session_documents')
    .columns(['org_id', 'created_at', 'session_id'])
    .execute();
  await db.schema
    .createIndex('session_documents_meeting')
    .ifNotExists()
    .on('session_documents')
    .columns(['org_id', 'meeting_date', 'session_id'])
    .execute();
  await db.schema.createIndex('session_documents_feed').ifNotExists().on('session_documents').columns(['org_id', 'xid', 'seq']).execute();
  if (dialect === 'postgres') {
    await sql`create sequence session_documents_seq`.execute(db);
    // lz4 instead of the default pglz for the stored text: a little larger, and many times faster to
    // decompress for the export and to rewrite for a rename. A server built without lz4 keeps pglz.
    await sql`do $$ begin alter table session_documents alter column doc set compression lz4;
      exception when others then null; end $$`.execute(db);
  }

  // The fan-outs of a rename find the sessions that show a template or a person.
  await db.schema
    .createIndex('coaching_sessions_template_idx')
    .ifNotExists()
    .on('coaching_sessions')
    .columns(['org_id', 'template_id'])
    .execute();
  await db.schema
    .createIndex('coaching_sessions_creator_idx')
    .ifNotExists()
    .on('coaching_sessions')
    .columns(['org_id', 'form_creator_id'])
    .execute();
  await db.schema.createIndex('todos_creator_idx').ifNotExists().on('todos').columns(['org_id', 'creator_id']).execute();
}
