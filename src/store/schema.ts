import type { Generated } from 'kysely';
import type { Role } from '../accounts/roles.js';

/**
 * The database, described once. Instants are whole milliseconds since the epoch (BIGINT), so
 * both stores compare and order them the same way and write them back exactly. Flags are written
 * as 0/1, which SQLite stores as integers and PostgreSQL reads into BOOLEAN columns; read back they
 * are numbers on one and booleans on the other, so readers pass them through `Boolean`.
 */

export type Flag = number | boolean;

export interface OrganizationsTable {
  id: string;
  name: string;
  created_at: number;
}

export interface UsersTable {
  org_id: string;
  id: string;
  email: string | null;
  name: string;
  role: Role;
  created_at: number;
  updated_at: number;
  active: Generated<Flag>;
  /** scrypt, with its parameters and salt; null until the person sets a password. */
  password_hash: string | null;
  /** Whether the person gets the notification mails of SPEC §11 (invites go regardless). */
  email_notifications: Generated<Flag>;
  /** The console language the person last chose ('en' | 'ko'); mails are written in it. */
  language: string | null;
}

export interface ApiTokensTable {
  id: string;
  org_id: string;
  user_id: string;
  token_hash: string;
  prefix: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  deactivated_at: number | null;
}

export interface CoachingTemplatesTable {
  org_id: string;
  id: string;
  name: string;
  created_at: number;
  updated_at: number;
}

export interface CoachingSessionsTable {
  org_id: string;
  id: string;
  coaching_form_name: string;
  template_id: string | null;
  meeting_format: string | null;
  form_creator_id: string;
  coach_id: string;
  agent_id: string;
  created_at: number;
  updated_at: number;
  meeting_date: number | null;
  shared_with_agent: Flag;
  agent_confirmed: Flag;
  coach_confirmed: Flag;
  coach_notes: string | null;
  agent_notes: string | null;
  is_deleted: Flag;
}

export interface ActivityLogTable {
  /** Append order, which is the order the log is read in. */
  seq: Generated<number>;
  org_id: string;
  session_id: string;
  user_id: string | null;
  user_email: string | null;
  action_type: string;
  /** A JSON array of strings, exactly as written by JSON.stringify. */
  descriptions: string;
  timestamp: number;
  ip_address: string | null;
}

export interface CoachingPointsTable {
  org_id: string;
  id: string;
  type: string;
  classification: string;
  ticket_id: string | null;
  subject: string | null;
  rubric_name: string | null;
  criteria_name: string | null;
  kpi_name: string | null;
  score: string | null;
  agent_notes: string | null;
  coach_notes: string | null;
  created_at: number;
  updated_at: number;
  is_deleted: Flag;
}

/** A link of a point or to-do to one session; `position` keeps the order of coachingFormIds. */
export interface SessionLinkTable {
  org_id: string;
  item_id: string;
  session_id: string;
  position: number;
}

export interface TodosTable {
  org_id: string;
  id: string;
  action_string: string | null;
  completed_at: number | null;
  created_at: number;
  creator_id: string;
  description: string | null;
  link: string | null;
  status: string;
  title: string;
  type: string | null;
  updated_at: number;
  is_deleted: Flag;
}

