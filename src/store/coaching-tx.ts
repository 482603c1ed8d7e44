import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { ExportSession } from '../contract/schemas.js';
import type { LogEntryRecord, PointRecord, SessionRecord, TemplateRecord, TodoRecord, UserRecord } from '../coaching/records.js';
import type { StoreAdapter } from './adapter.js';
import type { AppendedEntry } from './events/outbox-write.js';
import { CoachingChanges } from './documents/changes.js';
import { hasLoneSurrogate } from './documents/document-text.js';
import { flag, linkRow, logRow, pointFromRow, pointRow, sessionFromRow, sessionRow, todoFromRow, todoRow, userFromRow } from './rows.js';
import { Prepared, preparedBy, rowsByIds } from './prepared.js';
import type { Database, LinkTable } from './schema.js';
import type { CoachingTx } from './store.js';

type ItemTable = 'coaching_sessions' | 'coaching_points' | 'todos';

/** A transaction as a Kysely of any table, for the queries over a table chosen by a type parameter, which Kysely cannot type. */
const untyped = (db: Kysely<Database>) => db as unknown as Kysely<Record<string, Record<string, unknown>>>;
type Row = Record<string, unknown>;

// The fixed-shape queries every coaching change makes, prepared once (prepared.ts): one per table.
const insertItem = preparedBy((table: ItemTable) => new Prepared((db, row: Row) => untyped(db).insertInto(table).values(row)));
/**
 * An update of some of a row's columns, prepared once per table and set of columns (`table:a,b`).
 * A column set costs its indexes: SQLite rewrites the entry of every index over a column an UPDATE
 * sets, changed or not, and a session has nine; adding a point, which changes only `updated_at`,
 * wrote nine index pages more to the WAL when a save set every column. The sets are those the
 * coaching writes make (a few hundred at most: the fields a PATCH may carry, with the flags they
 * reset), so the cache stays small.
 */
const updateColumns = preparedBy((shape: string) => {
  const table = shape.slice(0, shape.indexOf(':')) as ItemTable;
  return new Prepared((db, { org_id, id, ...changes }: Row) =>
    untyped(db).updateTable(table).set(changes).where('org_id', '=', org_id).where('id', '=', id),
  );
});
/** Sessions locked and read (getSessions), in id order, with each database's lock. */
const lockedSessions = rowsByIds('id', (db, orgId, adapter) =>
  db
    .selectFrom('coaching_sessions')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('id')
    .$call((q) => adapter.forUpdate(q)),
);
const insertLog = new Prepared((db, row: ReturnType<typeof logRow>) => db.insertInto('activity_log').values(row));
const deleteLinks = preparedBy(
  (table: LinkTable) =>
    new Prepared((db, { orgId, itemId }: { orgId: string; itemId: string }) =>
      db.deleteFrom(table).where('org_id', '=', orgId).where('item_id', '=', itemId).returning('session_id'),
    ),
);
const insertLink = preparedBy(
  (table: LinkTable) => new Prepared((db, row: ReturnType<typeof linkRow>) => db.insertInto(table).values(row)),
);

