import { Type, type Static } from '@sinclair/typebox';
import { AUDIT_ACTIONS } from '../audit/actions.js';
import { SESSION_STATES } from '../coaching/session-list.js';
import { ROLES } from '../accounts/roles.js';
import { UserSchema } from './coaching-schemas.js';
import { Nullable, OneOf } from './schemas.js';

/** Request and response bodies of accounts, signing in, the directory, the sessions list and the audit log. */

const closed = { additionalProperties: false } as const;
const Email = Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' });
const Day = Type.String({ format: 'date', examples: ['2024-03-01'] });
const Cursor = Type.String({ minLength: 1, maxLength: 200, description: 'The `cursor` of the previous page.' });
const Id = Type.String({ minLength: 1, maxLength: 200 });
const CsrfToken = Type.String({ description: 'Send it in the X-CSRF-Token header with every write made with the session cookie.' });

export const SignInBody = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 320 }), password: Type.String({ maxLength: 1024 }) },
  closed,
);
export type SignInBody = Static<typeof SignInBody>;
export const SignedInSchema = Type.Object({ user: UserSchema, csrfToken: CsrfToken });
export const MeSchema = Type.Object({
  user: UserSchema,
  organization: Type.Object({ id: Type.String(), name: Type.String() }),
  csrfToken: CsrfToken,
});

export const InviteParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, closed);
export type InviteParams = Static<typeof InviteParams>;
export const InviteInfoSchema = Type.Object({ email: Nullable(Type.String()), name: Type.String() });
export const SetPasswordBody = Type.Object({ password: Type.String({ maxLength: 1024, description: 'At least 10 characters.' }) }, closed);
export type SetPasswordBody = Static<typeof SetPasswordBody>;

export const UserWithInviteSchema = Type.Composite([
  UserSchema,
  Type.Object({ inviteUrl: Type.String({ description: 'One-time link to set a password; expires in 7 days.' }) }),
]);
export const InviteUrlSchema = Type.Object({ inviteUrl: Type.String() });
export const UpdateUserBody = Type.Partial(
  Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), email: Email, role: OneOf(ROLES), active: Type.Boolean() }),
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateUserBody = Static<typeof UpdateUserBody>;

export const DirectorySchema = Type.Object({
  users: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), role: OneOf(ROLES) })),
});

export const SessionListQuerySchema = Type.Object(
  {
    state: Type.Optional(OneOf(SESSION_STATES)),
    agentId: Type.Optional(Id),
    coachId: Type.Optional(Id),
    from: Type.Optional(Day),
    to: Type.Optional(Day),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1 to 100; 25 when absent.' })),
    cursor: Type.Optional(Cursor),
  },
  closed,
);
export type SessionListQuery = Static<typeof SessionListQuerySchema>;

const Instant = Type.String({ format: 'date-time' });
export const SessionSummarySchema = Type.Object({
  _id: Type.String(),
  coachingFormName: Type.String(),
  coachingTemplateName: Nullable(Type.String()),
  coachId: Type.String(),
  coachName: Nullable(Type.String()),
  agentId: Type.String(),
  agentName: Nullable(Type.String()),
  meetingDate: Nullable(Instant),
  createdAt: Instant,
  updatedAt: Instant,
  sharedWithAgent: Type.Boolean(),
  agentConfirmed: Type.Boolean(),
  coachConfirmed: Type.Boolean(),
  isDeleted: Type.Boolean(),
});
export const SessionListSchema = Type.Object({
  sessions: Type.Array(SessionSummarySchema),
  cursor: Nullable(Type.String()),
  hasMore: Type.Boolean(),
});

export const AuditQuerySchema = Type.Object(
  {
    from: Type.Optional(Day),
    to: Type.Optional(Day),
    action: Type.Optional(OneOf(AUDIT_ACTIONS)),
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1 to 500; 100 when absent.' })),
  },
  closed,
);
export type AuditQuery = Static<typeof AuditQuerySchema>;
export const AuditEntrySchema = Type.Object({
  id: Type.String(),
  timestamp: Instant,
  actorUserId: Nullable(Type.String()),
  actorEmail: Nullable(Type.String()),
  action: OneOf(AUDIT_ACTIONS),
  target: Nullable(Type.String({ description: 'What the action was done to, as kind:id (user:…, token:…, template:…).' })),
  ipAddress: Nullable(Type.String()),
  details: Type.Object(
    {},
    { additionalProperties: true, description: 'Facts about the change: field names, counts, a window. Never a secret or a note.' },
  ),
});
export const AuditPageSchema = Type.Object({
  entries: Type.Array(AuditEntrySchema),
  cursor: Nullable(Type.String()),
  hasMore: Type.Boolean(),
});