export interface InvitesTable {
  token_hash: string;
  org_id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface BrowserSessionsTable {
  id_hash: string;
  org_id: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  ip_address: string | null;
}

export interface AuditLogTable {
  seq: Generated<number>;
  org_id: string;
  timestamp: number;
  actor_user_id: string | null;
  actor_email: string | null;
  action: string;
  target: string | null;
  ip_address: string | null;
  /** A JSON object, exactly as written by JSON.stringify. */
  details: string;
}

/**
 * A session's finished export document (the read model) and the position of its last rewrite in
 * the change feed. `doc` is a Buffer on SQLite (BLOB) and a string on PostgreSQL.
 */
export interface SessionDocumentsTable {
  org_id: string;
  session_id: string;
  created_at: number;
  meeting_date: number | null;
  doc: Buffer | string;
  /** PostgreSQL: the writing transaction's xid8, read as a decimal string; SQLite: 0. */
  xid: string | number;
  seq: number;
  /** 1: the older log entries are in session_log_archive, and `doc` holds the rest (migration 010). */
  log_archived: Generated<number>;
}

/** A session's older log entries, kept apart from its document row (migration 010). */
export interface SessionLogArchiveTable {
  org_id: string;
  session_id: string;
  entries: number;
  bytes: number;
  /** The entries' JSON text, comma-separated, without brackets. */
  log: string;
}

/** The view of every document whole, its archived log entries put back: what readers read. */
export type SessionDocumentsFullView = Omit<SessionDocumentsTable, 'log_archived'>;

/**
 * A session's stats row (SPEC §6): the per-session facts the stats add up, rewritten in the same
 * transaction as the session's document (analytics/session-facts.ts says what each column is).
 */
export interface SessionStatsTable {
  org_id: string;
  session_id: string;
  created_at: number;
  meeting_date: number | null;
  template_id: string | null;
  form_creator_id: string;
  coach_id: string;
  agent_id: string;
  is_deleted: Flag;
  shared_with_agent: Flag;
  agent_confirmed: Flag;
  coach_confirmed: Flag;
  points: number;
  strengths: number;
  opportunities: number;
  general: number;
  qa: number;
  csat: number;
  productivity: number;
  todos: number;
  todos_completed: number;
  acknowledgement_ms: number | null;
}

/** Values the server keeps for itself, written once (migration 006). */
export interface SettingsTable {
  name: string;
  value: string;
  created_at: number;
}

/** A webhook endpoint (migration 009); `events` is a JSON array of event types, or ["*"]. */
export interface WebhookEndpointsTable {
  org_id: string;
  id: string;
  url: string;
  description: string | null;
  events: string;
  active: Flag;
  secret: string;
  /** The secret before the last rotation, which still signs until `previous_secret_until`. */
  previous_secret: string | null;
  previous_secret_until: number | null;
  disabled_reason: string | null;
  created_at: number;
  updated_at: number;
}

/** An event as it is sent: written in the transaction of the change that caused it. */
export interface EventsTable {
  /** With created_at, the event's id (events/event-body.ts). */
  seq: Generated<number>;
  org_id: string;
  type: string;
  created_at: number;
  /** The body as signed and sent, without its leading `{"id":…,`. */
  body: string;
}

export type DeliveryChannel = 'webhook' | 'email';
/** What became of a delivery after an attempt: still pending (to be tried again), or done with. */
export type DeliveryState = 'pending' | 'sent' | 'failed' | 'cancelled';

/**
 * One event to one endpoint, or one mail to one person, still to be done: the outbox's unit of
 * work, keyed by when it falls due. Deleted once sent, given up or cancelled.
 */
export interface DeliveriesTable {
  id: string;
  org_id: string;
  event_id: string | null;
  channel: DeliveryChannel;
  endpoint_id: string | null;
  recipient_id: string | null;
  /** The mail's kind and what it needs (JSON); an invite's link leaves with the row once the mail is done. */
  mail: string | null;
  attempts: number;
  next_attempt_at: number;
  /** A process that claimed the delivery owns it until then; after, another may take it over. */
  lease_until: number | null;
  created_at: number;
}

export interface DeliveryAttemptsTable {
  seq: Generated<number | string>;
  org_id: string;
  delivery_id: string;
  endpoint_id: string | null;
  event_id: string | null;
  type: string;
  attempt: number;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  at: number;
  next_attempt_at: number | null;
}

/** An import's changed name not yet spliced into the documents written beside it (migration 013). */
export interface NamesToSpliceTable {
  org_id: string;
  kind: 'user' | 'template';
  item_id: string;
}

export interface Database {
  organizations: OrganizationsTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  coaching_templates: CoachingTemplatesTable;
  coaching_sessions: CoachingSessionsTable;
  activity_log: ActivityLogTable;
  coaching_points: CoachingPointsTable;
  coaching_point_sessions: SessionLinkTable;
  todos: TodosTable;
  todo_sessions: SessionLinkTable;
  invites: InvitesTable;
  browser_sessions: BrowserSessionsTable;
  audit_log: AuditLogTable;
  session_documents: SessionDocumentsTable;
  session_documents_full: SessionDocumentsFullView;
  session_log_archive: SessionLogArchiveTable;
  session_stats: SessionStatsTable;
  settings: SettingsTable;
  webhook_endpoints: WebhookEndpointsTable;
  events: EventsTable;
  deliveries: DeliveriesTable;
  delivery_attempts: DeliveryAttemptsTable;
  names_to_splice: NamesToSpliceTable;
}

export type LinkTable = 'coaching_point_sessions' | 'todo_sessions';
