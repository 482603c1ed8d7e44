import type { Kysely } from 'kysely';
import type { MigrationEngine } from './engine.js';

/**
 * What the stats (SPEC §6) read: each counted session's first `shared` and first `agent_confirmed`
 * entry. Only those two kinds are indexed, which keeps the index small beside a log that grows
 * with every change; the query repeats the index's condition so that SQLite can use it.
 */
export async function up(db: Kysely<unknown>, _dialect: MigrationEngine): Promise<void> {
  await db.schema
    .createIndex('activity_log_acknowledgement')
    .on('activity_log')
    .columns(['org_id', 'session_id', 'action_type', 'timestamp'])
    .where((eb) => eb('action_type', 'in', ['shared', 'agent_confirmed']))
    .execute();
  // Covering: a counted link reads the item's flag and kinds from the index alone.
  await db.schema
    .createIndex('coaching_points_stats')
    .on('coaching_points')
    .columns(['org_id', 'id', 'is_deleted', 'type', 'classification'])
    .execute();
  await db.schema.createIndex('todos_stats').on('todos').columns(['org_id', 'id', 'is_deleted', 'status']).execute();
}
