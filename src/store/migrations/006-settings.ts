import type { Kysely } from 'kysely';
import type { MigrationEngine } from './engine.js';

/**
 * Values the server keeps for itself and every process shares, one row per name: the change
 * feed's cursor key when FEED_CURSOR_SECRET is not set (SPEC §12). A value is written once and
 * never changed, so two processes starting together read the same one.
 */
export async function up(db: Kysely<unknown>, _dialect: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('settings')
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}
