import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './schemas.js';

/** Request and response bodies of webhook endpoints and a person's own settings (SPEC §11). */

const closed = { additionalProperties: false } as const;
const Url = Type.String({ minLength: 1, maxLength: 2000, description: 'http or https; not a private or loopback address.' });
const Events = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  minItems: 1,
  maxItems: 50,
  uniqueItems: true,
  description: 'Event types such as `session.shared`, or `["*"]` for every one.',
});
const Description = Type.String({ maxLength: 500 });
const DateTime = Type.String({ format: 'date-time' });

export const CreateWebhookBody = Type.Object({ url: Url, events: Events, description: Type.Optional(Description) }, closed);
export type CreateWebhookBody = Static<typeof CreateWebhookBody>;

export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    active: Type.Optional(Type.Boolean()),
    description: Type.Optional(Nullable(Description)),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateWebhookBody = Static<typeof UpdateWebhookBody>;

export const WebhookSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  description: Nullable(Type.String()),
  events: Type.Array(Type.String()),
  active: Type.Boolean(),
  disabledReason: Nullable(Type.String({ description: 'Why the server turned the endpoint off (a 410 Gone), or null.' })),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const WebhookWithSecretSchema = Type.Composite([
  WebhookSchema,
  Type.Object({ secret: Type.String({ description: 'whsec_…: shown this once; sign-checking receivers keep it.' }) }),
]);

export const SecretSchema = Type.Object({
  secret: Type.String({ description: 'The new secret, shown this once; the old one also signs for 24 hours.' }),
});

export const QueuedEventSchema = Type.Object({ eventId: Type.String() });

export const RedeliverParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 200 }), eventId: Type.String({ minLength: 1, maxLength: 200 }) },
  closed,
);
export type RedeliverParams = Static<typeof RedeliverParams>;

export const DeliveriesQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]+$' })),
  },
  closed,
);
export type DeliveriesQuery = Static<typeof DeliveriesQuery>;

export const DeliveryAttemptSchema = Type.Object({
  eventId: Nullable(Type.String()),
  type: Type.String(),
  attempt: Type.Integer({ description: '1 for the first try.' }),
  statusCode: Nullable(Type.Integer()),
  durationMs: Type.Integer(),
  error: Nullable(Type.String()),
  at: DateTime,
  nextAttemptAt: Nullable(DateTime),
});

export const DeliveriesPageSchema = Type.Object({
  deliveries: Type.Array(DeliveryAttemptSchema, { description: 'Newest first.' }),
  cursor: Nullable(Type.String()),
  hasMore: Type.Boolean(),
});

export const EventTypesSchema = Type.Object({ types: Type.Array(Type.String()) });

export const PreferencesSchema = Type.Object({
  emailNotifications: Type.Boolean({ description: 'Mails when a session is shared with you or its agent confirms it.' }),
  language: Nullable(Type.Union([Type.Literal('en'), Type.Literal('ko')], { description: 'The language of your mails.' })),
});

export const UpdatePreferencesBody = Type.Object(
  { emailNotifications: Type.Optional(Type.Boolean()), language: Type.Optional(Type.Union([Type.Literal('en'), Type.Literal('ko')])) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdatePreferencesBody = Static<typeof UpdatePreferencesBody>;
