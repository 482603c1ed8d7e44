import type { Kysely } from 'kysely';
import { eventId, eventSeqOf, withEventId } from '../../events/event-body.js';
import type { QueuedMail } from '../../events/mail-kinds.js';
import type { StoreAdapter } from '../adapter.js';
import { flag } from '../rows.js';
import type { Database, DeliveryChannel } from '../schema.js';
import type { AttemptOutcome, ClaimedDelivery, Outbox, PruneResult } from './outbox.js';
import { cancelDeliveriesTo } from './outbox-write.js';

/**
 * Keys of deliveries on these channels whose time has come and that no live claim holds, read in
 * key order, passing over those to the endpoints in `skipEndpoints`.
 */
function dueDeliveries(db: Kysely<Database>, now: number, channels: DeliveryChannel[], skipEndpoints: string[]) {
  return db
    .selectFrom('deliveries')
    .select(['next_attempt_at', 'id'])
    .where('channel', 'in', channels)
    .where('next_attempt_at', '<=', now)
    .where((w) => w.or([w('lease_until', 'is', null), w('lease_until', '<', now)]))
    .$if(skipEndpoints.length > 0, (q) => q.where((w) => w.or([w('endpoint_id', 'is', null), w('endpoint_id', 'not in', skipEndpoints)])));
}

/** Events by id, each with the body as signed and sent. */
async function eventsByIds(db: Kysely<Database>, ids: string[]): Promise<Map<string, { type: string; body: string }>> {
  const seqs = ids.flatMap((id) => {
    const seq = eventSeqOf(id);
    return seq === null ? [] : [seq];
  });
  if (seqs.length === 0) return new Map();
  const rows = await db.selectFrom('events').select(['seq', 'created_at', 'type', 'body']).where('seq', 'in', seqs).execute();
  return new Map(
    rows.map((e) => {
      const id = eventId(Number(e.created_at), Number(e.seq));
      return [id, { type: e.type, body: withEventId(id, e.body) }];
    }),
  );
}

/** The delivery worker's side of the outbox over Kysely. */
export class OutboxQueue implements Outbox {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly adapter: StoreAdapter,
  ) {}

  async claimDue(
    now: number,
    leaseUntil: number,
    limit: number,
    channels: DeliveryChannel[],
    skipEndpoints: string[] = [],
  ): Promise<ClaimedDelivery[]> {
    // A plain read first: an idle worker never takes SQLite's write lock just to find nothing.
    const due = await dueDeliveries(this.db, now, channels, skipEndpoints).limit(1).executeTakeFirst();
    if (!due) return [];
    const claimed = await this.db.transaction().execute((trx) =>
      trx
        .updateTable('deliveries')
        .set({ lease_until: leaseUntil })
        .where(({ eb, refTuple }) =>
          eb(
            refTuple('next_attempt_at', 'id'),
            'in',
            dueDeliveries(trx, now, channels, skipEndpoints)
              .orderBy('next_attempt_at')
              .orderBy('id')
              .limit(limit)
              .$call((q) => this.adapter.skipLocked(q))
              .$asTuple('next_attempt_at', 'id'),
          ),
        )
        .returning(['id', 'next_attempt_at', 'org_id', 'event_id', 'channel', 'endpoint_id', 'recipient_id', 'mail', 'attempts'])
        .execute(),
    );
    if (claimed.length === 0) return [];
    const eventIds = [...new Set(claimed.flatMap((d) => (d.event_id ? [d.event_id] : [])))];
    const endpointIds = [...new Set(claimed.flatMap((d) => (d.endpoint_id ? [d.endpoint_id] : [])))];
    const recipientIds = [...new Set(claimed.flatMap((d) => (d.recipient_id ? [d.recipient_id] : [])))];
    const orgIds = [...new Set(claimed.map((d) => d.org_id))];
    const events = await eventsByIds(this.db, eventIds);
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
          dueAt: Number(d.next_attempt_at),
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
        dueAt: Number(d.next_attempt_at),
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

  async prune(before: number, limit: number): Promise<PruneResult> {
    return this.db.transaction().execute(async (trx) => {
      // Both tables grow in time order (their seq): the oldest rows are read first, and the scan
      // stops at the first row still kept, so no index of times is needed.
      const oldest = await trx.selectFrom('events').select(['seq', 'created_at']).orderBy('seq').limit(limit).execute();
      const old = olderThan(oldest, before, (e) => e.created_at).map((e) => Number(e.seq));
      let events = 0;
      if (old.length > 0) {
        const queued = await trx.selectFrom('deliveries').select('event_id').where('event_id', 'is not', null).execute();
        const needed = new Set(queued.map((d) => eventSeqOf(d.event_id!)));
        const gone = old.filter((seq) => !needed.has(seq));
        if (gone.length > 0) events = Number((await trx.deleteFrom('events').where('seq', 'in', gone).executeTakeFirst()).numDeletedRows);
      }
      const attempts = await trx.selectFrom('delivery_attempts').select(['seq', 'at']).orderBy('seq').limit(limit).execute();
      const oldAttempts = olderThan(attempts, before, (a) => a.at);
      const last = oldAttempts.at(-1);
      const attemptsGone = last
        ? Number((await trx.deleteFrom('delivery_attempts').where('seq', '<=', last.seq).executeTakeFirst()).numDeletedRows)
        : 0;
      return { events, attempts: attemptsGone, more: old.length === limit || oldAttempts.length === limit };
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

/** The leading rows, in table order, whose time (`at`) is before `before`: the scan stops at the first newer row. */
function olderThan<T>(rows: T[], before: number, at: (row: T) => number | string): T[] {
  const firstNewer = rows.findIndex((row) => Number(at(row)) >= before);
  return firstNewer === -1 ? rows : rows.slice(0, firstNewer);
}

/**
 * One attempt and what becomes of its delivery, in the caller's transaction: tried again later, or
 * done with and deleted (an invite's link, a secret, goes with it). False when the claim was lost
 * or the delivery cancelled (deleted) meanwhile; the attempt is logged all the same, since the
 * receiver may well have had it (the log shows every attempt, SPEC §11), with no next one.
 */
async function recordOutcome(trx: Kysely<Database>, o: AttemptOutcome): Promise<boolean> {
  const d = o.delivery;
  const changed =
    o.state === 'pending' && o.nextAttemptAt !== null
      ? await trx
          .updateTable('deliveries')
          .set({ attempts: d.attempts + (o.attempted ? 1 : 0), next_attempt_at: o.nextAttemptAt, lease_until: null })
          .where('next_attempt_at', '=', d.dueAt)
          .where('id', '=', d.id)
          .where('lease_until', '=', o.leaseUntil)
          .executeTakeFirst()
          .then((r) => Number(r.numUpdatedRows))
      : await trx
          .deleteFrom('deliveries')
          .where('next_attempt_at', '=', d.dueAt)
          .where('id', '=', d.id)
          .where('lease_until', '=', o.leaseUntil)
          .executeTakeFirst()
          .then((r) => Number(r.numDeletedRows));
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
        next_attempt_at: changed === 0 ? null : o.nextAttemptAt,
      })
      .execute();
  }
  if (changed === 0) return false;
  if (o.disableEndpoint && d.channel === 'webhook' && d.endpoint) {
    await trx
      .updateTable('webhook_endpoints')
      .set({ active: flag(false), disabled_reason: o.disableEndpoint, updated_at: o.at })
      .where('org_id', '=', d.orgId)
      .where('id', '=', d.endpoint.id)
      .execute();
    await cancelDeliveriesTo(trx, d.orgId, d.endpoint.id);
  }
  return true;
}
