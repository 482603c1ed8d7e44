import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { exceededLimit, sessionLimitError } from '../coaching/limits.js';
import { countsOf, type ImportPlan } from '../importer/plan.js';
import { refreshAfterImport, scopeBeforeImport } from './documents/import-scope.js';
import { renderImportedSessions } from './documents/render-plan.js';
import { STATS_COLUMNS, statsValues } from './documents/stats-rows.js';
import type { RenderedDocument } from './documents/write.js';
import { flag } from './rows.js';
import type { Database } from './schema.js';
import type { AuditRecord } from './accounts-store.js';
import { auditRow } from './accounts-tx.js';
import type { ImportCounts } from './store.js';

/**
 * An import on SQLite in one transaction of the writer connection: the rows through prepared
 * multi-row statements of better-sqlite3 (several times faster than statements through Kysely), the
 * imported sessions' documents and stats rows rendered in bulk from the plan, and every other document the import
 * changes rewritten through the common refresh on `conn`, which is Kysely on the same connection.
 */
export async function sqliteBulkImport(db: BetterSqlite3.Database, conn: Kysely<Database>, orgId: string, plan: ImportPlan, now: number, audit?: AuditRecord): Promise<ImportCounts> {
  // A large import touches more pages than the writer's usual cache holds; when they do not fit,
  // SQLite spills dirty pages to the WAL mid-transaction and writes them again later.
  const cacheSize = Number(db.pragma('cache_size', { simple: true }));
  if (plan.sessions.length > BIG_IMPORT) db.pragma(`cache_size = ${BIG_IMPORT_CACHE_KIB}`);
  db.exec('begin immediate');
  try {
    if (audit) await conn.insertInto('audit_log').values(auditRow(orgId, audit)).execute();
    // Into empty tables (a fresh database) no other document can change and no row is replaced,
    // so the scope and the "existing" reads, a dozen statements over every id, are skipped.
    const empty = bulkTablesEmpty(db);
    const scope = empty ? { sessions: new Set<string>(), renamedUsers: [], renamedTemplates: [] } : await scopeBeforeImport(conn, 'sqlite', orgId, plan);
    const deferred = empty && plan.sessions.length > BIG_IMPORT ? dropSecondaryIndexes(db) : [];
    writeRows(db, orgId, plan, now, empty);
    const docs = renderImportedSessions(plan, namesAfter(db, orgId, plan));
    for (const d of docs) {
      // An imported session is written whole, so it is held to the limits whatever it was before.
      const kind = exceededLimit(d.size);
      if (kind) throw sessionLimitError(d.sessionId, kind, d.size);
    }
    writeDocuments(db, orgId, docs);
    writeStats(db, orgId, docs);
    for (const sql of deferred) db.exec(sql);
    await refreshAfterImport(conn, 'sqlite', orgId, scope, new Set(plan.sessions.map(({ session }) => session.id)));
    db.exec('commit');
    return countsOf(plan);
  } catch (error) {
    if (db.inTransaction) db.exec('rollback');
    throw error;
  } finally {
    db.pragma(`cache_size = ${cacheSize}`);
  }
}

/** Imports of more sessions than this get the bulk treatment below. */
const BIG_IMPORT = 2000;
/** 256 MiB, as SQLite's negative cache_size in KiB; only for the import's own transaction. */
const BIG_IMPORT_CACHE_KIB = -262144;

/** The tables an import fills, whose secondary indexes it may build after its rows. */
const BULK_TABLES = ['coaching_sessions', 'activity_log', 'coaching_points', 'todos', 'coaching_point_sessions', 'todo_sessions', 'session_documents', 'session_stats'];

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
    .prepare<string[], { name: string; sql: string }>(`select name, sql from sqlite_master where type = 'index' and sql is not null and tbl_name in (${marks})`)
    .all(...BULK_TABLES);
  for (const { name } of indexes) db.exec(`drop index "${name.replace(/"/g, '""')}"`);
  return indexes.map(({ sql }) => sql);
}

/** Every name an imported document shows, as the import leaves it; the plan names nearly all. */
function namesAfter(db: BetterSqlite3.Database, orgId: string, plan: ImportPlan) {
  const users = new Map(plan.users.map((u) => [u.id, u.name]));
  const templates = new Map(plan.templates.map((t) => [t.id, t.name]));
  const userName = db.prepare<[string, string], string>('select name from users where org_id = ? and id = ?').pluck();
  const templateName = db.prepare<[string, string], string>('select name from coaching_templates where org_id = ? and id = ?').pluck();
  return {
    user: (id: string) => users.get(id) ?? userName.get(orgId, id) ?? '',
    template: (id: string) => templates.get(id) ?? templateName.get(orgId, id) ?? '',
  };
}

