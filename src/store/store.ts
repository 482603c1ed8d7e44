import type { ExportSession } from '../contract/schemas.js';
import type { ExportWindow } from '../export/window.js';
import type { ImportPlan } from '../importer/plan.js';
import type { Access, AccountsStore, AuditRecord, NewInvite, NewToken, TokenOwner, TokenRecord } from './accounts-store.js';
import type { IdentityStore } from './identity-store.js';
import type { Outbox } from './events/outbox.js';
import type { WebhooksTx } from './events/webhooks.js';
import type { SessionListQuery, SessionSummaryRecord } from '../coaching/session-list.js';
import type { LogEntryRecord, PointRecord, SessionRecord, TemplateRecord, TodoRecord, UserRecord } from '../coaching/records.js';
import type { ReadScope } from '../coaching/permissions.js';
import type { StatsGroupBy, StatsMetrics } from '../contract/stats-schemas.js';

/** A streamed import's audit entry, written with its sessions, and what stops it. */
export interface StreamedImportOptions {
  audit?: AuditRecord;
  /**
   * Aborted (Ctrl-C, SIGTERM): the import rolls back, also once the last batch is read, until the
   * moment it commits (the work after the last batch, indexes built and documents rendered again,
   * can take a while); it then throws the signal's reason.
   */
  signal?: AbortSignal;
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
  /** Whether a coaching point on the session, not deleted, holds agent notes (neither null nor empty). */
  hasPointAgentNotes(sessionId: string): Promise<boolean>;
  getUser(id: string): Promise<UserRecord | null>;
  getTemplate(id: string): Promise<TemplateRecord | null>;
  /**
   * The session's finished document as this transaction leaves it, already rendered by the caller
   * (coaching/documents.ts) from what it just wrote, so the read model stores it without reading
   * the session back. Only for a document the caller knows whole: a session it created.
   */
  renderedSession(document: ExportSession): void;
}

export interface TemplateListing extends TemplateRecord {
  createdAt: number;
}

/** Which sessions the stats cover (besides the reader's scope) and how they are grouped. */
export interface StatsSelection {
  window: ExportWindow;
  groupBy: StatsGroupBy;
}

/**
 * The median of a group's acknowledgement times in milliseconds: the middle time, or the mean of
 * the two middle ones (a whole or half millisecond, exact in a double).
 */
export type MedianMs = number;

/**
 * One group's counts as the database computed them: every metric except the two quotients, which
 * the domain derives; `name` is the coach's, agent's or template's.
 */
export type StatsGroupCounts = Omit<StatsMetrics, 'acknowledgementRate' | 'medianHoursToAcknowledge'> & {
  key: string | null;
  name: string | null;
  medianAcknowledgementMs: MedianMs | null;
};

export interface StatsAggregate {
  /** Only groups with at least one counted session, in no particular order. */
  groups: StatsGroupCounts[];
  /** Over every counted session, not a median of the groups' medians. */
  totalMedianAcknowledgementMs: MedianMs | null;
}

/** A connection pool's state at one moment, for the metrics. */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/** A run of finished export documents, joined by commas as the array wants them, and how many. */
export interface ExportChunk {
  /** A Buffer marked with ownedByExport (src/export/owned-chunks.ts) is freed once it is sent. */
  data: Buffer | string;
  sessions: number;
}

/** An opaque-to-clients feed position; on SQLite xid is '0'. Decimal strings. */
export interface FeedPosition {
  xid: string;
  seq: string;
}

/** One session in the change feed: where its last change stands, and its document now. */
export interface FeedChange {
  position: FeedPosition;
  /** The finished export JSON text of the session. */
  doc: string;
}

/** A unique value (an email within an organization) is already taken. */
export class ConflictError extends Error {}

/** The store is unreachable; the request may succeed later. */
export class StoreUnavailableError extends Error {}

/**
 * An import that has committed whole, after which the names it changed could not be spliced into
 * the documents written beside it (PostgreSQL; spliceImportedNames): not a failure of the import,
 * but said, since those documents may show an earlier name until `coachport serve` splices them
 * (spliceNamesLeft). `result` is what the import answers otherwise: applyImport's counts,
 * importBatches' sessions.
 */
export class ImportCommittedWithStaleNames extends Error {
  constructor(
    message: string,
    readonly result: ImportCounts | number,
  ) {
    super(message);
  }
}

