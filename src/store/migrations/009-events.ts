import { type CreateTableBuilder, type Kysely, sql } from 'kysely';
import type { MigrationEngine } from './engine.js';

/**
 * Events out (SPEC §11): the webhook endpoints, the events written with the change that caused
 * them (the outbox), one delivery per endpoint or mail recipient, and each attempt's outcome; and
 * each person's mail switch and console language, which the mail needs.
 * Events and deliveries are written with every change someone listens to, so each has only the
 * indexes its readers use. Deliveries are the work still to do, kept in the order it falls due (a
 * delivery is deleted once sent, given up or cancelled; delivery_attempts keeps the history): on
 * SQLite a WITHOUT ROWID table, so a queued delivery is one b-tree's page to write at commit, not a
 * table's, its key's and a due-time index's. An event's body would spill to overflow pages there.
 * Frozen: its own SQL only. Never edit once shipped.
 */
export async function up(db: Kysely<any>, engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('webhook_endpoints')
    .ifNotExists()
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('previous_secret', 'text')
    .addColumn('previous_secret_until', 'bigint')
    .addColumn('disabled_reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_endpoints_pk', ['org_id', 'id'])
    .execute();
  await db.schema
    .createTable('events')
    .ifNotExists()
    // The event's id is made of its time and this number (events/event-body.ts): no index of ids.
    .addColumn('seq', engine === 'postgres' ? 'bigserial' : 'integer', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('deliveries')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('endpoint_id', 'text')
    .addColumn('recipient_id', 'text')
    .addColumn('mail', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('lease_until', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('deliveries_pk', ['next_attempt_at', 'id'])
    .$call(withoutRowid(engine))
    .execute();
  await db.schema
    .createTable('delivery_attempts')
    .ifNotExists()
    .addColumn('seq', engine === 'postgres' ? 'bigserial' : 'integer', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('endpoint_id', 'text')
    .addColumn('event_id', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('delivery_attempts_by_endpoint')
    .ifNotExists()
    .on('delivery_attempts')
    .columns(['org_id', 'endpoint_id', 'seq'])
    .execute();
  await db.schema
    .alterTable('users')
    .addColumn('email_notifications', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema.alterTable('users').addColumn('language', 'text').execute();
}

function withoutRowid(engine: MigrationEngine) {
  return <T extends string, C extends string>(table: CreateTableBuilder<T, C>) =>
    engine === 'sqlite' ? table.modifyEnd(sql`without rowid`) : table;
}
