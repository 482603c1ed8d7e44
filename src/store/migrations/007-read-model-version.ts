import { sql, type Kysely } from 'kysely';
import type { MigrationEngine } from './engine.js';

/**
 * Which version of the read model (the stored documents and stats rows) the database holds: one
 * row, written in the same transaction as a rebuild (read-model-version.ts). Empty at first, so
 * the first start after this migration builds the read model. Never edit a migration that has shipped.
 */
export async function up(db: Kysely<unknown>, _dialect: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('read_model_version')
    .ifNotExists()
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute();
}