/** A change the store refuses for now (a rename while an import writes), with when to try again. */
export class StoreBusyError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/**
 * The only door to persisted data. Every method that touches organization data takes the
 * organization's id, so no caller can forget to scope a query.
 */
export interface Store extends AccountsStore, IdentityStore {
  /** The organization, its first admin, that admin's first token and invite link, together. */
  createOrganization(
    input: { id: string; name: string; admin: UserRecord; token: NewToken; invite?: NewInvite; audit?: AuditRecord[] },
    now: number,
  ): Promise<void>;
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
  /** Renames a template and rewrites every document that shows it, with its audit entry, together; false if there is no such template. */
  renameTemplate(orgId: string, templateId: string, name: string, now: number, audit?: AuditRecord): Promise<boolean>;

  /**
   * The body of the export array (everything between its brackets) in large chunks: the stored
   * documents of the window in contract order, every one but the first after a comma, read from
   * one consistent snapshot. Stopping the iteration early releases everything it holds.
   */
  exportDocuments(orgId: string, window: ExportWindow): AsyncIterable<ExportChunk>;

  /**
   * Sessions whose document changed after `after` (null: from the start), oldest change first,
   * at most `limit`, each once, only positions that no still-running transaction can precede.
   * With `maxBytes`, only the changes whose earlier changes in the answer hold at most that many
   * bytes of documents, and always the first two (src/feed/page.ts cuts the page from them).
   */
  changesAfter(orgId: string, after: FeedPosition | null, limit: number, maxBytes?: number): Promise<FeedChange[]>;

  /**
   * Whether a feed position lies beyond any this database can have handed out: the database was
   * restored from a backup older than the cursor (or the cursor is another server's with the same
   * FEED_CURSOR_SECRET). Read from there, the changes made since the restore up to that position
   * would be skipped for good, so such a cursor is refused.
   */
  feedPositionAhead(orgId: string, position: FeedPosition): Promise<boolean>;

  /**
   * Writes a validated import in one transaction: all of it or none of it (and its audit entry).
   * ImportCommittedWithStaleNames when it has committed but its renames reached not every document.
   */
  applyImport(orgId: string, plan: ImportPlan, now: number, audit?: AuditRecord): Promise<ImportCounts>;

  /**
   * A streamed import: every batch applied in order inside ONE transaction, committed after the
   * last and rolled back whole if any batch, or the iterable itself, fails. A point or to-do may
   * come again in later batches (whole and unchanged); it is written again. Answers the sessions
   * written; ImportCommittedWithStaleNames as applyImport.
   */
  importBatches(orgId: string, batches: AsyncIterable<ImportPlan>, now: number, options?: StreamedImportOptions): Promise<number>;

  /**
   * Splices again the names imports changed that documents written beside them may not show yet
   * (ImportCommittedWithStaleNames, or an import's process gone after its commit), each once, as a
   * rename; an organization a streamed import writes to is passed over. Stops between names once
   * `signal` is aborted. Answers the names spliced, those still left, and the failures other than
   * a lock held too long or an import under way (each organization's, which left its names).
   */
  spliceNamesLeft(signal?: AbortSignal): Promise<{ spliced: number; left: number; failures: string[] }>;

  /** A page of session summaries for the console's list, newest first, within the query's scope. */
  listSessions(orgId: string, query: SessionListQuery): Promise<SessionSummaryRecord[]>;

  /** SPEC §6's counts, computed by the database from one snapshot. */
  coachingStats(orgId: string, selection: StatsSelection, scope: ReadScope): Promise<StatsAggregate>;

  /**
   * The value kept under `name`; when there is none yet, `proposed` is kept and returned. Race-free:
   * of processes asking at once, the first write wins and every one of them returns it.
   */
  settingOrCreate(name: string, proposed: string, now: number): Promise<string>;

  /** Runs work on the organization's webhook endpoints in one transaction, with its audit entries; `readOnly` when it only reads. */
  webhooks<T>(orgId: string, work: (tx: WebhooksTx) => Promise<T>, access?: Access): Promise<T>;
  /** The outbox as the delivery worker sees it: due deliveries of every organization. */
  readonly outbox: Outbox;

  ping(): Promise<void>;
  /** Connection-pool figures where the driver keeps a pool (PostgreSQL); null otherwise. */
  poolStats(): PoolStats | null;
  /** Exports whose days wait to be kept joined for the next export (SQLite); null where a store keeps none. */
  exportPagesQueued(): number | null;
  close(): Promise<void>;
}
