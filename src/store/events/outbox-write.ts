import { CompiledQuery, type Kysely, type RawBuilder, sql } from 'kysely';
import { logDocument } from '../../coaching/documents.js';
import type { LogEntryRecord } from '../../coaching/records.js';
import { eventId, sessionEventBody } from '../../events/event-body.js';
import { eventTypeOf, subscribes } from '../../events/event-types.js';
import { mailForAction, type QueuedMail } from '../../events/mail-kinds.js';
import { newId } from '../../ids.js';
import { flag } from '../rows.js';
import type { MigrationEngine } from '../migrations/engine.js';
import { Prepared } from '../prepared.js';
import type { Database, DeliveriesTable } from '../schema.js';

/** What the outbox writes besides webhooks: mails, only where an SMTP server is configured. */
export interface OutboxOptions {
  mail: boolean;
}

export interface AppendedEntry {
  sessionId: string;
  entry: LogEntryRecord;
}

const ROWS_PER_STATEMENT = 200;

export function deliveryRow(
  orgId: string,
  now: number,
  target: Pick<DeliveriesTable, 'event_id' | 'channel' | 'endpoint_id' | 'recipient_id' | 'mail'>,
): DeliveriesTable {
  return {
    id: `dlv_${newId(now)}`,
    org_id: orgId,
    attempts: 0,
    next_attempt_at: now,
    lease_until: null,
    created_at: now,
    ...target,
  };
}

/** `kind` comes first in the text: voiding an invite finds its pending mail by that prefix. */
export function queuedMail(mail: QueuedMail): string {
  return JSON.stringify(mail);
}

const DELIVERY_COLUMNS = [
  'id',
  'org_id',
  'event_id',
  'channel',
  'endpoint_id',
  'recipient_id',
  'mail',
  'attempts',
  'next_attempt_at',
  'lease_until',
  'created_at',
] as const satisfies readonly (keyof DeliveriesTable)[];

/** A statement's SQL by database and shape: the text depends on nothing else. */
const compiledText = new Map<string, string>();

/** Runs the statement `build` makes, its SQL text compiled once per `key` and database. */
async function runCompiled<R>(
  trx: Kysely<Database>,
  engine: MigrationEngine,
  key: string,
  build: () => RawBuilder<unknown>,
  values: unknown[],
): Promise<R[]> {
  const cacheKey = `${engine} ${key}`;
  let text = compiledText.get(cacheKey);
  if (text === undefined) {
    text = build().compile(trx).sql;
    compiledText.set(cacheKey, text);
  }
  return (await trx.executeQuery<R>(CompiledQuery.raw(text, values))).rows;
}

/** A queued event's row; answers the event's id, which its row number makes (events/event-body.ts). */
export async function insertEvent(
  trx: Kysely<Database>,
  engine: MigrationEngine,
  event: { orgId: string; type: string; createdAt: number; body: string },
): Promise<string> {
  const values = [event.orgId, event.type, event.createdAt, event.body];
  const [row] = await runCompiled<{ seq: number | string }>(
    trx,
    engine,
    'event',
    () => sql`insert into "events" ("org_id", "type", "created_at", "body") values (${sql.join(values)}) returning "seq"`,
    values,
  );
  return eventId(event.createdAt, Number(row!.seq));
}

/**
 * Deliveries in multi-row inserts whose SQL text is compiled once per database and row count, then
 * run with new values: on this path, which every change someone listens to takes, building and
 * compiling the insert each time cost more than the database's writing the rows (measured). The
 * column list is typed against the schema; values go in row by row, column by column.
 */
async function insertDeliveries(trx: Kysely<Database>, engine: MigrationEngine, deliveries: DeliveriesTable[]) {
  const head = sql.raw(`insert into "deliveries" (${DELIVERY_COLUMNS.map((c) => `"${c}"`).join(', ')}) values `);
  for (let i = 0; i < deliveries.length; i += ROWS_PER_STATEMENT) {
    const rows = deliveries.slice(i, i + ROWS_PER_STATEMENT);
    const tuples = rows.map((row) => DELIVERY_COLUMNS.map((c) => row[c]));
    await runCompiled(
      trx,
      engine,
      `deliveries ${rows.length}`,
      () => sql`${head}${sql.join(tuples.map((values) => sql`(${sql.join(values)})`))}`,
      tuples.flat(),
    );
  }
}

/** Drops what an endpoint still had to receive: it was turned off or removed. */
export async function cancelDeliveriesTo(trx: Kysely<Database>, orgId: string, endpointId: string): Promise<void> {
  await trx.deleteFrom('deliveries').where('org_id', '=', orgId).where('endpoint_id', '=', endpointId).execute();
}

