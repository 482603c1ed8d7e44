import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { exceededLimit, sessionLimitError } from '../../coaching/limits.js';
import { countsOf, type ImportPlan } from '../../importer/plan.js';
import { LateRenders } from '../documents/late-renders.js';
import { refreshAfterImport, scopeBeforeImport } from '../documents/import-scope.js';
import { renderImportedSessions } from '../documents/render-plan.js';
import { STATS_COLUMNS, statsValues } from '../documents/stats-rows.js';
import { asStored, documentJson, type StoredDocument } from '../documents/rendered.js';
import { DOCUMENT_CHANGED } from '../documents/write.js';
import { documentRow, IMPORT_UPDATES, importedUserRow, linkRow, logRow, pointRow, sessionRow, templateRow, todoRow } from '../rows.js';
import type { Database } from '../schema.js';
import type { AuditRecord } from '../accounts-store.js';
import { auditRow } from '../accounts-tx.js';
import { beforeCommit } from '../before-commit.js';
import type { ImportCounts, StreamedImportOptions } from '../store.js';
import { sqliteAdapter } from './adapter.js';
import { nextSeq } from './feed.js';
import { StatementCache } from './statement-cache.js';
import { beginImmediate, WRITE_LOCK_WAIT_MS } from './writer-dialect.js';

/**
 * An import on SQLite in one transaction of the writer connection: the rows, built by rows.ts as
 * every other write's are, through prepared multi-row statements of better-sqlite3 (several times
 * faster than statements through Kysely), the imported sessions' documents and stats rows rendered
 * in bulk from the plan, and every other document the import changes rewritten through the common
 * refresh on `conn`, which is Kysely on the same connection.
 */
export async function sqliteBulkImport(
  db: BetterSqlite3.Database,
  conn: Kysely<Database>,
  orgId: string,
  plan: ImportPlan,
  now: number,
  audit?: AuditRecord,
): Promise<ImportCounts> {
  // A large import touches more pages than the writer's usual cache holds; when they do not fit,
  // SQLite spills dirty pages to the WAL mid-transaction and writes them again later.
  const cacheSize = Number(db.pragma('cache_size', { simple: true }));
  if (plan.sessions.length > BIG_IMPORT) db.pragma(`cache_size = ${BIG_IMPORT_CACHE_KIB}`);
  const journals = statementJournalsInMemory(db);
  const references = bulkTablesEmpty(db) ? referencesCheckedOnce(db) : null;
  const statements = new StatementCache(db);
  try {
    await beginImmediate(db);
    if (audit) await conn.insertInto('audit_log').values(auditRow(orgId, audit)).execute();
    // Into empty tables (a fresh database) no other document can change and no row is replaced,
    // so the scope and the "existing" reads, a dozen statements over every id, are skipped.
    const empty = bulkTablesEmpty(db);
    const scope = empty
      ? { sessions: new Set<string>(), renamedUsers: [], renamedTemplates: [] }
      : await scopeBeforeImport(conn, sqliteAdapter, orgId, plan);
    const deferred = empty && plan.sessions.length > BIG_IMPORT ? dropSecondaryIndexes(db) : [];
    const dayPages = empty ? dayPageTriggersDropped(db, orgId) : null;
    writeRows(statements, orgId, plan, now, { mayBeStored: empty ? NOTHING_STORED : idsOf(plan), indexed: !empty });
    const docs = renderImportedSessions(plan, namesAfter(statements, orgId, plan)).map(asStored);
    for (const d of docs) {
      // An imported session is written whole, so it is held to the limits whatever it was before.
      const kind = exceededLimit(d.size);
      if (kind) throw sessionLimitError(d.sessionId, kind, d.size);
    }
    writeDocuments(statements, orgId, docs, await nextSeq(conn, orgId));
    writeStats(statements, orgId, docs);
    journals.restore();
    for (const sql of deferred) db.exec(sql);
    dayPages?.restore();
    await refreshAfterImport(conn, sqliteAdapter, orgId, scope, new Set(plan.sessions.map(({ session }) => session.id)));
    references?.check();
    db.exec('commit');
    return countsOf(plan);
  } catch (error) {
    if (db.inTransaction) db.exec('rollback');
    throw error;
  } finally {
    journals.restore();
    references?.restore();
    db.pragma(`cache_size = ${cacheSize}`);
  }
}

