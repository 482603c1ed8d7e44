import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../clock.js';
import type { EventsConfig } from '../../config.js';
import { IdParams } from '../../contract/coaching-schemas.js';
import { isoString as iso } from '../../contract/dates.js';
import { ErrorSchema } from '../../contract/schemas.js';
import {
  CreateWebhookBody,
  DeliveriesPageSchema,
  DeliveriesQuery,
  EventTypesSchema,
  QueuedEventSchema,
  RedeliverParams,
  SecretSchema,
  UpdateWebhookBody,
  WebhookSchema,
  WebhookWithSecretSchema,
} from '../../contract/webhook-schemas.js';
import { notFound } from '../../coaching/errors.js';
import { SUBSCRIBABLE } from '../../events/event-types.js';
import type { DeliveryAttempt, WebhookEndpoint } from '../../store/events/webhooks.js';
import type { Store } from '../../store/store.js';
import type { ResolveHost } from '../../webhooks/addresses.js';
import {
  createWebhook,
  deleteWebhook,
  redeliverEvent,
  rotateWebhookSecret,
  sendTestEvent,
  updateWebhook,
} from '../../webhooks/endpoints.js';
import { actorOf } from '../actor.js';
import { decodeCursor, pageLimit, pageOf } from '../paging.js';
import { refuseBody } from '../no-body.js';

const errors = { '4xx': ErrorSchema };
const tags = ['Webhooks'];
const admin = { roles: ['admin' as const] };

function describeEndpoint(e: WebhookEndpoint) {
  return { ...e, createdAt: iso(e.createdAt), updatedAt: iso(e.updatedAt) };
}

function describeAttempt(a: DeliveryAttempt) {
  const { seq: _seq, ...rest } = a;
  return { ...rest, at: iso(a.at), nextAttemptAt: a.nextAttemptAt === null ? null : iso(a.nextAttemptAt) };
}

