import type { Kysely } from 'kysely';
import { logDocument, pointDocument, sessionDocument, todoDocument } from '../coaching/documents.js';
import type { ActivityLogEntry, CoachingPoint, ExportSession, Todo } from '../contract/schemas.js';
import type { ExportWindow } from '../export/window.js';
import type { StoreAdapter } from './adapter.js';
import { pointFromRow, sessionFromRow, todoFromRow } from './rows.js';
import type { Database, LinkTable } from './schema.js';

/**
 * Reads the export a page at a time: a keyset page of sessions on (time axis, id), then the
 * children of the whole page in one query per kind, so a page costs five queries whatever its size.
 */

type Db = Kysely<Database>;

type Cursor = { axisValue: number; id: string };

/** Sessions with the names the export shows beside each id. */
function sessionsWithNames(db: Db, orgId: string) {
  return db
    .selectFrom('coaching_sessions as s')
    .innerJoin('users as fc', (j) => j.onRef('fc.org_id', '=', 's.org_id').onRef('fc.id', '=', 's.form_creator_id'))
    .innerJoin('users as c', (j) => j.onRef('c.org_id', '=', 's.org_id').onRef('c.id', '=', 's.coach_id'))
    .innerJoin('users as a', (j) => j.onRef('a.org_id', '=', 's.org_id').onRef('a.id', '=', 's.agent_id'))
    .leftJoin('coaching_templates as t', (j) => j.onRef('t.org_id', '=', 's.org_id').onRef('t.id', '=', 's.template_id'))
    .selectAll('s')
    .select(['fc.name as form_creator_name', 'c.name as coach_name', 'a.name as agent_name', 't.name as template_name'])
    .where('s.org_id', '=', orgId);
}

/** Ties of one instant in `_id`'s code point order (SPEC §1), whatever the database's collation. */
async function sessionPage(db: Db, adapter: StoreAdapter, orgId: string, window: ExportWindow, after: Cursor | null, limit: number) {
  const axis = window.axis === 'meetingDate' ? 's.meeting_date' : 's.created_at';
  const id = adapter.byCodePoint('s.id');
  let query = sessionsWithNames(db, orgId).where(axis, '>=', window.fromMs).where(axis, '<=', window.toMs);
  if (after) {
    query = query.where((eb) => eb.or([eb(axis, '>', after.axisValue), eb.and([eb(axis, '=', after.axisValue), eb(id, '>', after.id)])]));
  }
  return query.orderBy(axis).orderBy(id).limit(limit).execute();
}

