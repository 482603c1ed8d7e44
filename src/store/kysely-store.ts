import { Migrator, sql, type Insertable, type Kysely, type Transaction } from 'kysely';
import type { ExportSession } from '../contract/schemas.js';
import type { TemplateRecord, UserRecord } from '../coaching/records.js';
import type { ReadScope } from '../coaching/permissions.js';
import type { ExportWindow } from '../export/window.js';
import { countsOf, type ImportPlan } from '../importer/plan.js';
import type { StoreAdapter } from './adapter.js';
import type { Driver } from './driver.js';
import { KyselyCoachingTx } from './coaching-tx.js';
import { AccountQueries, auditRow, KyselyAccountsTx } from './accounts-tx.js';
import { identityTx, loginStates, type IdentityTx, type LoginState } from './identity-store.js';
import type {
  AccountsTx,
  Access,
  AuditQuery,
  AuditRecord,
  BrowserSessionOwner,
  InviteRecord,
  NewInvite,
  NewToken,
  SignInCandidate,
  StoredAuditEntry,
  TokenOwner,
  TokenRecord,
  UserAccount,
} from './accounts-store.js';
import type { SessionListQuery, SessionSummaryRecord } from '../coaching/session-list.js';
import { listSessionSummaries } from './session-list.js';
import { refreshDocumentsOfTemplate, renderedDocument, storeRendered } from './documents/refresh.js';
import { LOG_FOLD_AT } from './documents/log-archive.js';
import { Prepared } from './prepared.js';
import { refreshChangedDocuments } from './documents/spliced.js';
import { changesAfter } from './documents/feed.js';
import { writeSessionEvents, type OutboxOptions } from './events/outbox-write.js';
import { OutboxQueue } from './events/outbox-queue.js';
import { webhooksTx } from './events/webhooks-tx.js';
import type { WebhooksTx } from './events/webhooks.js';
import { type ImportScope, refreshAfterImport, scopeBeforeImport } from './documents/import-scope.js';
import { ImportedNames, recordNamesToSplice, spliceImportedNames, spliceNamesLeft } from './documents/names-to-splice.js';
import { readExportPages, readSessionsById } from './export-pages.js';
import { readStats } from './stats-sql.js';
import { migrationProvider } from './migrations/index.js';
import { READ_MODEL_VERSION, rebuildStaleReadModel } from './read-model-version.js';
import {
  IMPORT_UPDATES,
  importedUserRow,
  linkRow,
  logRow,
  pointRow,
  sessionRow,
  templateRow,
  todoRow,
  tokenFromRow,
  tokenRow,
  userFromRow,
} from './rows.js';
import type { Database, LinkTable } from './schema.js';
import {
  ConflictError,
  type CoachingTx,
  type FeedChange,
  type FeedPosition,
  type ExportChunk,
  type ImportCounts,
  ImportCommittedWithStaleNames,
  type StatsAggregate,
  type StatsSelection,
  type PoolStats,
  type Store,
  type TemplateListing,
  type StreamedImportOptions,
} from './store.js';

/** Rows per multi-row statement: well under both databases' bound-parameter limits. */
const CHUNK = 400;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function upsert<T extends keyof Database & string>(
  trx: Transaction<Database>,
  table: T,
  rows: Array<Insertable<Database[T]>>,
  keys: string[],
  updateColumns?: readonly string[],
): Promise<void> {
  if (rows.length === 0) return;
  const columns = (updateColumns ?? Object.keys(rows[0]!)).filter((c) => !keys.includes(c));
  const set = Object.fromEntries(columns.map((c) => [c, sql.ref(`excluded.${c}`)]));
  // Kysely cannot type a query over a table chosen by a type parameter; the rows were typed above.
  const untyped = trx as unknown as Kysely<Record<string, Record<string, unknown>>>;
  for (const chunk of chunks(rows)) {
    await untyped
      .insertInto(table)
      .values(chunk as Array<Record<string, unknown>>)
      .onConflict((oc) => oc.columns(keys).doUpdateSet(set as never))
      .execute();
  }
}

/**
 * Every request with a token asks these: prepared once (prepared.ts), and two lookups by key rather
 * than a join, which SQLite ran at three times their cost together (measured: 13 µs against 4).
 */
const tokenByHash = new Prepared((db, { hash }: { hash: string }) =>
  db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash),
);
const tokenUser = new Prepared((db, { orgId, id }: { orgId: string; id: string }) =>
  db.selectFrom('users').select(['email', 'name', 'role', 'active']).where('org_id', '=', orgId).where('id', '=', id),
);

