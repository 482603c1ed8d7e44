import { sql, type Kysely } from 'kysely';
import type { MigrationEngine } from './engine.js';

/**
 * People's accounts (password, active), one-time invite links, browser sessions and the audit
 * log; plus the indexes the console's sessions list reads in keyset order. Never edit once shipped.
 */
export async function up(db: Kysely<unknown>, dialect: MigrationEngine): Promise<void> {
  const trueLiteral = dialect === 'sqlite' ? sql`1` : sql`true`;
  await db.schema
    .alterTable('users')
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(trueLiteral))
    .execute();
  await db.schema.alterTable('users').addColumn('password_hash', 'text').execute();

  // Only the SHA-256 of a link's secret is kept; the secret exists in the link alone.
  await db.schema
    .createTable('invites')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addForeignKeyConstraint('invites_user', ['org_id', 'user_id'], 'users', ['org_id', 'id'])
    .execute();
  await db.schema.createIndex('invites_by_user').on('invites').columns(['org_id', 'user_id']).execute();

  await db.schema
    .createTable('browser_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('ip_address', 'text')
    .addForeignKeyConstraint('browser_sessions_user', ['org_id', 'user_id'], 'users', ['org_id', 'id'])
    .execute();
  await db.schema.createIndex('browser_sessions_by_user').on('browser_sessions').columns(['org_id', 'user_id']).execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigint', (c) =>
      dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedAlwaysAsIdentity(),
    )
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .addColumn('actor_user_id', 'text')
    .addColumn('actor_email', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('ip_address', 'text')
    .addColumn('details', 'text', (c) => c.notNull())
    .execute();
  // Read oldest first within a day range, optionally of one action, in keyset order.
  await db.schema.createIndex('audit_log_by_time').on('audit_log').columns(['org_id', 'timestamp', 'seq']).execute();
  await db.schema.createIndex('audit_log_by_action').on('audit_log').columns(['org_id', 'action', 'timestamp', 'seq']).execute();

  // The sessions list: newest first, within the caller's scope (coach, creator or agent).
  await db.schema
    .createIndex('coaching_sessions_coach_created')
    .on('coaching_sessions')
    .columns(['org_id', 'coach_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('coaching_sessions_creator_created')
    .on('coaching_sessions')
    .columns(['org_id', 'form_creator_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('coaching_sessions_agent_created')
    .on('coaching_sessions')
    .columns(['org_id', 'agent_id', 'created_at', 'id'])
    .execute();
}
