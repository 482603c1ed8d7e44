import { sql, type Kysely } from 'kysely';
import type { MigrationEngine } from './engine.js';

/**
 * Runs a migration's work in one transaction on both databases. Kysely runs SQLite migrations
 * outside a transaction (PostgreSQL's run inside one): one here makes a rebuild all or nothing and
 * fast, and IF NOT EXISTS in the work lets a run that died between its commit and the migration's
 * record simply run again.
 */
export async function allOrNothing(db: Kysely<unknown>, dialect: MigrationEngine, work: () => Promise<void>): Promise<void> {
  if (dialect === 'sqlite') await sql`begin immediate`.execute(db);
  try {
    await work();
    if (dialect === 'sqlite') await sql`commit`.execute(db);
  } catch (error) {
    if (dialect === 'sqlite') await sql`rollback`.execute(db).catch(() => undefined);
    throw error;
  }
}