export class KyselyStore implements Store {
  /** The database's name, for what reports which one is in use. */
  private readonly adapter: StoreAdapter;
  private readonly db: Kysely<Database>;
  private readonly accountQueries: AccountQueries;
  readonly outbox: OutboxQueue;

  constructor(
    private readonly driver: Driver,
    private readonly outboxOptions: OutboxOptions = { mail: false },
    /** Log entries a document row holds before its older ones are archived (log-archive.ts); tests lower it. */
    private readonly logFoldAt = LOG_FOLD_AT,
  ) {
    this.adapter = driver.adapter;
    this.db = driver.db;
    this.accountQueries = new AccountQueries(driver.db);
    this.outbox = new OutboxQueue(driver.db, driver.adapter);
  }

  /** The migrations, then the read model's rebuild if its version differs, under one lock: once across processes. */
  async migrate(readModelVersion = READ_MODEL_VERSION): Promise<void> {
    await this.driver.withMigrationLock(async (db) => {
      const migrator = new Migrator({ db, provider: migrationProvider(this.adapter.name) });
      const { error } = await migrator.migrateToLatest();
      if (error) throw error;
      await rebuildStaleReadModel(db, this.adapter, readModelVersion);
    });
  }

  private async unique<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (this.driver.isUniqueViolation(error)) throw new ConflictError(what);
      throw error;
    }
  }

  async createOrganization(
    input: { id: string; name: string; admin: UserRecord; token: NewToken; invite?: NewInvite; audit?: AuditRecord[] },
    now: number,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('organizations').values({ id: input.id, name: input.name, created_at: now }).execute();
      await trx
        .insertInto('users')
        .values({ org_id: input.id, ...input.admin, created_at: now, updated_at: now })
        .execute();
      await trx.insertInto('api_tokens').values(tokenRow(input.token)).execute();
      const accounts = new KyselyAccountsTx(trx, input.id, this.adapter, this.outboxOptions);
      if (input.invite) await accounts.insertInvite(input.invite);
      for (const entry of input.audit ?? []) await accounts.audit(entry);
    });
  }

  async accounts<T>(orgId: string, work: (tx: AccountsTx) => Promise<T>, access: Access = 'readWrite'): Promise<T> {
    return this.unique('A user with that email already exists in this organization.', () =>
      this.transaction(access).execute((trx) => work(new KyselyAccountsTx(trx, orgId, this.adapter, this.outboxOptions))),
    );
  }

  async identity<T>(orgId: string, work: (tx: IdentityTx) => Promise<T>, access: Access = 'readWrite'): Promise<T> {
    return this.unique('That name or email is already taken in this organization.', () =>
      this.transaction(access).execute((trx) =>
        work(identityTx(trx, orgId, new KyselyAccountsTx(trx, orgId, this.adapter, this.outboxOptions))),
      ),
    );
  }

  /** A read-only transaction begins as one (PostgreSQL refuses a write in it; SQLite takes no write lock for it). */
  private transaction(access: Access) {
    const transaction = this.db.transaction();
    return access === 'readOnly' ? transaction.setAccessMode('read only') : transaction;
  }

  insertLoginState(stateHash: string, state: LoginState): Promise<void> {
    return loginStates(this.db).insert(stateHash, state);
  }

  takeLoginState(stateHash: string): Promise<LoginState | null> {
    return loginStates(this.db).take(stateHash);
  }

  signInCandidates(email: string): Promise<SignInCandidate[]> {
    return this.accountQueries.signInCandidates(email);
  }

  findInvite(tokenHash: string): Promise<(InviteRecord & { user: UserAccount }) | null> {
    return this.accountQueries.findInvite(tokenHash);
  }

  findBrowserSession(idHash: string): Promise<BrowserSessionOwner | null> {
    return this.accountQueries.findBrowserSession(idHash);
  }

  touchBrowserSession(idHash: string, now: number): Promise<void> {
    return this.accountQueries.touchBrowserSession(idHash, now);
  }

  deleteBrowserSession(idHash: string): Promise<void> {
    return this.accountQueries.deleteBrowserSession(idHash);
  }

  listAccounts(orgId: string): Promise<UserAccount[]> {
    return this.accountQueries.listAccounts(orgId);
  }

  getAccount(orgId: string, userId: string): Promise<UserAccount | null> {
    return this.accountQueries.getAccount(orgId, userId);
  }

  writeAudit(orgId: string, entry: AuditRecord): Promise<void> {
    return this.accountQueries.writeAudit(orgId, entry);
  }

  readAudit(orgId: string, query: AuditQuery): Promise<StoredAuditEntry[]> {
    return this.accountQueries.readAudit(orgId, query);
  }

  listSessions(orgId: string, query: SessionListQuery): Promise<SessionSummaryRecord[]> {
    return listSessionSummaries(this.db, orgId, query);
  }

  async listOrganizations(): Promise<Array<{ id: string; name: string }>> {
    return this.db.selectFrom('organizations').select(['id', 'name']).orderBy('created_at').orderBy('id').execute();
  }

  async createUser(orgId: string, user: UserRecord, now: number): Promise<void> {
    await this.unique(`A user with the email ${user.email} already exists in this organization.`, () =>
      this.db
        .insertInto('users')
        .values({ org_id: orgId, ...user, created_at: now, updated_at: now })
        .execute(),
    );
  }

  async getUser(orgId: string, userId: string): Promise<UserRecord | null> {
    const row = await this.db
      .selectFrom('users')
      .select(['id', 'email', 'name', 'role'])
      .where('org_id', '=', orgId)
      .where('id', '=', userId)
      .executeTakeFirst();
    return row ? userFromRow(row) : null;
  }

  async findUserByEmail(orgId: string, email: string): Promise<UserRecord | null> {
    const row = await this.db
      .selectFrom('users')
      .select(['id', 'email', 'name', 'role'])
      .where('org_id', '=', orgId)
      .where('email', '=', email)
      .executeTakeFirst();
    return row ? userFromRow(row) : null;
  }

  async listUsers(orgId: string): Promise<UserRecord[]> {
    const rows = await this.db
      .selectFrom('users')
      .select(['id', 'email', 'name', 'role'])
      .where('org_id', '=', orgId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(userFromRow);
  }

  async insertToken(token: NewToken): Promise<void> {
    await this.db.insertInto('api_tokens').values(tokenRow(token)).execute();
  }

  async findToken(hash: string): Promise<TokenOwner | null> {
    const [row] = (await tokenByHash.execute(this.adapter.name, this.db, { hash })).rows;
    if (!row) return null;
    const [user] = (await tokenUser.execute(this.adapter.name, this.db, { orgId: row.org_id, id: row.user_id })).rows;
    // The foreign key keeps a token's person; a token without one is no one's.
    if (!user) return null;
    return {
      token: tokenFromRow(row),
      user: { id: row.user_id, email: user.email, name: user.name, role: user.role, active: Boolean(user.active) },
    };
  }

  async markTokenUsed(tokenId: string, now: number): Promise<void> {
    // Marks are not waited for (tokens.ts), so one may land after a later one: never a step back.
    await this.db
      .updateTable('api_tokens')
      .set({ last_used_at: now })
      .where('id', '=', tokenId)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', now)]))
      .execute();
  }

  async listTokens(orgId: string, userId?: string): Promise<TokenRecord[]> {
    let query = this.db.selectFrom('api_tokens').selectAll().where('org_id', '=', orgId);
    if (userId !== undefined) query = query.where('user_id', '=', userId);
    const rows = await query.orderBy('created_at').orderBy('id').execute();
    return rows.map(tokenFromRow);
  }

  async getToken(orgId: string, tokenId: string): Promise<TokenRecord | null> {
    const row = await this.db.selectFrom('api_tokens').selectAll().where('org_id', '=', orgId).where('id', '=', tokenId).executeTakeFirst();
    return row ? tokenFromRow(row) : null;
  }

  async deactivateToken(orgId: string, tokenId: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('api_tokens')
      .set({ deactivated_at: now })
      .where('org_id', '=', orgId)
      .where('id', '=', tokenId)
      .where('deactivated_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async *exportPages(orgId: string, window: ExportWindow, pageSize = 500): AsyncGenerator<ExportSession[]> {
    const reader = await this.driver.openReader();
    let finished = false;
    try {
      const trx = await this.adapter.snapshotTransaction(reader.db.startTransaction()).execute();
      try {
        yield* readExportPages(trx, this.adapter, orgId, window, pageSize);
        finished = true;
      } finally {
        // Read-only: committing and rolling back are the same; rollback also covers an abandoned read.
        await (finished ? trx.commit() : trx.rollback()).execute().catch(() => undefined);
      }
    } finally {
      await reader.close();
    }
  }

  async coaching<T>(orgId: string, work: (tx: CoachingTx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      await this.adapter.lockNames(trx, orgId, 'write');
      const tx = new KyselyCoachingTx(trx, orgId, this.adapter);
      const result = await work(tx);
      const rendered = [...tx.rendered.values()].map(renderedDocument);
      await storeRendered(trx, this.adapter, orgId, rendered);
      await refreshChangedDocuments(
        trx,
        this.adapter,
        orgId,
        tx.changes,
        [...tx.touched].filter((id) => !tx.rendered.has(id)),
        this.logFoldAt,
      );
      await writeSessionEvents(
        trx,
        this.adapter.name,
        orgId,
        tx.appended,
        this.outboxOptions,
        new Map(rendered.map((d) => [d.sessionId, d.json])),
      );
      return result;
    });
  }

  async readSession(orgId: string, id: string): Promise<ExportSession | null> {
    const [session] = await readSessionsById(this.db, this.adapter, orgId, [id]);
    return session ?? null;
  }

  async createTemplate(orgId: string, template: TemplateRecord, now: number): Promise<void> {
    await this.db
      .insertInto('coaching_templates')
      .values({ org_id: orgId, id: template.id, name: template.name, created_at: now, updated_at: now })
      .execute();
  }

  async renameTemplate(orgId: string, templateId: string, name: string, now: number, audit?: AuditRecord): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await this.adapter.lockNames(trx, orgId, 'rename');
      const result = await trx
        .updateTable('coaching_templates')
        .set({ name, updated_at: now })
        .where('org_id', '=', orgId)
        .where('id', '=', templateId)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await refreshDocumentsOfTemplate(trx, this.adapter, orgId, templateId);
      if (audit) await trx.insertInto('audit_log').values(auditRow(orgId, audit)).execute();
      return true;
    });
  }

  async listTemplates(orgId: string): Promise<TemplateListing[]> {
    const rows = await this.db
      .selectFrom('coaching_templates')
      .select(['id', 'name', 'created_at'])
      .where('org_id', '=', orgId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((row) => ({ id: row.id, name: row.name, createdAt: Number(row.created_at) }));
  }

  async *exportDocuments(orgId: string, window: ExportWindow): AsyncGenerator<ExportChunk> {
    yield* this.driver.exportDocuments(orgId, window);
  }

  async settingOrCreate(name: string, proposed: string, now: number): Promise<string> {
    await this.db
      .insertInto('settings')
      .values({ name, value: proposed, created_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await this.db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirstOrThrow();
    return row.value;
  }

  changesAfter(orgId: string, after: FeedPosition | null, limit: number, maxBytes?: number): Promise<FeedChange[]> {
    return changesAfter(this.db, this.adapter, orgId, after, limit, maxBytes);
  }

  feedPositionAhead(orgId: string, position: FeedPosition): Promise<boolean> {
    return this.adapter.feedPositionAhead(this.db, orgId, position);
  }

  async applyImport(orgId: string, plan: ImportPlan, now: number, audit?: AuditRecord): Promise<ImportCounts> {
    if (this.driver.bulkImport) return this.driver.bulkImport(orgId, plan, now, audit);
    const names = new ImportedNames();
    await this.db.transaction().execute(async (trx) => {
      await this.adapter.refuseDuringImport(trx, orgId, 'import');
      await this.adapter.lockNames(trx, orgId, 'write');
      if (audit) await trx.insertInto('audit_log').values(auditRow(orgId, audit)).execute();
      await recordNamesToSplice(trx, orgId, await applyPlan(trx, this.adapter, orgId, plan, now), names);
    });
    const counts = countsOf(plan);
    const stale = await spliceImportedNames(this.db, this.adapter, orgId, names, 'rename');
    if (stale) throw new ImportCommittedWithStaleNames(stale, counts);
    return counts;
  }

  importBatches(orgId: string, batches: AsyncIterable<ImportPlan>, now: number, options: StreamedImportOptions = {}): Promise<number> {
    return this.driver.bulkImportBatches(orgId, batches, now, options);
  }

  spliceNamesLeft(signal?: AbortSignal): Promise<{ spliced: number; left: number; failures: string[] }> {
    return spliceNamesLeft(this.db, this.adapter, signal);
  }

  async coachingStats(orgId: string, selection: StatsSelection, scope: ReadScope): Promise<StatsAggregate> {
    // One statement, so one snapshot: every count and time describes the same moment.
    return readStats(this.db, this.adapter.statsSql, orgId, selection, scope);
  }

  async webhooks<T>(orgId: string, work: (tx: WebhooksTx) => Promise<T>, access: Access = 'readWrite'): Promise<T> {
    return this.transaction(access).execute((trx) =>
      work(webhooksTx(trx, this.adapter.name, orgId, new KyselyAccountsTx(trx, orgId, this.adapter, this.outboxOptions))),
    );
  }

  async ping(): Promise<void> {
    await this.db.selectFrom('organizations').select('id').limit(1).execute();
  }

  poolStats(): PoolStats | null {
    return this.driver.poolStats?.() ?? null;
  }

  exportPagesQueued(): number | null {
    return this.driver.exportPagesQueued?.() ?? null;
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}

/** One plan's rows and documents, inside the caller's transaction (portable path); returns its scope. */
async function applyPlan(
  trx: Transaction<Database>,
  adapter: StoreAdapter,
  orgId: string,
  plan: ImportPlan,
  now: number,
): Promise<ImportScope> {
  const scope = await scopeBeforeImport(trx, adapter, orgId, plan);
  await upsert(
    trx,
    'users',
    plan.users.map((u) => importedUserRow(orgId, u, now)),
    ['org_id', 'id'],
    IMPORT_UPDATES,
  );
  await upsert(
    trx,
    'coaching_templates',
    plan.templates.map((t) => templateRow(orgId, t, now)),
    ['org_id', 'id'],
    IMPORT_UPDATES,
  );
  await upsert(
    trx,
    'coaching_sessions',
    plan.sessions.map(({ session }) => sessionRow(orgId, session)),
    ['org_id', 'id'],
  );
  await upsert(
    trx,
    'coaching_points',
    plan.points.map((p) => pointRow(orgId, p)),
    ['org_id', 'id'],
  );
  await upsert(
    trx,
    'todos',
    plan.todos.map((t) => todoRow(orgId, t)),
    ['org_id', 'id'],
  );

  const sessionIds = plan.sessions.map(({ session }) => session.id);
  for (const ids of chunks(sessionIds)) {
    await trx.deleteFrom('activity_log').where('org_id', '=', orgId).where('session_id', 'in', ids).execute();
  }
  const logRows = plan.sessions.flatMap(({ session, log }) => log.map((e) => logRow(orgId, session.id, e)));
  for (const rows of chunks(logRows)) await trx.insertInto('activity_log').values(rows).execute();

  // An imported session lists all of its points and to-dos: links it no longer lists go.
  await replaceLinks(trx, 'coaching_point_sessions', orgId, sessionIds, plan.points);
  await replaceLinks(trx, 'todo_sessions', orgId, sessionIds, plan.todos);
  // The read model is rendered by joins over the rows just written, which the planner has never
  // counted: on PostgreSQL a plan built for empty tables took seconds a round (a 2,000-session
  // seed went from 1.7 s to 9.6 s, 5,000 past five minutes). ANALYZE counts this transaction's rows.
  if (plan.sessions.length >= ANALYZE_AFTER_SESSIONS) {
    for (const table of IMPORTED_TABLES) await adapter.analyze(trx, table);
  }
  await refreshAfterImport(trx, adapter, orgId, scope);
  return scope;
}

/** Imports this large refresh the planner's statistics of what they wrote before rendering it. */
const ANALYZE_AFTER_SESSIONS = 500;
const IMPORTED_TABLES = [
  'users',
  'coaching_templates',
  'coaching_sessions',
  'coaching_points',
  'todos',
  'activity_log',
  'coaching_point_sessions',
  'todo_sessions',
] as const;

async function replaceLinks(
  trx: Transaction<Database>,
  table: LinkTable,
  orgId: string,
  sessionIds: string[],
  items: Array<{ id: string; sessionIds: string[] }>,
) {
  for (const ids of chunks(sessionIds)) {
    await trx.deleteFrom(table).where('org_id', '=', orgId).where('session_id', 'in', ids).execute();
  }
  for (const ids of chunks(items.map((item) => item.id))) {
    await trx.deleteFrom(table).where('org_id', '=', orgId).where('item_id', 'in', ids).execute();
  }
  const rows = items.flatMap((item) => item.sessionIds.map((sessionId, position) => linkRow(orgId, item.id, sessionId, position)));
  for (const chunk of chunks(rows)) await trx.insertInto(table).values(chunk).execute();
}
