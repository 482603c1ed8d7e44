import { sql, type Kysely } from 'kysely';
import type { MigrationEngine } from './engine.js';

/** Never edit a migration that has shipped; add the next one. */
export async function up(db: Kysely<unknown>, dialect: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('organizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'coach', 'agent')`))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('users_pk', ['org_id', 'id'])
    .execute();
  await db.schema.createIndex('users_email').unique().on('users').columns(['org_id', 'email']).execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .addColumn('deactivated_at', 'bigint')
    .addForeignKeyConstraint('api_tokens_user', ['org_id', 'user_id'], 'users', ['org_id', 'id'])
    .execute();
  await db.schema.createIndex('api_tokens_org').on('api_tokens').columns(['org_id', 'created_at']).execute();

  await db.schema
    .createTable('coaching_templates')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('coaching_templates_pk', ['org_id', 'id'])
    .execute();

  await db.schema
    .createTable('coaching_sessions')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('coaching_form_name', 'text', (c) => c.notNull())
    .addColumn('template_id', 'text')
    .addColumn('meeting_format', 'text')
    .addColumn('form_creator_id', 'text', (c) => c.notNull())
    .addColumn('coach_id', 'text', (c) => c.notNull())
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('meeting_date', 'bigint')
    .addColumn('shared_with_agent', 'boolean', (c) => c.notNull())
    .addColumn('agent_confirmed', 'boolean', (c) => c.notNull())
    .addColumn('coach_confirmed', 'boolean', (c) => c.notNull())
    .addColumn('coach_notes', 'text')
    .addColumn('agent_notes', 'text')
    .addColumn('is_deleted', 'boolean', (c) => c.notNull())
    .addPrimaryKeyConstraint('coaching_sessions_pk', ['org_id', 'id'])
    .addForeignKeyConstraint('coaching_sessions_template', ['org_id', 'template_id'], 'coaching_templates', ['org_id', 'id'])
    .addForeignKeyConstraint('coaching_sessions_creator', ['org_id', 'form_creator_id'], 'users', ['org_id', 'id'])
    .addForeignKeyConstraint('coaching_sessions_coach', ['org_id', 'coach_id'], 'users', ['org_id', 'id'])
    .addForeignKeyConstraint('coaching_sessions_agent', ['org_id', 'agent_id'], 'users', ['org_id', 'id'])
    .execute();
  // The export's two time axes, each read in keyset order.
  await db.schema.createIndex('coaching_sessions_meeting').on('coaching_sessions').columns(['org_id', 'meeting_date', 'id']).execute();
  await db.schema.createIndex('coaching_sessions_created').on('coaching_sessions').columns(['org_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('coaching_sessions_coach_idx').on('coaching_sessions').columns(['org_id', 'coach_id']).execute();
  await db.schema.createIndex('coaching_sessions_agent_idx').on('coaching_sessions').columns(['org_id', 'agent_id']).execute();

  await db.schema
    .createTable('activity_log')
    .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigint', (c) =>
      dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedAlwaysAsIdentity(),
    )
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('user_email', 'text')
    .addColumn('action_type', 'text', (c) => c.notNull())
    .addColumn('descriptions', 'text', (c) => c.notNull())
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .addColumn('ip_address', 'text')
    .addForeignKeyConstraint('activity_log_session', ['org_id', 'session_id'], 'coaching_sessions', ['org_id', 'id'])
    .execute();
  await db.schema.createIndex('activity_log_session_idx').on('activity_log').columns(['org_id', 'session_id', 'seq']).execute();

  await db.schema
    .createTable('coaching_points')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('classification', 'text', (c) => c.notNull())
    .addColumn('ticket_id', 'text')
    .addColumn('subject', 'text')
    .addColumn('rubric_name', 'text')
    .addColumn('criteria_name', 'text')
    .addColumn('kpi_name', 'text')
    .addColumn('score', 'text')
    .addColumn('agent_notes', 'text')
    .addColumn('coach_notes', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('is_deleted', 'boolean', (c) => c.notNull())
    .addPrimaryKeyConstraint('coaching_points_pk', ['org_id', 'id'])
    .execute();

  await db.schema
    .createTable('todos')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('action_string', 'text')
    .addColumn('completed_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('creator_id', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('link', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('type', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('is_deleted', 'boolean', (c) => c.notNull())
    .addPrimaryKeyConstraint('todos_pk', ['org_id', 'id'])
    .addForeignKeyConstraint('todos_creator', ['org_id', 'creator_id'], 'users', ['org_id', 'id'])
    .execute();

  // Links name sessions that may not be stored yet (an imported point can name a session outside
  // the imported window), so only the item side is a foreign key.
  for (const [table, items] of [
    ['coaching_point_sessions', 'coaching_points'],
    ['todo_sessions', 'todos'],
  ] as const) {
    await db.schema
      .createTable(table)
      .addColumn('org_id', 'text', (c) => c.notNull())
      .addColumn('item_id', 'text', (c) => c.notNull())
      .addColumn('session_id', 'text', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['org_id', 'item_id', 'session_id'])
      .addForeignKeyConstraint(`${table}_item`, ['org_id', 'item_id'], items, ['org_id', 'id'])
      .execute();
    await db.schema.createIndex(`${table}_by_session`).on(table).columns(['org_id', 'session_id', 'item_id']).execute();
  }
}