/** The people a mail of these entries goes to, by session: each session's coach and agent, if they take mail. */
async function mailRecipients(
  trx: Kysely<Database>,
  orgId: string,
  sessionIds: string[],
): Promise<Map<string, { agent: string | null; coach: string | null }>> {
  const rows = await trx
    .selectFrom('coaching_sessions as s')
    .leftJoin('users as a', (j) =>
      j
        .onRef('a.org_id', '=', 's.org_id')
        .onRef('a.id', '=', 's.agent_id')
        .on('a.email_notifications', '=', flag(true))
        .on('a.active', '=', flag(true)),
    )
    .leftJoin('users as c', (j) =>
      j
        .onRef('c.org_id', '=', 's.org_id')
        .onRef('c.id', '=', 's.coach_id')
        .on('c.email_notifications', '=', flag(true))
        .on('c.active', '=', flag(true)),
    )
    .select(['s.id', 'a.id as agent', 'a.email as agentEmail', 'c.id as coach', 'c.email as coachEmail'])
    .where('s.org_id', '=', orgId)
    .where('s.id', 'in', sessionIds)
    .execute();
  return new Map(
    rows.map((r) => [r.id, { agent: r.agentEmail ? (r.agent ?? null) : null, coach: r.coachEmail ? (r.coach ?? null) : null }]),
  );
}

/** Asked by every coaching change: prepared once (prepared.ts). */
const activeEndpoints = new Prepared((trx, { orgId }: { orgId: string }) =>
  trx.selectFrom('webhook_endpoints').select(['id', 'events']).where('org_id', '=', orgId).where('active', '=', flag(true)),
);

/**
 * The outbox half of a coaching change, in its transaction (SPEC §11): one event per new log entry
 * that an active endpoint subscribes to or that someone hears of by mail, carrying the session's
 * document as this transaction stored it, and one delivery per endpoint and per mail. A change no
 * one listens to writes nothing here, so an organization without webhooks pays one indexed read.
 */
export async function writeSessionEvents(
  trx: Kysely<Database>,
  engine: MigrationEngine,
  orgId: string,
  appended: AppendedEntry[],
  options: OutboxOptions,
  /** Documents this transaction rendered whole and stored as this text: not read back. */
  stored: ReadonlyMap<string, string> = new Map(),
): Promise<void> {
  if (appended.length === 0) return;
  const endpoints = (await activeEndpoints.execute(engine, trx, { orgId })).rows.map((e) => ({
    id: e.id,
    events: JSON.parse(e.events) as string[],
  }));
  const mailing = options.mail ? appended.filter((a) => mailForAction(a.entry.actionType)) : [];
  if (endpoints.length === 0 && mailing.length === 0) return;
  const recipients = mailing.length > 0 ? await mailRecipients(trx, orgId, [...new Set(mailing.map((a) => a.sessionId))]) : new Map();

  const planned = appended.map(({ sessionId, entry }) => {
    const type = eventTypeOf(entry.actionType);
    const rule = options.mail ? mailForAction(entry.actionType) : null;
    const recipient: string | null = rule ? (recipients.get(sessionId)?.[rule.recipient] ?? null) : null;
    const hooks = endpoints.filter((e) => subscribes(e.events, type));
    return { sessionId, entry, type, hooks, mail: rule && recipient ? { kind: rule.kind, recipient } : null };
  });
  const wanted = planned.filter((p) => p.hooks.length > 0 || p.mail);
  if (wanted.length === 0) return;

  const docText = new Map(stored);
  const unread = [...new Set(wanted.map((p) => p.sessionId))].filter((id) => !docText.has(id));
  if (unread.length > 0) {
    const docs = await trx
      .selectFrom('session_documents_full')
      .select(['session_id', 'doc'])
      .where('org_id', '=', orgId)
      .where('session_id', 'in', unread)
      .execute();
    for (const d of docs) docText.set(d.session_id, typeof d.doc === 'string' ? d.doc : d.doc.toString('utf8'));
  }

  const deliveries: DeliveriesTable[] = [];
  for (const p of wanted) {
    const json = docText.get(p.sessionId);
    if (json === undefined) continue;
    const event = { type: p.type, createdAt: p.entry.timestamp, orgId };
    const id = await insertEvent(trx, engine, { ...event, body: sessionEventBody(event, json, logDocument(p.entry)) });
    for (const hook of p.hooks) {
      deliveries.push(
        deliveryRow(orgId, event.createdAt, {
          event_id: id,
          channel: 'webhook',
          endpoint_id: hook.id,
          recipient_id: null,
          mail: null,
        }),
      );
    }
    if (p.mail) {
      const mail = queuedMail({ kind: p.mail.kind, sessionId: p.sessionId });
      deliveries.push(
        deliveryRow(orgId, event.createdAt, {
          event_id: id,
          channel: 'email',
          endpoint_id: null,
          recipient_id: p.mail.recipient,
          mail,
        }),
      );
    }
  }
  await insertDeliveries(trx, engine, deliveries);
}
