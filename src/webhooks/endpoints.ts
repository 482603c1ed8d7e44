import { auditEntry, target } from '../audit/audit.js';
import type { Actor } from '../coaching/actor.js';
import { DomainError, invalid, notFound } from '../coaching/errors.js';
import type { CreateWebhookBody, UpdateWebhookBody } from '../contract/webhook-schemas.js';
import { testEventBody } from '../events/event-body.js';
import { SUBSCRIBABLE, TEST_EVENT_TYPE } from '../events/event-types.js';
import { newId } from '../ids.js';
import type { WebhookEndpoint, WebhooksTx } from '../store/events/webhooks.js';
import type { Store } from '../store/store.js';
import { AddressRefused, allowedAddresses, parseWebhookUrl, type ResolveHost } from './addresses.js';
import { newSigningSecret } from './signing.js';

/** The old secret signs beside the new one this long after a rotation, so receivers can switch without losing a delivery. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

export interface EndpointRules {
  allowPrivate: boolean;
  resolve: ResolveHost;
}

/** The URL as it will be saved, refused when it is not http(s) or reaches a non-public address now. */
async function checkedUrl(raw: string, rules: EndpointRules): Promise<string> {
  try {
    const url = parseWebhookUrl(raw);
    await allowedAddresses(url.hostname, rules.resolve, rules.allowPrivate);
    return url.href;
  } catch (error) {
    if (error instanceof AddressRefused) throw invalid(`url: ${error.message}`);
    throw error;
  }
}

function checkedEvents(events: string[]): string[] {
  const unknown = events.filter((e) => !(SUBSCRIBABLE as readonly string[]).includes(e));
  if (unknown.length > 0) {
    throw invalid(`Unknown event type ${JSON.stringify(unknown[0])}; GET /api/v1/webhooks/event-types lists them (or use "*").`);
  }
  return events.includes('*') ? ['*'] : events;
}

export async function createWebhook(
  store: Store,
  actor: Actor,
  input: CreateWebhookBody,
  rules: EndpointRules,
  now: number,
): Promise<WebhookEndpoint & { secret: string }> {
  const url = await checkedUrl(input.url, rules);
  const events = checkedEvents(input.events);
  const endpoint: WebhookEndpoint = {
    id: newId(now),
    url,
    description: input.description ?? null,
    events,
    active: true,
    disabledReason: null,
    createdAt: now,
    updatedAt: now,
  };
  const secret = newSigningSecret();
  await store.webhooks(actor.orgId, async (tx) => {
    await tx.insertEndpoint(endpoint, secret);
    await tx.accounts.audit(auditEntry(actor, 'webhook_created', target.webhook(endpoint.id), { url, events }, now));
  });
  return { ...endpoint, secret };
}

export async function updateWebhook(
  store: Store,
  actor: Actor,
  id: string,
  input: UpdateWebhookBody,
  rules: EndpointRules,
  now: number,
): Promise<WebhookEndpoint> {
  const changes = {
    ...input,
    ...(input.url !== undefined ? { url: await checkedUrl(input.url, rules) } : {}),
    ...(input.events !== undefined ? { events: checkedEvents(input.events) } : {}),
  };
  return store.webhooks(actor.orgId, async (tx) => {
    if (!(await tx.updateEndpoint(id, changes, now))) throw notFound('webhook', id);
    const fields = Object.keys(input).sort();
    await tx.accounts.audit(
      auditEntry(actor, 'webhook_updated', target.webhook(id), { fields, ...(changes.url ? { url: changes.url } : {}) }, now),
    );
    const updated = await tx.getEndpoint(id);
    if (!updated) throw notFound('webhook', id);
    return updated;
  });
}

export async function deleteWebhook(store: Store, actor: Actor, id: string, now: number): Promise<void> {
  await store.webhooks(actor.orgId, async (tx) => {
    if (!(await tx.deleteEndpoint(id))) throw notFound('webhook', id);
    await tx.accounts.audit(auditEntry(actor, 'webhook_deleted', target.webhook(id), {}, now));
  });
}

export async function rotateWebhookSecret(store: Store, actor: Actor, id: string, now: number): Promise<{ secret: string }> {
  const secret = newSigningSecret();
  await store.webhooks(actor.orgId, async (tx) => {
    if (!(await tx.rotateSecret(id, secret, now + ROTATION_OVERLAP_MS, now))) throw notFound('webhook', id);
    const until = new Date(now + ROTATION_OVERLAP_MS).toISOString();
    await tx.accounts.audit(auditEntry(actor, 'webhook_secret_rotated', target.webhook(id), { previousSecretSignsUntil: until }, now));
  });
  return { secret };
}

/** The endpoint, which must be on to be sent anything. */
async function activeEndpoint(tx: WebhooksTx, id: string): Promise<WebhookEndpoint> {
  const endpoint = await tx.getEndpoint(id);
  if (!endpoint) throw notFound('webhook', id);
  if (!endpoint.active) throw new DomainError('conflict', `Webhook ${id} is off; turn it on (PATCH {"active": true}) to send it events.`);
  return endpoint;
}

/** Queues a `webhook.test` event to this endpoint alone, whatever it subscribes to. */
export async function sendTestEvent(store: Store, actor: Actor, id: string, now: number): Promise<{ eventId: string }> {
  const event = { type: TEST_EVENT_TYPE, createdAt: now, orgId: actor.orgId };
  const eventId = await store.webhooks(actor.orgId, async (tx) => {
    await activeEndpoint(tx, id);
    return tx.queueEvent(id, { ...event, body: testEventBody(event, id) });
  });
  return { eventId };
}

export async function redeliverEvent(store: Store, actor: Actor, id: string, eventId: string, now: number): Promise<{ eventId: string }> {
  await store.webhooks(actor.orgId, async (tx) => {
    await activeEndpoint(tx, id);
    if (!(await tx.redeliver(id, eventId, now))) throw notFound('event', eventId);
  });
  return { eventId };
}
