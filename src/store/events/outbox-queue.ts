import type { Kysely } from 'kysely';
import type { QueuedMail } from '../../events/mail-kinds.js';
import type { StoreAdapter } from '../adapter.js';
import { flag } from '../rows.js';
import type { Database, DeliveryChannel } from '../schema.js';
import type { AttemptOutcome, ClaimedDelivery, Outbox } from './outbox.js';

/** Ids of deliveries waiting on these channels whose time has come and that no live claim holds. */
function dueDeliveries(db: Kysely<Database>, now: number, channels: DeliveryChannel[]) {
  return db
    .selectFrom('deliveries')
    .select('id')
    .where('state', '=', 'pending')
    .where('channel', 'in', channels)
    .where('next_attempt_at', '<=', now)
    .where((w) => w.or([w('lease_until', 'is', null), w('lease_until', '<', now)]));
}

/** The delivery worker's side of the outbox over Kysely. */
export class OutboxQueue implements Outbox {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly adapter: StoreAdapter,
  ) {}

  /**
   * Takes up to `limit` due deliveries for this process until `leaseUntil`: after that, if this
   * process died, another takes them over (at-least-once). Several processes claim different rows.
   */
  async claimDue(now: number, leaseUntil: number, limit: number, channels: DeliveryChannel[]): Promise<ClaimedDelivery[]> {
    // A plain read first: an idle worker never takes SQLite's write lock just to find nothing.
    const due = await dueDeliveries(this.db, now, channels).limit(1).executeTakeFirst();
    if (!due) return [];
    const claimed = await this.db.transaction().execute((trx) =>
      trx
        .updateTable('deliveries')
        .set({ lease_until: leaseUntil })
        .where('id', 'in', () =>
          dueDeliveries(trx, now, channels)
            .orderBy('next_attempt_at')
            .limit(limit)
            .$call((q) => this.adapter.skipLocked(q)),
        )
        .returning(['id', 'org_id', 'event_id', 'channel', 'endpoint_id', 'recipient_id', 'mail', 'attempts'])
        .execute(),
    );
    if (claimed.length === 0) return [];
    const eventIds = [...new Set(claimed.flatMap((d) => (d.event_id ? [d.event_id] : [])))];
    const endpointIds = [...new Set(claimed.flatMap((d) => (d.endpoint_id ? [d.endpoint_id] : [])))];
    const recipientIds = [...new Set(claimed.flatMap((d) => (d.recipient_id ? [d.recipient_id] : [])))];
    const orgIds = [...new Set(claimed.map((d) => d.org_id))];
    const events = eventIds.length
      ? new Map(
          (await this.db.selectFrom('events').select(['id', 'type', 'body']).where('id', 'in', eventIds).execute()).map((e) => [e.id, e]),
        )
      : new Map<string, { id: string; type: string; body: string }>();
    const endpoints = endpointIds.length
      ? await this.db.selectFrom('webhook_endpoints').selectAll().where('id', 'in', endpointIds).where('active', '=', flag(true)).execute()
      : [];
    const people = recipientIds.length
      ? await this.db
          .selectFrom('users')
          .select(['org_id', 'id', 'email', 'name', 'language', 'active', 'email_notifications'])
          .where('id', 'in', recipientIds)
          .execute()
      : [];
    const orgs = new Map(
      (await this.db.selectFrom('organizations').select(['id', 'name']).where('id', 'in', orgIds).execute()).map((o) => [o.id, o.name]),
    );
    return claimed.map((d): ClaimedDelivery => {
      const event = d.event_id ? events.get(d.event_id) : undefined;
      if (d.channel === 'webhook') {
        const e = endpoints.find((x) => x.org_id === d.org_id && x.id === d.endpoint_id);
        const secrets = e ? [e.secret, ...(e.previous_secret && Number(e.previous_secret_until) > now ? [e.previous_secret] : [])] : [];
        return {
          channel: 'webhook',
          id: d.id,
          orgId: d.org_id,
          attempts: d.attempts,
          eventId: d.event_id ?? '',
          type: event?.type ?? '',
          body: event?.body ?? '',
          endpoint: e && event ? { id: e.id, url: e.url, secrets } : null,
        };
      }
      const mail = JSON.parse(d.mail ?? 'null') as QueuedMail;
      const person = people.find((p) => p.org_id === d.org_id && p.id === d.recipient_id);
      const takesMail = person?.email && person.active && (mail.kind === 'invite' || person.email_notifications);
      return {
        channel: 'email',
        id: d.id,
        orgId: d.org_id,
        attempts: d.attempts,
        eventId: d.event_id,
        mail,
        eventBody: event?.body ?? null,
        recipient: takesMail && person ? { id: person.id, email: person.email ?? '', name: person.name, language: person.language } : null,
        organizationName: orgs.get(d.org_id) ?? '',
      };
    });
  }

  async finish(outcomes: AttemptOutcome[]): Promise<number> {
    if (outcomes.length === 0) return 0;
    return this.db.transaction().execute(async (trx) => {
      let recorded = 0;
      for (const outcome of outcomes) if (await recordOutcome(trx, outcome)) recorded++;
      return recorded;
    });
  }
}

/** One attempt and its delivery's next state, in the caller's transaction; false when the claim was lost or the delivery cancelled. */
async function recordOutcome(trx: Kysely<Database>, o: AttemptOutcome): Promise<boolean> {
  const d = o.delivery;
  const final = o.state !== 'pending';

  const updated = await trx
    .updateTable('deliveries')
    .set({
      state: o.state,
      attempts: d.attempts + (o.attempted ? 1 : 0),
      next_attempt_at: o.nextAttemptAt,
      lease_until: null,
      // An invite's link is a secret: gone once its mail is done with.
      ...(final && d.channel === 'email' && d.mail.kind === 'invite' ? { mail: JSON.stringify({ ...d.mail, link: '' }) } : {}),
    })
    .where('id', '=', d.id)
    .where('lease_until', '=', o.leaseUntil)
    // Cancelled while in flight (an endpoint turned off, an invite replaced): it stays cancelled.
    .where('state', '=', 'pending')
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) return false;
  if (o.attempted) {
    await trx
      .insertInto('delivery_attempts')
      .values({
        org_id: d.orgId,
        delivery_id: d.id,
        endpoint_id: d.channel === 'webhook' ? (d.endpoint?.id ?? null) : null,
        event_id: d.eventId,
        type: d.channel === 'webhook' ? d.type : `email.${d.mail.kind}`,
        attempt: d.attempts + 1,
        status_code: o.statusCode,
        duration_ms: Math.round(o.durationMs),
        error: o.error,
        at: o.at,
        next_attempt_at: o.nextAttemptAt,
      })
      .execute();
  }
  if (o.disableEndpoint && d.channel === 'webhook' && d.endpoint) {
    await trx
      .updateTable('webhook_endpoints')
      .set({ active: flag(false), disabled_reason: o.disableEndpoint, updated_at: o.at })
      .where('org_id', '=', d.orgId)
      .where('id', '=', d.endpoint.id)
      .execute();
    await trx
      .updateTable('deliveries')
      .set({ state: 'cancelled', next_attempt_at: null })
      .where('org_id', '=', d.orgId)
      .where('endpoint_id', '=', d.endpoint.id)
      .where('state', '=', 'pending')
      .execute();
  }
  return true;
}