/**
 * A streamed import on SQLite: the same bulk writes, a batch at a time, inside one transaction
 * opened by an explicit BEGIN on the writer connection (an async iterable cannot be awaited inside
 * better-sqlite3's synchronous transaction function). Into empty tables the secondary indexes are
 * built once after the last batch, and no batch can change a document outside the import (every
 * point and to-do a later batch repeats is unchanged, which the planner checks), so the scope is
 * skipped as above; points and to-dos of earlier batches are found and their links replaced, and
 * documents of earlier batches that a later one changes are rendered again (LateRenders).
 */
export async function sqliteBulkImportBatches(
  db: BetterSqlite3.Database,
  conn: Kysely<Database>,
  orgId: string,
  batches: AsyncIterable<ImportPlan>,
  now: number,
  { audit, signal }: StreamedImportOptions = {},
  withoutWal = false,
): Promise<number> {
  // Never the one-plan import's 256 MiB: a streamed import's size is unknown when it starts and its
  // memory stays flat (SPEC §13). Into empty tables, whose secondary indexes are built after the
  // rows, the rows go in through their primary keys alone, and 16 MiB of cache was measured as fast
  // as the writer's own 64 MiB (48 MB less at the import's peak); otherwise the writer's 64 MiB.
  const cacheSize = Number(db.pragma('cache_size', { simple: true }));
  const journal = withoutWal ? rollbackJournal(db) : null;
  const statements = new StatementCache(db);
  const journals = statementJournalsInMemory(db);
  const references = bulkTablesEmpty(db) ? referencesCheckedOnce(db) : null;
  const late = new LateRenders(sqliteAdapter, orgId);
  try {
    await beginImmediate(db);
    if (audit) await conn.insertInto('audit_log').values(auditRow(orgId, audit)).execute();
    const empty = bulkTablesEmpty(db);
    if (empty) db.pragma(`cache_size = ${STREAMED_INTO_EMPTY_CACHE_KIB}`);
    const deferred = empty ? dropSecondaryIndexes(db) : [];
    const dayPages = empty ? dayPageTriggersDropped(db, orgId) : null;
    let seq = empty ? await nextSeq(conn, orgId) : 0;
    let sessions = 0;
    for await (const plan of batches) {
      const scope = empty
        ? { sessions: new Set<string>(), renamedUsers: [], renamedTemplates: [] }
        : await scopeBeforeImport(conn, sqliteAdapter, orgId, plan);
      await late.beforeBatch(conn, plan);
      writeRows(statements, orgId, plan, now, { mayBeStored: mayBeStored(plan, empty, sessions === 0), indexed: !empty });
      await late.afterRows(conn, plan);
      const docs = (plan.rendered ?? renderImportedSessions(plan, namesAfter(statements, orgId, plan))).map(asStored);
      for (const d of docs) {
        const kind = exceededLimit(d.size);
        if (kind) throw sessionLimitError(d.sessionId, kind, d.size);
      }
      // Read again where another write may have taken positions since: into tables with rows.
      if (!empty) seq = await nextSeq(conn, orgId);
      writeDocuments(statements, orgId, docs, seq);
      seq += docs.length;
      writeStats(statements, orgId, docs);
      await refreshAfterImport(conn, sqliteAdapter, orgId, scope, new Set(plan.sessions.map(({ session }) => session.id)));
      sessions += plan.sessions.length;
    }
    journals.restore();
    for (const sql of deferred) db.exec(sql);
    dayPages?.restore();
    await late.refresh(conn);
    references?.check();
    await beforeCommit(signal);
    db.exec('commit');
    return sessions;
  } catch (error) {
    if (db.inTransaction) db.exec('rollback');
    throw error;
  } finally {
    late.close();
    journals.restore();
    references?.restore();
    db.pragma(`cache_size = ${cacheSize}`);
    journal?.restore();
  }
}

