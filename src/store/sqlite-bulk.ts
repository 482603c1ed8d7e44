import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { countsOf, type ImportPlan } from '../importer/plan.js';
import { refreshAfterImport, scopeBeforeImport } from './documents/import-scope.js';
import { renderImportedSessions } from './documents/render-plan.js';
import type { RenderedDocument } from './documents/write.js';
import { flag } from './rows.js';
import type { Database } from './schema.js';
import type { AuditRecord } from './accounts-store.js';
import { auditRow } from './accounts-tx.js';
import type { ImportCounts } from './store.js';

/**
 * An import on SQLite in one transaction of the writer connection: the rows through prepared
 * single-row statements (several times faster than multi-row statements through Kysely), the
 * imported sessions' documents rendered in bulk from the plan, and every other document the import
 * changes rewritten through the common refresh on `conn`, which is Kysely on the same connection.
 */
export async function sqliteBulkImport(db: BetterSqlite3.Database, conn: Kysely<Database>, orgId: string, plan: ImportPlan, now: number, audit?: AuditRecord): Promise<ImportCounts> {
  db.exec('begin immediate');
  try {
    if (audit) await conn.insertInto('audit_log').values(auditRow(orgId, audit)).execute();
    const scope = await scopeBeforeImport(conn, 'sqlite', orgId, plan);
    writeRows(db, orgId, plan, now);
    writeDocuments(db, orgId, renderImportedSessions(plan, namesAfter(db, orgId, plan)));
    await refreshAfterImport(conn, 'sqlite', orgId, scope, new Set(plan.sessions.map(({ session }) => session.id)));
    db.exec('commit');
    return countsOf(plan);
  } catch (error) {
    if (db.inTransaction) db.exec('rollback');
    throw error;
  }
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

/** The ids among `ids` that a table of this organization already holds: one statement. */
function existing(db: BetterSqlite3.Database, table: string, orgId: string, ids: string[]): Set<string> {
  const statement = db.prepare<[string, string], string>(`select id from ${table} where org_id = ? and id in (select value from json_each(?))`).pluck();
  return new Set(statement.all(orgId, JSON.stringify(ids)));
}

/** The normalized rows; what is new has nothing to replace, so only rows that existed are cleared first. */
function writeRows(db: BetterSqlite3.Database, orgId: string, plan: ImportPlan, now: number): void {
  const upsertUser = db.prepare(
    `insert into users (org_id, id, email, name, role, created_at, updated_at) values (?, ?, null, ?, ?, ?, ?)
     on conflict (org_id, id) do update set name = excluded.name, updated_at = excluded.updated_at`,
  );
  const upsertTemplate = db.prepare(
    `insert into coaching_templates (org_id, id, name, created_at, updated_at) values (?, ?, ?, ?, ?)
     on conflict (org_id, id) do update set name = excluded.name, updated_at = excluded.updated_at`,
  );
  const sessionColumns = ['coaching_form_name', 'template_id', 'meeting_format', 'form_creator_id', 'coach_id', 'agent_id', 'created_at', 'updated_at', 'meeting_date', 'shared_with_agent', 'agent_confirmed', 'coach_confirmed', 'coach_notes', 'agent_notes', 'is_deleted'];
  const upsertSession = db.prepare(upsertSql('coaching_sessions', sessionColumns));
  const pointColumns = ['type', 'classification', 'ticket_id', 'subject', 'rubric_name', 'criteria_name', 'kpi_name', 'score', 'agent_notes', 'coach_notes', 'created_at', 'updated_at', 'is_deleted'];
  const upsertPoint = db.prepare(upsertSql('coaching_points', pointColumns));
  const todoColumns = ['action_string', 'completed_at', 'created_at', 'creator_id', 'description', 'link', 'status', 'title', 'type', 'updated_at', 'is_deleted'];
  const upsertTodo = db.prepare(upsertSql('todos', todoColumns));
  const deleteLog = db.prepare('delete from activity_log where org_id = ? and session_id = ?');
  const insertLog = db.prepare(
    'insert into activity_log (org_id, session_id, user_id, user_email, action_type, descriptions, timestamp, ip_address) values (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const links = (table: string) => ({
    bySession: db.prepare(`delete from ${table} where org_id = ? and session_id = ?`),
    byItem: db.prepare(`delete from ${table} where org_id = ? and item_id = ?`),
    insert: db.prepare(`insert into ${table} (org_id, item_id, session_id, position) values (?, ?, ?, ?)`),
  });
  const pointLinks = links('coaching_point_sessions');
  const todoLinks = links('todo_sessions');

  for (const u of plan.users) upsertUser.run(orgId, u.id, u.name, u.role, now, now);
  for (const t of plan.templates) upsertTemplate.run(orgId, t.id, t.name, now, now);
  const oldSessions = existing(db, 'coaching_sessions', orgId, plan.sessions.map(({ session }) => session.id));
  const oldPoints = existing(db, 'coaching_points', orgId, plan.points.map((p) => p.id));
  const oldTodos = existing(db, 'todos', orgId, plan.todos.map((t) => t.id));
  for (const { session: s, log } of plan.sessions) {
    upsertSession.run(orgId, s.id, s.coachingFormName, s.templateId, s.meetingFormat, s.formCreatorId, s.coachId, s.agentId, s.createdAt, s.updatedAt, s.meetingDate, flag(s.sharedWithAgent), flag(s.agentConfirmed), flag(s.coachConfirmed), s.coachNotes, s.agentNotes, flag(s.isDeleted));
    if (oldSessions.has(s.id)) {
      deleteLog.run(orgId, s.id);
      pointLinks.bySession.run(orgId, s.id);
      todoLinks.bySession.run(orgId, s.id);
    }
    for (const e of log) insertLog.run(orgId, s.id, e.userId, e.userEmail, e.actionType, JSON.stringify(e.descriptions), e.timestamp, e.ipAddress);
  }
  for (const p of plan.points) {
    upsertPoint.run(orgId, p.id, p.type, p.classification, p.ticketId, p.subject, p.rubricName, p.criteriaName, p.kpiName, p.score, p.agentNotes, p.coachNotes, p.createdAt, p.updatedAt, flag(p.isDeleted));
    if (oldPoints.has(p.id)) pointLinks.byItem.run(orgId, p.id);
    p.sessionIds.forEach((sessionId, position) => pointLinks.insert.run(orgId, p.id, sessionId, position));
  }
  for (const t of plan.todos) {
    upsertTodo.run(orgId, t.id, t.actionString, t.completedAt, t.createdAt, t.creatorId, t.description, t.link, t.status, t.title, t.type, t.updatedAt, flag(t.isDeleted));
    if (oldTodos.has(t.id)) todoLinks.byItem.run(orgId, t.id);
    t.sessionIds.forEach((sessionId, position) => todoLinks.insert.run(orgId, t.id, sessionId, position));
  }
}

function upsertSql(table: string, columns: string[]): string {
  const all = ['org_id', 'id', ...columns];
  return `insert into ${table} (${all.join(', ')}) values (${all.map(() => '?').join(', ')})
    on conflict (org_id, id) do update set ${columns.map((c) => `${c} = excluded.${c}`).join(', ')}`;
}