/** CoachingTx over one Kysely transaction, scoped to one organization. */
export class KyselyCoachingTx implements CoachingTx {
  /** Sessions whose document this transaction changed: written, logged, or linked before or after. */
  readonly touched = new Set<string>();
  /** Documents the caller rendered whole; a later change to the session in this transaction drops its entry. */
  readonly rendered = new Map<string, ExportSession>();
  /** Log entries this transaction appended, in order: each may be an event (SPEC §11). */
  readonly appended: AppendedEntry[] = [];
  /** What this transaction wrote, from which the touched documents are edited rather than rendered whole. */
  readonly changes = new CoachingChanges();
  /** Each session's columns as this transaction last read or wrote them. */
  private readonly sessionRows = new Map<string, Row>();

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly orgId: string,
    private readonly adapter: StoreAdapter,
  ) {}

  private async linksOf(table: LinkTable, itemId: string): Promise<string[]> {
    const rows = await this.trx
      .selectFrom(table)
      .select('session_id')
      .where('org_id', '=', this.orgId)
      .where('item_id', '=', itemId)
      .orderBy('position')
      .execute();
    return rows.map((row) => row.session_id);
  }

  private async replaceLinks(table: LinkTable, itemId: string, sessionIds: string[]): Promise<void> {
    const { rows: before } = await deleteLinks(table).execute(this.adapter.name, this.trx, { orgId: this.orgId, itemId });
    for (const { session_id } of before) this.touch(session_id);
    for (const id of sessionIds) this.touch(id);
    if (sessionIds.length === 0) return;
    const rows = sessionIds.map((sessionId, position) => linkRow(this.orgId, itemId, sessionId, position));
    if (rows.length === 1) await insertLink(table).execute(this.adapter.name, this.trx, rows[0]!);
    else await this.trx.insertInto(table).values(rows).execute();
  }

  /** One row of this organization, locked until the transaction ends. */
  private lockedRow<T extends ItemTable>(table: T, id: string): Promise<Selectable<Database[T]> | undefined> {
    const tableName: string = table;
    return untyped(this.trx)
      .selectFrom(tableName)
      .selectAll()
      .where('org_id', '=', this.orgId)
      .where('id', '=', id)
      .$call((q) => this.adapter.forUpdate(q))
      .executeTakeFirst() as Promise<Selectable<Database[T]> | undefined>;
  }

  private async write<T extends ItemTable>(table: T, row: Insertable<Database[T]>, isNew: boolean): Promise<void> {
    if (isNew) await insertItem(table).execute(this.adapter.name, this.trx, row as Row);
    else await this.update(table, row as Row);
  }

  /** `values`: the row's key (org_id, id) and the columns to set. */
  private async update(table: ItemTable, values: Row): Promise<void> {
    await updateColumns(`${table}:${Object.keys(values).join()}`).execute(this.adapter.name, this.trx, values);
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const row = await this.lockedRow('coaching_sessions', id);
    return row ? this.read(sessionFromRow(row)) : null;
  }

  async getSessions(ids: string[]): Promise<SessionRecord[]> {
    return (await lockedSessions(this.trx, this.adapter, this.orgId, ids)).map((row) => this.read(sessionFromRow(row)));
  }

  /** A session as read, remembered so that saving it writes only the columns that changed. */
  private read(session: SessionRecord): SessionRecord {
    this.sessionRows.set(session.id, sessionRow(this.orgId, session));
    return session;
  }

  private touch(sessionId: string): void {
    this.touched.add(sessionId);
    this.rendered.delete(sessionId);
  }

  renderedSession(document: ExportSession): void {
    // A text the database would not store as given is read back and rendered from the tables instead.
    if (hasLoneSurrogate(JSON.stringify(document))) return;
    this.rendered.set(document._id, document);
  }

  async saveSession(session: SessionRecord, isNew: boolean): Promise<void> {
    this.touch(session.id);
    this.changes.session(session, isNew);
    const row = sessionRow(this.orgId, session);
    const before = isNew ? undefined : this.sessionRows.get(session.id);
    this.sessionRows.set(session.id, row);
    if (!before) return this.write('coaching_sessions', row, isNew);
    const changed = Object.entries(row).filter(([column, value]) => value !== before[column]);
    if (changed.length > 0) await this.update('coaching_sessions', { org_id: row.org_id, id: row.id, ...Object.fromEntries(changed) });
  }

  async getPoint(id: string): Promise<PointRecord | null> {
    const row = await this.lockedRow('coaching_points', id);
    return row ? pointFromRow(row, await this.linksOf('coaching_point_sessions', id)) : null;
  }

  async savePoint(point: PointRecord, isNew: boolean): Promise<void> {
    this.changes.point(point);
    await this.write('coaching_points', pointRow(this.orgId, point), isNew);
    await this.replaceLinks('coaching_point_sessions', point.id, point.sessionIds);
  }

  async getTodo(id: string): Promise<TodoRecord | null> {
    const row = await this.lockedRow('todos', id);
    return row ? todoFromRow(row, await this.linksOf('todo_sessions', id)) : null;
  }

  async saveTodo(todo: TodoRecord, isNew: boolean): Promise<void> {
    this.changes.todo(todo);
    await this.write('todos', todoRow(this.orgId, todo), isNew);
    await this.replaceLinks('todo_sessions', todo.id, todo.sessionIds);
  }

  async appendLog(sessionId: string, entry: LogEntryRecord): Promise<void> {
    this.touch(sessionId);
    this.appended.push({ sessionId, entry });
    this.changes.appended(sessionId, entry);
    await insertLog.execute(this.adapter.name, this.trx, logRow(this.orgId, sessionId, entry));
  }

  async hasPointAgentNotes(sessionId: string): Promise<boolean> {
    const row = await this.trx
      .selectFrom('coaching_point_sessions as l')
      .innerJoin('coaching_points as p', (join) => join.onRef('p.org_id', '=', 'l.org_id').onRef('p.id', '=', 'l.item_id'))
      .select('p.id')
      .where('l.org_id', '=', this.orgId)
      .where('l.session_id', '=', sessionId)
      .where('p.is_deleted', '=', flag(false))
      .where('p.agent_notes', 'is not', null)
      .where('p.agent_notes', '<>', '')
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async getUser(id: string): Promise<UserRecord | null> {
    const row = await this.trx
      .selectFrom('users')
      .select(['id', 'email', 'name', 'role'])
      .where('org_id', '=', this.orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? userFromRow(row) : null;
  }

  async getTemplate(id: string): Promise<TemplateRecord | null> {
    const row = await this.trx
      .selectFrom('coaching_templates')
      .select(['id', 'name'])
      .where('org_id', '=', this.orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ?? null;
  }
}