/**
 * A streamed import is one long transaction, which in WAL mode writes every page twice: into the
 * WAL (1.2 GB for 100,000 sessions), then, in the commit that leaves the WAL past its threshold or
 * on closing, into the database. With a rollback journal the pages go straight into the file and
 * only the pages that existed before are copied into the journal (none of a file that only grows),
 * which measured 27–28 s against 28–34 s for 100,000 sessions, with 4 s less system time. Only
 * for a store opened for it (`withoutWal`, a file's `coachport import`), and only when its
 * connection is the file's only one, which leaving WAL mode needs: when another process (a server)
 * has the file open, the attempt fails at once and the import runs in WAL mode, where that server's
 * readers go on reading beside it. A process that opens the file while the import writes without
 * the WAL cannot set WAL mode again and is told why (connect.ts). Until the journal mode is
 * restored, commits sync fully: with a rollback journal, NORMAL could corrupt the file on a power
 * cut. A killed import leaves a hot journal, which SQLite rolls back when the file is next opened.
 */
function rollbackJournal(db: BetterSqlite3.Database): { restore(): void } | null {
  const busyTimeout = Number(db.pragma('busy_timeout', { simple: true }));
  const synchronous = Number(db.pragma('synchronous', { simple: true }));
  db.pragma('busy_timeout = 0');
  try {
    if (db.pragma('journal_mode = DELETE', { simple: true }) !== 'delete') return null;
  } catch {
    return null;
  } finally {
    db.pragma(`busy_timeout = ${busyTimeout}`);
  }
  db.pragma('synchronous = FULL');
  // Its commit and the return to WAL mode need the file to themselves: a process that opened it a
  // moment ago is waited for, on this thread, as the writer does not otherwise (writer-dialect.ts).
  // Only a file's import runs so, in a process of its own with no requests to hold up.
  db.pragma(`busy_timeout = ${WRITE_LOCK_WAIT_MS}`);
  return {
    restore() {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${synchronous}`);
      db.pragma(`busy_timeout = ${busyTimeout}`);
    },
  };
}

/**
 * Foreign keys checked once, before the commit, instead of at every row: into empty tables (a fresh
 * database) SQLite's look-up of each row's parent was a sixth of the rows' insert time (1.8–3.1 s
 * of 15–16 s for 100,000 sessions, alternated), and `PRAGMA foreign_key_check` of the whole file
 * finds the same broken references in about 1.3 s; the whole import took 0.1–2.5 s less (four runs
 * alternated, 3–8% less CPU). A broken reference fails the import, which then rolls
 * back, as a row's own check would have. SQLite changes the setting only outside a transaction, so
 * it is set before BEGIN on what the tables held then; should another write fill them in between,
 * the check still covers every row of every table. No foreign key of the schema has an action
 * (ON DELETE), so nothing else depends on the setting.
 */
function referencesCheckedOnce(db: BetterSqlite3.Database): { check(): void; restore(): void } {
  const before = Number(db.pragma('foreign_keys', { simple: true }));
  db.pragma('foreign_keys = OFF');
  return {
    check() {
      const broken = db.pragma('foreign_key_check') as Array<{ table: string; parent: string }>;
      if (broken.length > 0) {
        const { table, parent } = broken[0]!;
        throw new Error(
          `The import would leave a row of ${table} referring to no row of ${parent} (${broken.length} in all); nothing was imported.`,
        );
      }
    },
    restore() {
      db.pragma(`foreign_keys = ${before}`);
    },
  };
}

/**
 * Statement journals in memory while an import writes its rows. Each multi-row INSERT inside the
 * import's transaction may fail part-way (a NOT NULL or foreign key check), so SQLite first copies
 * every page the statement changes that existed before it (the primary keys' random leaves) into a
 * statement journal, which past 64 KiB is a temporary file: in a 100,000-session import that was an
 * eighth of the writing thread's time, most of it `pwrite`. With `temp_store = MEMORY`, set before
 * the transaction begins (SQLite decides where its statement journals go then), they stay in memory,
 * each emptied when its statement ends. The setting also keeps the sorter of `CREATE INDEX` in
 * memory, which for the deferred index builds would hold a whole index's keys (55 MB more at the
 * peak, measured), so it is restored before them; SQLite refuses that only while the connection
 * has temporary tables in use, which an import never opens, and then the builds sort in memory.
 */
function statementJournalsInMemory(db: BetterSqlite3.Database): { restore(): void } {
  const before = Number(db.pragma('temp_store', { simple: true }));
  db.pragma('temp_store = MEMORY');
  let restored = false;
  return {
    restore() {
      if (restored) return;
      try {
        db.pragma(`temp_store = ${before}`);
        restored = true;
      } catch {
        // Temporary tables in use: the builds sort in memory; the finally block tries again.
      }
    },
  };
}

/** 16 MiB, as SQLite's negative cache_size in KiB: a streamed import into empty tables. */
const STREAMED_INTO_EMPTY_CACHE_KIB = -16384;

/** Imports of more sessions than this get the bulk treatment below. */
const BIG_IMPORT = 2000;
/** 256 MiB, as SQLite's negative cache_size in KiB; only for the import's own transaction. */
const BIG_IMPORT_CACHE_KIB = -262144;

/** The tables an import fills, whose secondary indexes it may build after its rows. */
const BULK_TABLES = [
  'coaching_sessions',
  'activity_log',
  'coaching_points',
  'todos',
  'coaching_point_sessions',
  'todo_sessions',
  'session_documents',
  'session_stats',
];

function bulkTablesEmpty(db: BetterSqlite3.Database): boolean {
  return BULK_TABLES.every((table) => db.prepare(`select 1 from ${table} limit 1`).get() === undefined);
}

/**
 * Drops, inside the import's transaction, the secondary indexes of the bulk tables (called only
 * when all of them are empty, as in a fresh database), and answers their definitions to create
 * again after the rows: building an index from the finished rows is several times faster than
 * growing it row by row. DDL is part of SQLite's transaction, so a failed import rolls the indexes
 * back with the rows (test/bulk-import.test.ts); readers on WAL snapshots keep the old schema. With
 * rows already present, rebuilding would cost more than it saves, so nothing is deferred then.
 */
function dropSecondaryIndexes(db: BetterSqlite3.Database): string[] {
  const marks = BULK_TABLES.map(() => '?').join(', ');
  const indexes = db
    .prepare<string[], { name: string; sql: string }>(
      `select name, sql from sqlite_master where type = 'index' and sql is not null and tbl_name in (${marks})`,
    )
    .all(...BULK_TABLES);
  for (const { name } of indexes) db.exec(`drop index "${name.replace(/"/g, '""')}"`);
  return indexes.map(({ sql }) => sql);
}

