import type { ExportSession } from '../contract/schemas.js';
import type { ExportWindow } from '../export/window.js';
import type { ImportPlan } from '../importer/plan.js';
import type { Dialect } from './dialect.js';
import type { Role } from './schema.js';
import type { AccountsStore, AuditRecord, NewInvite, UserAccount } from './accounts-store.js';
import type { SessionListQuery, SessionSummaryRecord } from '../coaching/session-list.js';
import type { LogEntryRecord, PointRecord, SessionRecord, TemplateRecord, TodoRecord, UserRecord } from '../coaching/records.js';
import type { ReadScope } from '../coaching/permissions.js';
import type { StatsGroupBy, StatsMetrics } from '../contract/stats-schemas.js';

export interface TokenRecord {
  id: string;
  orgId: string;
  userId: string;
  prefix: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  deactivatedAt: number | null;
}

export interface TokenOwner {
  token: TokenRecord;
  user: UserAccount;
}

export interface NewToken {
  id: string;
  orgId: string;
  userId: string;
  hash: string;
  prefix: string;
  createdAt: number;
  expiresAt: number | null;
}

export interface ImportCounts {
  sessions: number;
  coachingPoints: number;
  todos: number;
  users: number;
  templates: number;
}

/**
 * Reads and writes of one coaching change, inside one transaction of one organization. Reading a
 * session locks it until the transaction ends (PostgreSQL: FOR UPDATE; SQLite serializes writers),
 * so concurrent changes to one session apply one after another and none is lost.
 */
export interface CoachingTx {
  getSession(id: string): Promise<SessionRecord | null>;
  getSessions(ids: string[]): Promise<SessionRecord[]>;
  saveSession(session: SessionRecord, isNew: boolean): Promise<void>;
  getPoint(id: string): Promise<PointRecord | null>;
  savePoint(point: PointRecord, isNew: boolean): Promise<void>;
  getTodo(id: string): Promise<TodoRecord | null>;
  saveTodo(todo: TodoRecord, isNew: boolean): Promise<void>;
  appendLog(sessionId: string, entry: LogEntryRecord): Promise<void>;
  getUser(id: string): Promise<UserRecord | null>;
  getTemplate(id: string): Promise<TemplateRecord | null>;
}

export interface TemplateListing extends TemplateRecord {
  createdAt: number;
}

/** Which sessions the stats cover (besides the reader's scope) and how they are grouped. */
export interface StatsSelection {
  window: ExportWindow;
  groupBy: StatsGroupBy;
}

/** The middle one (low = high) or two acknowledgement times of a group, in milliseconds. */
export interface AcknowledgementMiddle {
  lowMs: number;
  highMs: number;
}

/**
 * One group's counts as the database computed them: every metric except the two quotients, which
 * the domain derives; `name` is the coach's, agent's or template's.
 */
export type StatsGroupCounts = Omit<StatsMetrics, 'acknowledgementRate' | 'medianHoursToAcknowledge'> & {
  key: string | null;
  name: string | null;
  acknowledgement: AcknowledgementMiddle | null;
};

export interface StatsAggregate {
  /** Only groups with at least one counted session, in no particular order. */
  groups: StatsGroupCounts[];
  /** Over every counted session, not a median of the groups' medians. */
  totalAcknowledgement: AcknowledgementMiddle | null;
}

/** A unique value (an email within an organization) is already taken. */
export class ConflictError extends Error {}

/** The store is unreachable; the request may succeed later. */
export class StoreUnavailableError extends Error {}

/**
 * The only door to persisted data. Every method that touches organization data takes the
 * organization's id, so no caller can forget to scope a query.
 */
export interface Store extends AccountsStore {
  readonly dialect: Dialect;

  /** The organization, its first admin, that admin's first token and invite link, together. */
  createOrganization(input: { id: string; name: string; admin: UserRecord; token: NewToken; invite?: NewInvite; audit?: AuditRecord[] }, now: number): Promise<void>;
  listOrganizations(): Promise<Array<{ id: string; name: string }>>;
  createUser(orgId: string, user: UserRecord, now: number): Promise<void>;
  getUser(orgId: string, userId: string): Promise<UserRecord | null>;
  findUserByEmail(orgId: string, email: string): Promise<UserRecord | null>;
  listUsers(orgId: string): Promise<UserRecord[]>;

  insertToken(token: NewToken): Promise<void>;
  /** The token with this hash and its owner, whatever its state; the caller judges it. */
  findToken(hash: string): Promise<TokenOwner | null>;
  markTokenUsed(tokenId: string, now: number): Promise<void>;
  listTokens(orgId: string, userId?: string): Promise<TokenRecord[]>;
  getToken(orgId: string, tokenId: string): Promise<TokenRecord | null>;
  deactivateToken(orgId: string, tokenId: string, now: number): Promise<boolean>;

  /**
   * Sessions of one organization in the window, in contract order, a page at a time, read from
   * one consistent snapshot. Stopping the iteration early releases everything it holds.
   */
  exportPages(orgId: string, window: ExportWindow, pageSize?: number): AsyncIterable<ExportSession[]>;

  /** Runs a coaching change in one transaction: the change and its log entries, or nothing. */
  coaching<T>(orgId: string, work: (tx: CoachingTx) => Promise<T>): Promise<T>;
  /** One session in the export's shape, or null. */
  readSession(orgId: string, id: string): Promise<ExportSession | null>;
  createTemplate(orgId: string, template: TemplateRecord, now: number): Promise<void>;
  listTemplates(orgId: string): Promise<TemplateListing[]>;

  /**
   * The same pages, each session already JSON text exactly as JSON.stringify writes it; built by
   * the database where it can, and checked against `exportPages` (the portable reference).
   */
  exportJsonPages(orgId: string, window: ExportWindow, pageSize?: number): AsyncIterable<string[]>;

  /** Writes a validated import in one transaction: all of it or none of it (and its audit entry). */
  applyImport(orgId: string, plan: ImportPlan, now: number, audit?: AuditRecord): Promise<ImportCounts>;

  /** A page of session summaries for the console's list, newest first, within the query's scope. */
  listSessions(orgId: string, query: SessionListQuery): Promise<SessionSummaryRecord[]>;

  /** SPEC §6's counts, computed by the database from one snapshot. */
  coachingStats(orgId: string, selection: StatsSelection, scope: ReadScope): Promise<StatsAggregate>;

  ping(): Promise<void>;
  close(): Promise<void>;
}

export type { Role };