function writeDocuments(db: BetterSqlite3.Database, orgId: string, docs: RenderedDocument[]): void {
  let seq = (db.prepare<[string], number>('select seq from session_documents where org_id = ? and xid = 0 order by seq desc limit 1').pluck().get(orgId) ?? 0) + 1;
  const upsert = db.prepare(
    `insert into session_documents (org_id, session_id, created_at, meeting_date, doc, xid, seq) values (?, ?, ?, ?, ?, 0, ?)
     on conflict (org_id, session_id) do update set created_at = excluded.created_at, meeting_date = excluded.meeting_date,
       doc = excluded.doc, xid = excluded.xid, seq = excluded.seq`,
  );
  for (const d of docs) upsert.run(orgId, d.sessionId, d.createdAt, d.meetingDate, Buffer.from(d.json, 'utf8'), seq++);
}

/** The imported sessions' stats rows, from the facts of the documents just rendered. */
function writeStats(db: BetterSqlite3.Database, orgId: string, docs: RenderedDocument[]): void {
  const upsert = new BatchInsert(
    db,
    `insert into session_stats (org_id, session_id, ${STATS_COLUMNS.join(', ')}) values %ROWS%
     on conflict (org_id, session_id) do update set ${STATS_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}`,
    STATS_COLUMNS.length + 2,
  );
  for (const d of docs) upsert.add(...statsValues(orgId, d.facts));
  upsert.flush();
}

/** The ids among `ids` that a table of this organization already holds: one statement. */
function existing(db: BetterSqlite3.Database, table: string, orgId: string, ids: string[]): Set<string> {
  const statement = db.prepare<[string, string], string>(`select id from ${table} where org_id = ? and id in (select value from json_each(?))`).pluck();
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
    private readonly db: BetterSqlite3.Database,
    private readonly sql: string,
    private readonly width: number,
  ) {
    this.full = db.prepare(this.statementFor(ROWS_PER_STATEMENT));
  }

  private statementFor(rows: number): string {
    const row = `(${Array.from({ length: this.width }, () => '?').join(', ')})`;
    return this.sql.replace('%ROWS%', Array.from({ length: rows }, () => row).join(', '));
  }

  add(...row: unknown[]): void {
    this.values.push(...row);
    if (++this.rows === ROWS_PER_STATEMENT) {
      this.full.run(this.values);
      this.values.length = 0;
      this.rows = 0;
    }
  }

  flush(): void {
    if (this.rows > 0) this.db.prepare(this.statementFor(this.rows)).run(this.values);
    this.values.length = 0;
    this.rows = 0;
  }
}

const ROWS_PER_STATEMENT = 64;

/**
 * The normalized rows; what is new has nothing to replace, so only rows that existed are cleared
 * first. Each table's rows are written after the rows they refer to (sessions before their log and
 * links, items before their links) and a replaced session's log and links are cleared before the
 * new ones go in, as row by row.
 */