/**
 * Drops, inside the import's transaction, the triggers by which every written document deletes the
 * export's day pages of its days (migration 011), for an import into empty tables, and answers how
 * to make them again before the commit. With no document stored no day can be paged (a day without
 * documents never is), so the two deletes of each of 100,000 documents (0.3–0.5 s of the writer's
 * thread, measured) found nothing; the organization's pages are still deleted once, in case a build
 * cut short left parts. A failed import rolls the triggers back with everything else, as it does
 * the indexes of dropSecondaryIndexes.
 */
function dayPageTriggersDropped(db: BetterSqlite3.Database, orgId: string): { restore(): void } {
  const triggers = db
    .prepare<[], { name: string; sql: string }>(
      "select name, sql from sqlite_master where type = 'trigger' and tbl_name = 'session_documents' and name like 'export_day_pages%'",
    )
    .all();
  for (const { name } of triggers) db.exec(`drop trigger "${name.replace(/"/g, '""')}"`);
  return {
    restore() {
      for (const { sql } of triggers) db.exec(sql);
      db.prepare('delete from export_day_pages where org_id = ?').run(orgId);
    },
  };
}

/** Every name an imported document shows, as the import leaves it; the plan names nearly all. */
function namesAfter(statements: StatementCache, orgId: string, plan: ImportPlan) {
  const users = new Map(plan.users.map((u) => [u.id, u.name]));
  const templates = new Map(plan.templates.map((t) => [t.id, t.name]));
  const userName = statements.prepare<[string, string], string>('select name from users where org_id = ? and id = ?').pluck();
  const templateName = statements
    .prepare<[string, string], string>('select name from coaching_templates where org_id = ? and id = ?')
    .pluck();
  return {
    user: (id: string) => users.get(id) ?? userName.get(orgId, id) ?? '',
    template: (id: string) => templates.get(id) ?? templateName.get(orgId, id) ?? '',
  };
}

