import type { Static } from '@sinclair/typebox';
import type {
  AuditEntrySchema,
  AuditPageSchema,
  DirectorySchema,
  InviteInfoSchema,
  InviteUrlSchema,
  MeSchema,
  SessionListSchema,
  SessionSummarySchema,
  SignedInSchema,
  UserWithInviteSchema,
} from '../../src/contract/account-schemas.js';
import type { IssuedTokenSchema, TemplateSchema, TokenSchema, UserSchema } from '../../src/contract/coaching-schemas.js';
import type { OidcSchema, RoleMappingSchema } from '../../src/contract/identity-schemas.js';
import type { ActivityLogEntry, CoachingPoint, ExportSession, TimeAxis, Todo } from '../../src/contract/schemas.js';
import type {
  DeliveriesPageSchema,
  DeliveryAttemptSchema,
  EventTypesSchema,
  PreferencesSchema,
  QueuedEventSchema,
  SecretSchema,
  WebhookSchema,
  WebhookWithSecretSchema,
} from '../../src/contract/webhook-schemas.js';
import type { StatsGroupBy, StatsMetrics, StatsResponse, StatsRow } from '../../src/contract/stats-schemas.js';

/** The API's shapes as the console reads them: the server's own schemas, so a renamed field breaks the build. */
export type { ActivityLogEntry, CoachingPoint, ExportSession, StatsRow, TimeAxis, Todo };
export type { Role } from '../../src/accounts/roles.js';
export type { SessionState } from '../../src/coaching/session-list.js';

export type User = Static<typeof UserSchema>;
export type Me = Static<typeof MeSchema>;
export type SignInAnswer = Static<typeof SignedInSchema>;
export type InviteInfo = Static<typeof InviteInfoSchema>;
export type UserWithInvite = Static<typeof UserWithInviteSchema>;
export type InviteUrl = Static<typeof InviteUrlSchema>;
export type Directory = Static<typeof DirectorySchema>;
export type DirectoryEntry = Directory['users'][number];
export type SessionSummary = Static<typeof SessionSummarySchema>;
export type SessionList = Static<typeof SessionListSchema>;
export type Template = Static<typeof TemplateSchema>;
export type ApiToken = Static<typeof TokenSchema>;
export type IssuedToken = Static<typeof IssuedTokenSchema>;
export type AuditEntry = Static<typeof AuditEntrySchema>;
export type AuditLogPage = Static<typeof AuditPageSchema>;
export type Metrics = StatsMetrics;
export type GroupBy = StatsGroupBy;
export type Stats = StatsResponse;
export type OidcSettings = Static<typeof OidcSchema>;
export type RoleMapping = Static<typeof RoleMappingSchema>;
export type Webhook = Static<typeof WebhookSchema>;
export type WebhookWithSecret = Static<typeof WebhookWithSecretSchema>;
export type WebhookSecret = Static<typeof SecretSchema>;
export type DeliveryAttempt = Static<typeof DeliveryAttemptSchema>;
export type DeliveriesPage = Static<typeof DeliveriesPageSchema>;
export type EventTypes = Static<typeof EventTypesSchema>;
export type Preferences = Static<typeof PreferencesSchema>;
export type QueuedEvent = Static<typeof QueuedEventSchema>;