async function logsBySession(db: Db, adapter: StoreAdapter, orgId: string, sessionIds: string[]) {
  const rows = await db
    .selectFrom('activity_log')
    .select(['session_id', 'user_id', 'user_email', 'action_type', 'descriptions', 'timestamp', 'ip_address'])
    .where('org_id', '=', orgId)
    .where(adapter.idIn('session_id', sessionIds))
    .orderBy('session_id')
    .orderBy('seq')
    .execute();
  const bySession = new Map<string, ActivityLogEntry[]>();
  for (const row of rows) {
    const entry = logDocument({
      userId: row.user_id,
      userEmail: row.user_email,
      actionType: row.action_type,
      descriptions: JSON.parse(row.descriptions) as string[],
      timestamp: Number(row.timestamp),
      ipAddress: row.ip_address,
    });
    push(bySession, row.session_id, entry);
  }
  return bySession;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Every session each item is linked to, in the order the item lists them. */
async function linksOf(db: Db, adapter: StoreAdapter, table: LinkTable, orgId: string, itemIds: string[]) {
  const links = new Map<string, string[]>();
  if (itemIds.length === 0) return links;
  const rows = await db
    .selectFrom(table)
    .select(['item_id', 'session_id'])
    .where('org_id', '=', orgId)
    .where(adapter.idIn('item_id', itemIds))
    .orderBy('item_id')
    .orderBy('position')
    .execute();
  for (const row of rows) push(links, row.item_id, row.session_id);
  return links;
}

async function pointsBySession(db: Db, adapter: StoreAdapter, orgId: string, sessionIds: string[]) {
  const rows = await db
    .selectFrom('coaching_point_sessions as l')
    .innerJoin('coaching_points as p', (j) => j.onRef('p.org_id', '=', 'l.org_id').onRef('p.id', '=', 'l.item_id'))
    .selectAll('p')
    .select('l.session_id')
    .where('l.org_id', '=', orgId)
    .where(adapter.idIn('l.session_id', sessionIds))
    .orderBy('p.created_at')
    .orderBy(adapter.byCodePoint('p.id'))
    .execute();
  const links = await linksOf(db, adapter, 'coaching_point_sessions', orgId, [...new Set(rows.map((row) => row.id))]);
  const built = new Map<string, CoachingPoint>();
  const bySession = new Map<string, CoachingPoint[]>();
  for (const row of rows) {
    let point = built.get(row.id);
    if (!point) {
      point = pointDocument(pointFromRow(row, links.get(row.id) ?? []));
      built.set(row.id, point);
    }
    push(bySession, row.session_id, point);
  }
  return bySession;
}

async function todosBySession(db: Db, adapter: StoreAdapter, orgId: string, sessionIds: string[]) {
  const rows = await db
    .selectFrom('todo_sessions as l')
    .innerJoin('todos as t', (j) => j.onRef('t.org_id', '=', 'l.org_id').onRef('t.id', '=', 'l.item_id'))
    .innerJoin('users as u', (j) => j.onRef('u.org_id', '=', 't.org_id').onRef('u.id', '=', 't.creator_id'))
    .selectAll('t')
    .select(['l.session_id', 'u.name as creator_name'])
    .where('l.org_id', '=', orgId)
    .where(adapter.idIn('l.session_id', sessionIds))
    .orderBy('t.created_at')
    .orderBy(adapter.byCodePoint('t.id'))
    .execute();
  const links = await linksOf(db, adapter, 'todo_sessions', orgId, [...new Set(rows.map((row) => row.id))]);
  const built = new Map<string, Todo>();
  const bySession = new Map<string, Todo[]>();
  for (const row of rows) {
    let todo = built.get(row.id);
    if (!todo) {
      todo = todoDocument(todoFromRow(row, links.get(row.id) ?? []), row.creator_name);
      built.set(row.id, todo);
    }
    push(bySession, row.session_id, todo);
  }
  return bySession;
}

type SessionRow = Awaited<ReturnType<typeof sessionPage>>[number];

async function assemble(db: Db, adapter: StoreAdapter, orgId: string, rows: SessionRow[]): Promise<ExportSession[]> {
  const ids = rows.map((row) => row.id);
  const logs = await logsBySession(db, adapter, orgId, ids);
  const points = await pointsBySession(db, adapter, orgId, ids);
  const todos = await todosBySession(db, adapter, orgId, ids);
  return rows.map((row) =>
    sessionDocument(
      sessionFromRow(row),
      { formCreatorName: row.form_creator_name, coachName: row.coach_name, agentName: row.agent_name, templateName: row.template_name },
      { activityLog: logs.get(row.id) ?? [], coachingPoints: points.get(row.id) ?? [], todos: todos.get(row.id) ?? [] },
    ),
  );
}

export async function* readExportPages(
  db: Db,
  adapter: StoreAdapter,
  orgId: string,
  window: ExportWindow,
  pageSize: number,
): AsyncGenerator<ExportSession[]> {
  let after: Cursor | null = null;
  for (;;) {
    const rows = await sessionPage(db, adapter, orgId, window, after, pageSize);
    if (rows.length === 0) return;
    yield await assemble(db, adapter, orgId, rows);
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    const axisValue = window.axis === 'meetingDate' ? last.meeting_date : last.created_at;
    after = { axisValue: Number(axisValue), id: last.id };
  }
}

/** The documents of the given sessions, in the order of `ids`; missing ids are left out. */
export async function readSessionsById(db: Db, adapter: StoreAdapter, orgId: string, ids: string[]): Promise<ExportSession[]> {
  if (ids.length === 0) return [];
  const rows = await sessionsWithNames(db, orgId).where(adapter.idIn('s.id', ids)).execute();
  const order = new Map(ids.map((id, i) => [id, i]));
  rows.sort((x, y) => order.get(x.id)! - order.get(y.id)!);
  return assemble(db, adapter, orgId, rows);
}