/**
 * The imported sessions' documents, moved in the change feed from `seq` on; a document imported as
 * it is stored keeps its row and its place in the feed (DOCUMENT_CHANGED).
 */
function writeDocuments(statements: StatementCache, orgId: string, docs: StoredDocument[], firstSeq: number): void {
  let seq = firstSeq;
  const upsert = new RowBatch(statements, 'session_documents', { keys: ['org_id', 'session_id'], where: DOCUMENT_CHANGED });
  for (const d of docs) upsert.add(documentRow(orgId, d, sqliteAdapter.documentValue(documentJson(d)), { xid: 0, seq: seq++ }));
  upsert.flush();
}

/** The imported sessions' stats rows, from the facts of the documents just rendered. */
function writeStats(statements: StatementCache, orgId: string, docs: StoredDocument[]): void {
  const upsert = new BatchInsert(
    statements,
    `insert into session_stats (org_id, session_id, ${STATS_COLUMNS.join(', ')}) values %ROWS%
     on conflict (org_id, session_id) do update set ${STATS_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}`,
    STATS_COLUMNS.length + 2,
  );
  for (const d of docs) upsert.add(...statsValues(orgId, d.facts));
  upsert.flush();
}

/** The ids among `ids` that a table of this organization already holds: one statement. */
function existing(statements: StatementCache, table: string, orgId: string, ids: string[]): Set<string> {
  const statement = statements
    .prepare<[string, string], string>(`select id from ${table} where org_id = ? and id in (select value from json_each(?))`)
    .pluck();
  return new Set(statement.all(orgId, JSON.stringify(ids)));
}

/**
 * Rows through one prepared multi-row INSERT per table: a statement call costs about as much as the
 * rows it carries at this width, so 64 rows a call instead of one. `sql` ends with ` values `
 * followed by `%ROWS%`, replaced by the row placeholders (SQLite allows 32,766 parameters).
 */
class BatchInsert {
  private readonly full: BetterSqlite3.Statement;
  private readonly values: unknown[] = [];
  private rows = 0;

  constructor(
    private readonly statements: StatementCache,
    private readonly sql: string,
    private readonly width: number,
  ) {
    this.full = statements.prepare(this.statementFor(ROWS_PER_STATEMENT));
  }

  private statementFor(rows: number): string {
    const row = `(${Array.from({ length: this.width }, () => '?').join(', ')})`;
    return this.sql.replace('%ROWS%', Array.from({ length: rows }, () => row).join(', '));
  }

