import { Type, type Static } from '@sinclair/typebox';
import { ROLES } from '../accounts/roles.js';
import { POINT_CLASSIFICATIONS, POINT_TYPES } from './point-kinds.js';
import { Nullable, OneOf } from './schemas.js';

/** Request and response bodies of the coaching API; field names are the export's. */

export const TODO_STATUSES = ['incomplete', 'complete'] as const;

const Id = Type.String({ minLength: 1, maxLength: 200 });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Short = Type.String({ maxLength: 500 });
const Notes = Type.String({ maxLength: 20_000 });
const DateTime = Type.String({ format: 'date-time', examples: ['2024-03-01T10:00:00.000Z'] });
const SessionIds = Type.Array(Id, { minItems: 1, maxItems: 50, uniqueItems: true });
const closed = { additionalProperties: false } as const;
const someChange = { additionalProperties: false, minProperties: 1 } as const;

export const IdParams = Type.Object({ id: Id }, closed);
export type IdParams = Static<typeof IdParams>;

export const CreateUserBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' }),
    name: Name,
    role: OneOf(ROLES),
  },
  closed,
);
export type CreateUserBody = Static<typeof CreateUserBody>;

export const UserSchema = Type.Object({
  id: Type.String(),
  email: Nullable(Type.String()),
  name: Type.String(),
  role: OneOf(ROLES),
  active: Type.Boolean({ description: 'Inactive users cannot sign in, and their tokens fail.' }),
});

export const CreateTokenBody = Type.Object(
  {
    userId: Type.Optional(Id),
    expiresInDays: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 3650 }))),
  },
  closed,
);
export type CreateTokenBody = Static<typeof CreateTokenBody>;

export const TokenSchema = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  prefix: Type.String(),
  createdAt: Type.String(),
  expiresAt: Nullable(Type.String()),
  lastUsedAt: Nullable(Type.String()),
  active: Type.Boolean(),
});
export const IssuedTokenSchema = Type.Composite([
  TokenSchema,
  Type.Object({ token: Type.String({ description: 'The secret, shown only in this response.' }) }),
]);

export const CreateTemplateBody = Type.Object({ name: Name }, closed);
export type CreateTemplateBody = Static<typeof CreateTemplateBody>;
export const RenameTemplateBody = Type.Object({ name: Name }, closed);
export type RenameTemplateBody = Static<typeof RenameTemplateBody>;
export const TemplateSchema = Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.String() });

const sessionFields = {
  coachingFormName: Name,
  coachingTemplateId: Nullable(Id),
  meetingFormat: Nullable(Type.String({ minLength: 1, maxLength: 100, examples: ['live', 'async', 'phone', 'video'] })),
  meetingDate: Nullable(DateTime),
  coachNotes: Nullable(Notes),
  agentNotes: Nullable(Notes),
  coachId: Id,
  agentId: Id,
};

export const CreateSessionBody = Type.Object(
  {
    coachingFormName: sessionFields.coachingFormName,
    agentId: sessionFields.agentId,
    coachId: Type.Optional(sessionFields.coachId),
    coachingTemplateId: Type.Optional(sessionFields.coachingTemplateId),
    meetingFormat: Type.Optional(sessionFields.meetingFormat),
    meetingDate: Type.Optional(sessionFields.meetingDate),
    coachNotes: Type.Optional(sessionFields.coachNotes),
    agentNotes: Type.Optional(sessionFields.agentNotes),
  },
  closed,
);
export type CreateSessionBody = Static<typeof CreateSessionBody>;

export const UpdateSessionBody = Type.Partial(Type.Object(sessionFields), someChange);
export type UpdateSessionBody = Static<typeof UpdateSessionBody>;

const pointFields = {
  coachingFormIds: SessionIds,
  type: OneOf(POINT_TYPES),
  classification: OneOf(POINT_CLASSIFICATIONS),
  ticketId: Nullable(Short),
  subject: Nullable(Short),
  rubricName: Nullable(Short),
  criteriaName: Nullable(Short),
  kpiName: Nullable(Short),
  score: Nullable(Type.String({ maxLength: 100 })),
  agentNotes: Nullable(Notes),
  coachNotes: Nullable(Notes),
};
const { coachingFormIds: _ids, type: _type, classification: _classification, ...optionalPointFields } = pointFields;

export const CreatePointBody = Type.Object(
  {
    coachingFormIds: pointFields.coachingFormIds,
    type: pointFields.type,
    classification: pointFields.classification,
    ...Type.Partial(Type.Object(optionalPointFields)).properties,
  },
  closed,
);
export type CreatePointBody = Static<typeof CreatePointBody>;

export const UpdatePointBody = Type.Partial(Type.Object(pointFields), someChange);
export type UpdatePointBody = Static<typeof UpdatePointBody>;

const todoFields = {
  coachingFormIds: SessionIds,
  title: Name,
  status: OneOf(TODO_STATUSES),
  actionString: Nullable(Short),
  description: Nullable(Notes),
  link: Nullable(
    Type.String({
      maxLength: 2000,
      description: 'An absolute http: or https: URL; anything else is refused with 400.',
      examples: ['https://kb.example.com/a/42'],
    }),
  ),
  type: Nullable(Type.String({ maxLength: 100 })),
};
const { coachingFormIds: _todoIds, title: _title, ...optionalTodoFields } = todoFields;

export const CreateTodoBody = Type.Object(
  {
    coachingFormIds: todoFields.coachingFormIds,
    title: todoFields.title,
    ...Type.Partial(Type.Object(optionalTodoFields)).properties,
  },
  closed,
);
export type CreateTodoBody = Static<typeof CreateTodoBody>;

export const UpdateTodoBody = Type.Partial(Type.Object(todoFields), someChange);
export type UpdateTodoBody = Static<typeof UpdateTodoBody>;
