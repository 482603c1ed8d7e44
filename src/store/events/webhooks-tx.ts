import type { AccountsTx } from '../accounts-store.js';
import type { Selectable, Transaction } from 'kysely';
import { flag } from '../rows.js';
import type { Database, WebhookEndpointsTable } from '../schema.js';
import { eventId as eventIdOf, eventSeqOf } from '../../events/event-body.js';
import type { MigrationEngine } from '../migrations/engine.js';
import { cancelDeliveriesTo, deliveryRow, insertEvent } from './outbox-write.js';
import type { WebhookEndpoint, WebhooksTx } from './webhooks.js';

function endpointFromRow(row: Selectable<WebhookEndpointsTable>): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: JSON.parse(row.events) as string[],
    active: Boolean(row.active),
    disabledReason: row.disabled_reason,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function webhooksTx(trx: Transaction<Database>, engine: MigrationEngine, orgId: string, accounts: AccountsTx): WebhooksTx {
  const endpoints = () => trx.selectFrom('webhook_endpoints').selectAll().where('org_id', '=', orgId);
  return {
    accounts,
    async listEndpoints() {
      return (await endpoints().orderBy('created_at').orderBy('id').execute()).map(endpointFromRow);
    },
    async getEndpoint(id) {
      const row = await endpoints().where('id', '=', id).executeTakeFirst();
      return row ? endpointFromRow(row) : null;
    },
    async insertEndpoint(e, secret) {
      await trx
        .insertInto('webhook_endpoints')
        .values({
          org_id: orgId,
          id: e.id,
          url: e.url,
          description: e.description,
          events: JSON.stringify(e.events),
          active: flag(e.active),
          secret,
          previous_secret: null,
          previous_secret_until: null,
          disabled_reason: null,
          created_at: e.createdAt,
          updated_at: e.updatedAt,
        })
        .execute();
    },
    async updateEndpoint(id, changes, now) {
      const result = await trx
        .updateTable('webhook_endpoints')
        .set({
          ...(changes.url !== undefined ? { url: changes.url } : {}),
          ...(changes.events !== undefined ? { events: JSON.stringify(changes.events) } : {}),
          ...(changes.description !== undefined ? { description: changes.description } : {}),
          ...(changes.active !== undefined ? { active: flag(changes.active), disabled_reason: null } : {}),
          updated_at: now,
        })
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      if (changes.active === false) await cancelDeliveriesTo(trx, orgId, id);
      return true;
    },
    async deleteEndpoint(id) {
      const result = await trx.deleteFrom('webhook_endpoints').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await cancelDeliveriesTo(trx, orgId, id);
      await trx.deleteFrom('delivery_attempts').where('org_id', '=', orgId).where('endpoint_id', '=', id).execute();
      return true;
    },
    async rotateSecret(id, secret, previousUntil, now) {
      const current = await trx
        .selectFrom('webhook_endpoints')
        .select('secret')
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (!current) return false;
      await trx
        .updateTable('webhook_endpoints')
        .set({ secret, previous_secret: current.secret, previous_secret_until: previousUntil, updated_at: now })
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .execute();
      return true;
    },
    async queueEvent(endpointId, event) {
      const id = await insertEvent(trx, engine, { orgId, ...event });
      await trx
        .insertInto('deliveries')
        .values(
          deliveryRow(orgId, event.createdAt, {
            event_id: id,
            channel: 'webhook',
            endpoint_id: endpointId,
            recipient_id: null,
            mail: null,
          }),
        )
        .execute();
      return id;
    },
    async redeliver(endpointId, eventId, now) {
      const seq = eventSeqOf(eventId);
      if (seq === null) return false;
      const event = await trx
        .selectFrom('events')
        .select('created_at')
        .where('org_id', '=', orgId)
        .where('seq', '=', seq)
        .executeTakeFirst();
      if (!event || eventIdOf(Number(event.created_at), seq) !== eventId) return false;
      await trx
        .insertInto('deliveries')
        .values(deliveryRow(orgId, now, { event_id: eventId, channel: 'webhook', endpoint_id: endpointId, recipient_id: null, mail: null }))
        .execute();
      return true;
    },
    async listAttempts(endpointId, beforeSeq, limit) {
      let query = trx
        .selectFrom('delivery_attempts')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('endpoint_id', '=', endpointId)
        .orderBy('seq', 'desc')
        .limit(limit);
      if (beforeSeq !== null) query = query.where('seq', '<', Number(beforeSeq));
      return (await query.execute()).map((r) => ({
        seq: String(r.seq),
        eventId: r.event_id,
        type: r.type,
        attempt: r.attempt,
        statusCode: r.status_code,
        durationMs: r.duration_ms,
        error: r.error,
        at: Number(r.at),
        nextAttemptAt: r.next_attempt_at === null ? null : Number(r.next_attempt_at),
      }));
    },
  };
}