  add(...row: unknown[]): void {
    this.values.push(...row);
    this.endRow();
  }

  /** A row's values in the order of `columns`. */
  addFrom(row: Record<string, unknown>, columns: readonly string[]): void {
    for (const column of columns) this.values.push(row[column]);
    this.endRow();
  }

  private endRow(): void {
    if (++this.rows === ROWS_PER_STATEMENT) {
      this.full.run(this.values);
      this.values.length = 0;
      this.rows = 0;
    }
  }

  /** The rows left, in statements of 32, 16, … 1 rows: a few statements a table for the whole import. */
  flush(): void {
    let offset = 0;
    for (let size = ROWS_PER_STATEMENT / 2; this.rows > 0; size /= 2) {
      if (this.rows < size) continue;
      this.statements.prepare(this.statementFor(size)).run(this.values.slice(offset, offset + size * this.width));
      offset += size * this.width;
      this.rows -= size;
    }
    this.values.length = 0;
  }
}

const ROWS_PER_STATEMENT = 64;

/** On a clash of `keys`, the row's other columns (or only `update`) replace the stored ones. */
interface Upsert {
  keys: readonly string[];
  update?: readonly string[];
  /** Only where this holds (`excluded` is the new row): the rest of the conflicting rows stay as they are. */
  where?: string;
}

/**
 * Rows as rows.ts builds them, batched: the statement's columns are the first row's keys in their
 * order (every row of a table comes from the same builder), so no column is listed twice.
 */
class RowBatch {
  private columns: string[] = [];
  private batch: BatchInsert | undefined;

  constructor(
    private readonly statements: StatementCache,
    private readonly table: string,
    private readonly upsert?: Upsert,
  ) {}

  add(row: object): void {
    if (!this.batch) {
      this.columns = Object.keys(row);
      this.batch = new BatchInsert(this.statements, insertSql(this.table, this.columns, this.upsert), this.columns.length);
    }
    this.batch.addFrom(row as Record<string, unknown>, this.columns);
  }

  flush(): void {
    this.batch?.flush();
  }
}

function insertSql(table: string, columns: string[], upsert?: Upsert): string {
  const insert = `insert into ${table} (${columns.join(', ')}) values %ROWS%`;
  if (!upsert) return insert;
  const update = upsert.update ?? columns.filter((c) => !upsert.keys.includes(c));
  const set = update.map((c) => `${c} = excluded.${c}`).join(', ');
  return `${insert} on conflict (${upsert.keys.join(', ')}) do update set ${set}${upsert.where ? ` where ${upsert.where}` : ''}`;
}

/** Ids of a batch, by table, that may be stored already: their rows are replaced, not taken as new. */
interface MayBeStored {
  sessions: string[];
  points: string[];
  todos: string[];
}

const NOTHING_STORED: MayBeStored = { sessions: [], points: [], todos: [] };

function idsOf(plan: ImportPlan): MayBeStored {
  return {
    sessions: plan.sessions.map(({ session }) => session.id),
    points: plan.points.map((p) => p.id),
    todos: plan.todos.map((t) => t.id),
  };
}

/**
 * Into tables that were empty when the import began, only this import's earlier batches have
 * stored anything: nothing before its first batch, and after it no session (the planner refuses an
 * id used twice) and only the items the planner found in an earlier batch (`repeated`, about 5,000
 * of 500,000 in the bench's 100,000 sessions), so three look-ups of every id of every batch (a
 * second of the writer's thread for 100,000 sessions) are not needed. A batch without the
 * planner's note (a whole plan's) may find any of its ids stored.
 */
function mayBeStored(plan: ImportPlan, intoEmpty: boolean, firstBatch: boolean): MayBeStored {
  if (!intoEmpty) return idsOf(plan);
  if (firstBatch) return NOTHING_STORED;
  return plan.repeated === undefined ? idsOf(plan) : { sessions: [], ...plan.repeated };
}

