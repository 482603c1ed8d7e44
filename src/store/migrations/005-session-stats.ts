import type { Kysely } from 'kysely';
import { allOrNothing } from './all-or-nothing.js';
import type { MigrationEngine } from './engine.js';

/**
 * The stats rows (SPEC §6): one per session, its facts precomputed (analytics/session-facts.ts)
 * and rewritten with its document, so a stats request sums one narrow row per session of the
 * window instead of joining every point, to-do and log entry. Indexed by each time axis. Drops
 * migration 004's indexes. The rows are derived data, built after all migrations ran
 * (read-model-version.ts). Never edit a migration that has shipped.
 */
export async function up(db: Kysely<unknown>, dialect: MigrationEngine): Promise<void> {
  await allOrNothing(db, dialect, () => build(db));
}

async function build(db: Kysely<unknown>): Promise<void> {
  const flag = 'boolean';
  const count = 'integer';
  await db.schema
    .createTable('session_stats')
    .ifNotExists()
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('meeting_date', 'bigint')
    .addColumn('template_id', 'text')
    .addColumn('form_creator_id', 'text', (c) => c.notNull())
    .addColumn('coach_id', 'text', (c) => c.notNull())
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('is_deleted', flag, (c) => c.notNull())
    .addColumn('shared_with_agent', flag, (c) => c.notNull())
    .addColumn('agent_confirmed', flag, (c) => c.notNull())
    .addColumn('coach_confirmed', flag, (c) => c.notNull())
    .addColumn('points', count, (c) => c.notNull())
    .addColumn('strengths', count, (c) => c.notNull())
    .addColumn('opportunities', count, (c) => c.notNull())
    .addColumn('general', count, (c) => c.notNull())
    .addColumn('qa', count, (c) => c.notNull())
    .addColumn('csat', count, (c) => c.notNull())
    .addColumn('productivity', count, (c) => c.notNull())
    .addColumn('todos', count, (c) => c.notNull())
    .addColumn('todos_completed', count, (c) => c.notNull())
    .addColumn('acknowledgement_ms', 'bigint')
    .addPrimaryKeyConstraint('session_stats_pk', ['org_id', 'session_id'])
    .execute();
  // A request reads one range of one of these; the session id keeps each key unique and ordered.
  await db.schema
    .createIndex('session_stats_meeting')
    .ifNotExists()
    .on('session_stats')
    .columns(['org_id', 'meeting_date', 'session_id'])
    .execute();
  await db.schema
    .createIndex('session_stats_created')
    .ifNotExists()
    .on('session_stats')
    .columns(['org_id', 'created_at', 'session_id'])
    .execute();
  // Migration 004's indexes served only the joins these rows replace; every write paid for them.
  for (const index of ['activity_log_acknowledgement', 'coaching_points_stats', 'todos_stats'])
    await db.schema.dropIndex(index).ifExists().execute();
}