/** Webhook endpoints of SPEC §11, for admins: each change is audited; secrets are shown once. */
export function webhookRoutes(
  app: FastifyInstance,
  deps: { store: Store; clock: Clock; events: EventsConfig; resolveHost: ResolveHost },
): void {
  const { store, clock } = deps;
  const rules = { allowPrivate: deps.events.allowPrivate, resolve: deps.resolveHost };

  app.get(
    '/api/v1/webhooks/event-types',
    {
      schema: { summary: 'The event types an endpoint can subscribe to', tags, response: { 200: EventTypesSchema, ...errors } },
      config: admin,
    },
    async () => ({ types: [...SUBSCRIBABLE] }),
  );
  app.post<{ Body: CreateWebhookBody }>(
    '/api/v1/webhooks',
    {
      schema: {
        summary: 'Add a webhook endpoint',
        description:
          'Events are signed as Standard Webhooks. The answer holds the signing secret, shown this once. ' +
          'Loopback, private and link-local addresses are refused unless WEBHOOK_ALLOW_PRIVATE=true.',
        tags,
        body: CreateWebhookBody,
        response: { 201: WebhookWithSecretSchema, ...errors },
      },
      config: admin,
    },
    async (request, reply) => {
      const created = await createWebhook(store, actorOf(request), request.body, rules, clock.now());
      return reply.code(201).send({ ...describeEndpoint(created), secret: created.secret });
    },
  );
  app.get(
    '/api/v1/webhooks',
    {
      schema: { summary: "The organization's webhook endpoints", tags, response: { 200: Type.Array(WebhookSchema), ...errors } },
      config: admin,
    },
    async (request) => (await store.webhooks(actorOf(request).orgId, (tx) => tx.listEndpoints(), 'readOnly')).map(describeEndpoint),
  );
  app.get<{ Params: IdParams }>(
    '/api/v1/webhooks/:id',
    { schema: { summary: 'One webhook endpoint', tags, params: IdParams, response: { 200: WebhookSchema, ...errors } }, config: admin },
    async (request) => {
      const found = await store.webhooks(actorOf(request).orgId, (tx) => tx.getEndpoint(request.params.id), 'readOnly');
      if (!found) throw notFound('webhook', request.params.id);
      return describeEndpoint(found);
    },
  );
  app.patch<{ Params: IdParams; Body: UpdateWebhookBody }>(
    '/api/v1/webhooks/:id',
    {
      schema: {
        summary: "Change an endpoint's url, events, description, or turn it on or off",
        description: 'Turning it off cancels what it still had to receive; an endpoint the receiver answered 410 Gone is off.',
        tags,
        params: IdParams,
        body: UpdateWebhookBody,
        response: { 200: WebhookSchema, ...errors },
      },
      config: admin,
    },
    async (request) => describeEndpoint(await updateWebhook(store, actorOf(request), request.params.id, request.body, rules, clock.now())),
  );
  app.delete<{ Params: IdParams }>(
    '/api/v1/webhooks/:id',
    {
      schema: { summary: 'Remove an endpoint, its pending deliveries and its log', tags, params: IdParams, response: { ...errors } },
      config: admin,
    },
    async (request, reply) => {
      await deleteWebhook(store, actorOf(request), request.params.id, clock.now());
      return reply.code(204).send();
    },
  );
  app.post<{ Params: IdParams }>(
    '/api/v1/webhooks/:id/rotate-secret',
    {
      preValidation: refuseBody,
      schema: {
        summary: 'A new signing secret',
        description: 'For 24 hours both secrets sign every delivery (two signatures in webhook-signature), then only the new one.',
        tags,
        params: IdParams,
        response: { 200: SecretSchema, ...errors },
      },
      config: admin,
    },
    async (request) => rotateWebhookSecret(store, actorOf(request), request.params.id, clock.now()),
  );
  app.post<{ Params: IdParams }>(
    '/api/v1/webhooks/:id/test',
    {
      preValidation: refuseBody,
      schema: {
        summary: 'Send a webhook.test event to this endpoint',
        tags,
        params: IdParams,
        response: { 202: QueuedEventSchema, ...errors },
      },
      config: admin,
    },
    async (request, reply) => reply.code(202).send(await sendTestEvent(store, actorOf(request), request.params.id, clock.now())),
  );
  app.post<{ Params: RedeliverParams }>(
    '/api/v1/webhooks/:id/events/:eventId/redeliver',
    {
      preValidation: refuseBody,
      schema: {
        summary: 'Send an event to this endpoint again',
        description: 'A fresh delivery with its own retries; the webhook-id stays the event id, so receivers that saw it can tell.',
        tags,
        params: RedeliverParams,
        response: { 202: QueuedEventSchema, ...errors },
      },
      config: admin,
    },
    async (request, reply) =>
      reply.code(202).send(await redeliverEvent(store, actorOf(request), request.params.id, request.params.eventId, clock.now())),
  );
  app.get<{ Params: IdParams; Querystring: DeliveriesQuery }>(
    '/api/v1/webhooks/:id/deliveries',
    {
      schema: {
        summary: "The endpoint's delivery attempts, newest first",
        tags,
        params: IdParams,
        querystring: DeliveriesQuery,
        response: { 200: DeliveriesPageSchema, ...errors },
      },
      config: admin,
    },
    async (request) => {
      const limit = pageLimit(request.query.limit, 50, 200);
      const before = request.query.cursor === undefined ? null : String(decodeCursor<[number]>(request.query.cursor, ['number'])[0]);
      const attempts = await store.webhooks(
        actorOf(request).orgId,
        async (tx) => {
          if (!(await tx.getEndpoint(request.params.id))) throw notFound('webhook', request.params.id);
          return tx.listAttempts(request.params.id, before, limit + 1);
        },
        'readOnly',
      );
      const page = pageOf(attempts, limit, (last) => [Number(last.seq)]);
      return { deliveries: page.items.map(describeAttempt), cursor: page.cursor, hasMore: page.hasMore };
    },
  );
}