/**
 * The normalized rows; what is new has nothing to replace, so only rows that existed are cleared
 * first. Each table's rows are written after the rows they refer to (sessions before their log and
 * links, items before their links) and a replaced session's log and links are cleared before the
 * new ones go in, as row by row. A new session may have links already (items stored earlier name
 * sessions not stored yet): they are cleared as a replaced session's are, as on PostgreSQL, where
 * the indexes are there to find them (`indexed`; into empty tables only this import's earlier
 * batches wrote links), and LateRenders puts back those the import's own items made. Only the ids
 * of `mayBeStored` are looked up.
 */
function writeRows(
  statements: StatementCache,
  orgId: string,
  plan: ImportPlan,
  now: number,
  { mayBeStored, indexed }: { mayBeStored: MayBeStored; indexed: boolean },
): void {
  const byId = { keys: ['org_id', 'id'] };
  const upsertUser = new RowBatch(statements, 'users', { keys: byId.keys, update: IMPORT_UPDATES });
  const upsertTemplate = new RowBatch(statements, 'coaching_templates', { keys: byId.keys, update: IMPORT_UPDATES });
  const upsertSession = new RowBatch(statements, 'coaching_sessions', byId);
  const upsertPoint = new RowBatch(statements, 'coaching_points', byId);
  const upsertTodo = new RowBatch(statements, 'todos', byId);
  const deleteLog = statements.prepare('delete from activity_log where org_id = ? and session_id = ?');
  const insertLog = new RowBatch(statements, 'activity_log');
  const links = (table: string) => ({
    bySession: statements.prepare(`delete from ${table} where org_id = ? and session_id = ?`),
    byItem: statements.prepare(`delete from ${table} where org_id = ? and item_id = ?`),
    insert: new RowBatch(statements, table),
  });
  const pointLinks = links('coaching_point_sessions');
  const todoLinks = links('todo_sessions');

  for (const u of plan.users) upsertUser.add(importedUserRow(orgId, u, now));
  upsertUser.flush();
  for (const t of plan.templates) upsertTemplate.add(templateRow(orgId, t, now));
  upsertTemplate.flush();
  const stored = (table: string, ids: string[]) => (ids.length === 0 ? new Set<string>() : existing(statements, table, orgId, ids));
  const oldSessions = stored('coaching_sessions', mayBeStored.sessions);
  const oldPoints = stored('coaching_points', mayBeStored.points);
  const oldTodos = stored('todos', mayBeStored.todos);
  for (const { session } of plan.sessions) upsertSession.add(sessionRow(orgId, session));
  upsertSession.flush();
  for (const id of oldSessions) deleteLog.run(orgId, id);
  for (const id of indexed ? plan.sessions.map(({ session }) => session.id) : oldSessions) {
    pointLinks.bySession.run(orgId, id);
    todoLinks.bySession.run(orgId, id);
  }
  for (const { session, log } of plan.sessions) for (const e of log) insertLog.add(logRow(orgId, session.id, e));
  insertLog.flush();
  for (const p of plan.points) upsertPoint.add(pointRow(orgId, p));
  upsertPoint.flush();
  for (const id of oldPoints) pointLinks.byItem.run(orgId, id);
  for (const p of plan.points) {
    for (const [position, sessionId] of p.sessionIds.entries()) pointLinks.insert.add(linkRow(orgId, p.id, sessionId, position));
  }
  pointLinks.insert.flush();
  for (const t of plan.todos) upsertTodo.add(todoRow(orgId, t));
  upsertTodo.flush();
  for (const id of oldTodos) todoLinks.byItem.run(orgId, id);
  for (const t of plan.todos) {
    for (const [position, sessionId] of t.sessionIds.entries()) todoLinks.insert.add(linkRow(orgId, t.id, sessionId, position));
  }
  todoLinks.insert.flush();
}