function writeRows(db: BetterSqlite3.Database, orgId: string, plan: ImportPlan, now: number, empty: boolean): void {
  const upsertUser = db.prepare(
    `insert into users (org_id, id, email, name, role, created_at, updated_at) values (?, ?, null, ?, ?, ?, ?)
     on conflict (org_id, id) do update set name = excluded.name, updated_at = excluded.updated_at`,
  );
  const upsertTemplate = db.prepare(
    `insert into coaching_templates (org_id, id, name, created_at, updated_at) values (?, ?, ?, ?, ?)
     on conflict (org_id, id) do update set name = excluded.name, updated_at = excluded.updated_at`,
  );
  const sessionColumns = ['coaching_form_name', 'template_id', 'meeting_format', 'form_creator_id', 'coach_id', 'agent_id', 'created_at', 'updated_at', 'meeting_date', 'shared_with_agent', 'agent_confirmed', 'coach_confirmed', 'coach_notes', 'agent_notes', 'is_deleted'];
  const upsertSession = new BatchInsert(db, upsertSql('coaching_sessions', sessionColumns), sessionColumns.length + 2);
  const pointColumns = ['type', 'classification', 'ticket_id', 'subject', 'rubric_name', 'criteria_name', 'kpi_name', 'score', 'agent_notes', 'coach_notes', 'created_at', 'updated_at', 'is_deleted'];
  const upsertPoint = new BatchInsert(db, upsertSql('coaching_points', pointColumns), pointColumns.length + 2);
  const todoColumns = ['action_string', 'completed_at', 'created_at', 'creator_id', 'description', 'link', 'status', 'title', 'type', 'updated_at', 'is_deleted'];
  const upsertTodo = new BatchInsert(db, upsertSql('todos', todoColumns), todoColumns.length + 2);
  const deleteLog = db.prepare('delete from activity_log where org_id = ? and session_id = ?');
  const insertLog = new BatchInsert(db, 'insert into activity_log (org_id, session_id, user_id, user_email, action_type, descriptions, timestamp, ip_address) values %ROWS%', 8);
  const links = (table: string) => ({
    bySession: db.prepare(`delete from ${table} where org_id = ? and session_id = ?`),
    byItem: db.prepare(`delete from ${table} where org_id = ? and item_id = ?`),
    insert: new BatchInsert(db, `insert into ${table} (org_id, item_id, session_id, position) values %ROWS%`, 4),
  });
  const pointLinks = links('coaching_point_sessions');
  const todoLinks = links('todo_sessions');

  for (const u of plan.users) upsertUser.run(orgId, u.id, u.name, u.role, now, now);
  for (const t of plan.templates) upsertTemplate.run(orgId, t.id, t.name, now, now);
  const none = new Set<string>();
  const oldSessions = empty ? none : existing(db, 'coaching_sessions', orgId, plan.sessions.map(({ session }) => session.id));
  const oldPoints = empty ? none : existing(db, 'coaching_points', orgId, plan.points.map((p) => p.id));
  const oldTodos = empty ? none : existing(db, 'todos', orgId, plan.todos.map((t) => t.id));
  for (const { session: s } of plan.sessions) {
    upsertSession.add(orgId, s.id, s.coachingFormName, s.templateId, s.meetingFormat, s.formCreatorId, s.coachId, s.agentId, s.createdAt, s.updatedAt, s.meetingDate, flag(s.sharedWithAgent), flag(s.agentConfirmed), flag(s.coachConfirmed), s.coachNotes, s.agentNotes, flag(s.isDeleted));
  }
  upsertSession.flush();
  for (const id of oldSessions) {
    deleteLog.run(orgId, id);
    pointLinks.bySession.run(orgId, id);
    todoLinks.bySession.run(orgId, id);
  }
  for (const { session: s, log } of plan.sessions) {
    for (const e of log) insertLog.add(orgId, s.id, e.userId, e.userEmail, e.actionType, JSON.stringify(e.descriptions), e.timestamp, e.ipAddress);
  }
  insertLog.flush();
  for (const p of plan.points) {
    upsertPoint.add(orgId, p.id, p.type, p.classification, p.ticketId, p.subject, p.rubricName, p.criteriaName, p.kpiName, p.score, p.agentNotes, p.coachNotes, p.createdAt, p.updatedAt, flag(p.isDeleted));
  }
  upsertPoint.flush();
  for (const id of oldPoints) pointLinks.byItem.run(orgId, id);
  for (const p of plan.points) p.sessionIds.forEach((sessionId, position) => pointLinks.insert.add(orgId, p.id, sessionId, position));
  pointLinks.insert.flush();
  for (const t of plan.todos) {
    upsertTodo.add(orgId, t.id, t.actionString, t.completedAt, t.createdAt, t.creatorId, t.description, t.link, t.status, t.title, t.type, t.updatedAt, flag(t.isDeleted));
  }
  upsertTodo.flush();
  for (const id of oldTodos) todoLinks.byItem.run(orgId, id);
  for (const t of plan.todos) t.sessionIds.forEach((sessionId, position) => todoLinks.insert.add(orgId, t.id, sessionId, position));
  todoLinks.insert.flush();
}

function upsertSql(table: string, columns: string[]): string {
  const all = ['org_id', 'id', ...columns];
  return `insert into ${table} (${all.join(', ')}) values %ROWS%
    on conflict (org_id, id) do update set ${columns.map((c) => `${c} = excluded.${c}`).join(', ')}`;
}
