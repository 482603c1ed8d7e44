import { sql, type Kysely } from 'kysely';
import { type SessionFacts, sessionFacts } from '../../analytics/session-facts.js';
import { logDocument, pointDocument, type SessionNames, sessionDocument, todoDocument } from '../../coaching/documents.js';
import type { LogEntryRecord, SessionRecord } from '../../coaching/records.js';
import type { CoachingPoint, ExportSession, Todo } from '../../contract/schemas.js';
import type { StoreAdapter } from '../adapter.js';
import { Prepared, rowsByIds } from '../prepared.js';
import type { Database } from '../schema.js';
import type { CoachingChanges } from './changes.js';
import {
  appendElements,
  cutDocument,
  type DocumentText,
  EMPTY_CHILDREN,
  entryCount,
  findItem,
  hasLoneSurrogate,
  insertItem,
  itemCount,
  joinDocument,
  lastItem,
  removeItem,
  replaceItem,
} from './document-text.js';
import { type ArchivedLog, archivedText, archiveEntries, LOG_FOLD_AT, type LogFold, splitLog } from './log-archive.js';
import { BOTH, nameOf, refreshSessionDocuments, storeRendered } from './refresh.js';
import type { RenderedDocument } from './rendered.js';

/**
 * Writes that cost the change (SPEC §13): after a coaching transaction, each touched session's
 * stored document is edited in its text with what the transaction wrote (CoachingChanges) instead
 * of being read back from all its tables and rendered whole. The session's own fields are rendered
 * again (they are small), new log entries are appended, and each changed point or to-do is
 * replaced, removed or inserted in place; the stats row is the stored one with the changed items'
 * counts moved. Every piece is rendered by the one renderer, so the result is the text a full
 * rendering writes; the read-model property test holds the two to each other byte for byte.
 * A long log's older entries are kept apart (log-archive.ts): the row edited here holds the newest
 * ones only, so an edit costs the same on a session of 2,000 log entries as on a new one.
 *
 * A session is rendered whole instead when its document cannot be edited so: a session new in
 * the transaction, no stored document or stats row, more than one item inserted into one of its
 * arrays, a text the databases would not store as given (a lone surrogate), a person or template
 * that no longer exists.
 */

interface StoredSession {
  id: string;
  /** The document row's text: the whole document, or without its archived log entries. */
  json: string;
  /** The archived log entries' count and bytes (log-archive.ts), or null; undefined: flagged, but no archive row. */
  archived: ArchivedLog | null | undefined;
  /** The meeting date the document row holds. */
  meetingDate: number | null;
  /** What the stored stats row holds beyond the session's own fields (those are rendered again). */
  stats: (Counts & Pick<SessionFacts, 'acknowledgementMs'>) | null;
}

const COUNTS = ['points', 'strengths', 'opportunities', 'general', 'qa', 'csat', 'productivity', 'todos', 'todosCompleted'] as const;
type Counts = Record<(typeof COUNTS)[number], number>;

/** Why a session is rendered whole instead: the caller falls back on null. */
type Spliced<T> = T | null;

/**
 * JSON text as the renderer writes it, or null when the stored value would read back otherwise: an
 * undefined field (stored as NULL) or a lone surrogate (not valid UTF-8 in either database).
 */
function storedJson(value: object): string | null {
  if (Object.values(value).some((v) => v === undefined)) return null;
  const json = JSON.stringify(value);
  return hasLoneSurrogate(json) ? null : json;
}

// Three lookups by key: SQLite ran them joined at twice their cost apart (measured: 91 µs against 41).
const documentRows = rowsByIds('session_id', (trx, orgId) =>
  trx.selectFrom('session_documents').select(['session_id', 'doc', 'log_archived', 'meeting_date']).where('org_id', '=', orgId),
);
const statsRows = rowsByIds('session_id', (trx, orgId) => trx.selectFrom('session_stats').selectAll().where('org_id', '=', orgId));
const archiveRows = rowsByIds('session_id', (trx, orgId) =>
  trx.selectFrom('session_log_archive').select(['session_id', 'entries', 'bytes']).where('org_id', '=', orgId),
);

async function storedSessions(trx: Kysely<Database>, adapter: StoreAdapter, orgId: string, ids: string[]): Promise<StoredSession[]> {
  const docs = await documentRows(trx, adapter, orgId, ids);
  const stats = new Map((await statsRows(trx, adapter, orgId, ids)).map((row) => [row.session_id, row]));
  const flagged = docs.filter((d) => Number(d.log_archived) === 1).map((d) => d.session_id);
  const archives = new Map((flagged.length > 0 ? await archiveRows(trx, adapter, orgId, flagged) : []).map((a) => [a.session_id, a]));
  return docs.map((d) => {
    const row = stats.get(d.session_id);
    const archive = archives.get(d.session_id);
    return {
      id: d.session_id,
      json: typeof d.doc === 'string' ? d.doc : d.doc.toString('utf8'),
      meetingDate: d.meeting_date === null ? null : Number(d.meeting_date),
      archived:
        Number(d.log_archived) !== 1 ? null : archive ? { entries: Number(archive.entries), bytes: Number(archive.bytes) } : undefined,
      stats: !row
        ? null
        : {
            points: Number(row.points),
            strengths: Number(row.strengths),
            opportunities: Number(row.opportunities),
            general: Number(row.general),
            qa: Number(row.qa),
            csat: Number(row.csat),
            productivity: Number(row.productivity),
            todos: Number(row.todos),
            todosCompleted: Number(row.todos_completed),
            acknowledgementMs: row.acknowledgement_ms === null ? null : Number(row.acknowledgement_ms),
          },
    };
  });
}

/** What one transaction's edits do to one session: its arrays' texts and the items they lost and gained. */
class SessionEdit {
  readonly lost: { points: CoachingPoint[]; todos: Todo[] } = { points: [], todos: [] };
  readonly gained: { points: CoachingPoint[]; todos: Todo[] } = { points: [], todos: [] };

  constructor(
    private readonly trx: Kysely<Database>,
    private readonly adapter: StoreAdapter,
    private readonly orgId: string,
    readonly sessionId: string,
    readonly text: DocumentText,
  ) {}

  /**
   * The item with this id, as `doc` (null: not on this session), in place of what the array held.
   * An item new to the array goes after those created before it: read from the end of the text when
   * it is the newest (a new item nearly always is), else counted in the database, in the render's order.
   */
  async put<T extends CoachingPoint | Todo>(kind: 'points' | 'todos', id: string, doc: T | null): Promise<boolean> {
    const section = this.text[kind];
    const span = findItem(section, id);
    const json = doc === null ? null : storedJson(doc);
    if (doc !== null && json === null) return false;
    if (span) {
      const old = JSON.parse(section.slice(span.start, span.end)) as T;
      (this.lost[kind] as T[]).push(old);
      if (json !== null && old.createdAt !== doc!.createdAt) return false;
      this.text[kind] = json === null ? removeItem(section, span) : replaceItem(section, span, json);
    } else if (json !== null) {
      const last = lastItem(section);
      const after = last === null || Date.parse((JSON.parse(last) as T).createdAt) < Date.parse(doc!.createdAt);
      const index = after ? itemCount(section) : await this.itemsBefore(kind, id, Date.parse(doc!.createdAt));
      this.text[kind] = insertItem(section, index, json);
    }
    if (doc !== null) (this.gained[kind] as T[]).push(doc);
    return true;
  }

  /** How many of the session's other items the render puts before this one: by creation time, then id. */
  private async itemsBefore(kind: 'points' | 'todos', id: string, createdAt: number): Promise<number> {
    const items = sql.table(kind === 'points' ? 'coaching_points' : 'todos');
    const links = sql.table(kind === 'points' ? 'coaching_point_sessions' : 'todo_sessions');
    const { rows } = await sql<{ n: number | string }>`
      select count(*) as n from ${links} l join ${items} i on i.org_id = l.org_id and i.id = l.item_id
      where l.org_id = ${this.orgId} and l.session_id = ${this.sessionId} and i.id <> ${id}
        and (i.created_at < ${createdAt} or (i.created_at = ${createdAt} and ${this.adapter.byCodePoint('i.id')} < ${id}))`.execute(
      this.trx,
    );
    return Number(rows[0]?.n ?? 0);
  }
}

/** The people and the template a session's document names, by id, in one query (`template` 1 for the template). */
const sessionNames = new Prepared(
  (db, v: { orgId: string; formCreatorId: string; coachId: string; agentId: string; templateId: string | null }) =>
    db
      .selectFrom('users')
      .select(['id', 'name', sql<number>`0`.as('template')])
      .where('org_id', '=', v.orgId)
      .where('id', 'in', [v.formCreatorId, v.coachId, v.agentId])
      .unionAll(
        db
          .selectFrom('coaching_templates')
          .select(['id', 'name', sql<number>`1`.as('template')])
          .where('org_id', '=', v.orgId)
          .where('id', '=', v.templateId),
      ),
);

/**
 * The names the session's document shows, read afresh at each write rather than kept from the stored
 * text. On PostgreSQL a rename finds the sessions to rewrite among committed rows, so renames and
 * coaching writes take turns (StoreAdapter.lockNames); a name a rename beside a write missed all the
 * same (written to the tables by hand, say) is set right at the session's next write, as a whole
 * render would.
 */
async function namesOf(trx: Kysely<Database>, engine: string, orgId: string, session: SessionRecord): Promise<Spliced<SessionNames>> {
  const { formCreatorId, coachId, agentId, templateId } = session;
  const { rows } = await sessionNames.execute(engine, trx, { orgId, formCreatorId, coachId, agentId, templateId });
  const people = new Map<string, string>();
  let templateName: string | null = null;
  for (const row of rows) {
    if (Number(row.template) === 1) templateName = row.name;
    else people.set(row.id, row.name);
  }
  const [formCreatorName, coachName, agentName] = [formCreatorId, coachId, agentId].map((id) => people.get(id));
  // The render's join is an inner join on people (no person, no document) and an outer one on the template.
  if (formCreatorName === undefined || coachName === undefined || agentName === undefined) return null;
  return { formCreatorName, coachName, agentName, templateName };
}

/** The session's own fields, rendered again from the saved record, as text without the closing brace. */
async function header(trx: Kysely<Database>, engine: string, orgId: string, session: SessionRecord): Promise<Spliced<string>> {
  const names = await namesOf(trx, engine, orgId, session);
  if (names === null) return null;
  const fields = sessionDocument(session, names, { activityLog: [], coachingPoints: [], todos: [] });
  const json = storedJson(fields);
  return json?.endsWith(EMPTY_CHILDREN) ? json.slice(0, -EMPTY_CHILDREN.length) : null;
}

/** A log entry's text as the render writes it from the stored row (absent values are stored as NULL). */
function entryJson(e: LogEntryRecord): Spliced<string> {
  return storedJson(
    logDocument({
      userId: e.userId ?? null,
      userEmail: e.userEmail ?? null,
      actionType: e.actionType,
      descriptions: e.descriptions,
      timestamp: e.timestamp,
      ipAddress: e.ipAddress ?? null,
    }),
  );
}

const countsOf = (fields: ExportSession, points: CoachingPoint[], todos: Todo[]): Counts => {
  const facts = sessionFacts({ ...fields, coachingPoints: points, todos });
  return Object.fromEntries(COUNTS.map((c) => [c, facts[c]])) as Counts;
};

/** Kinds of log entry the acknowledgement time is read from (analytics/session-facts.ts). */
const ACKNOWLEDGEMENT_ACTIONS = new Set(['shared', 'agent_confirmed']);

/** A spliced document, and the log entries it moves to its archive, if it folds. */
type SplicedDocument = RenderedDocument & { fold: LogFold | null };

async function spliceSession(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  stored: StoredSession,
  changes: CoachingChanges,
  foldAt: number,
): Promise<Spliced<SplicedDocument>> {
  const text = cutDocument(stored.json);
  const archived = stored.archived;
  if (text === null || stored.stats === null || archived === undefined) return null;
  const id = stored.id;
  const saved = changes.sessions.get(id);
  if (saved) {
    const fields = await header(trx, adapter.name, orgId, saved);
    if (fields === null) return null;
    text.header = fields;
  }
  const entries = (changes.log.get(id) ?? []).map(entryJson);
  if (entries.some((e) => e === null)) return null;
  text.log = appendElements(text.log, entries as string[]);

  const edit = new SessionEdit(trx, adapter, orgId, id, text);
  const ops: Array<{ kind: 'points' | 'todos'; id: string; doc: CoachingPoint | Todo | null }> = [];
  for (const point of changes.points.values())
    ops.push({ kind: 'points', id: point.id, doc: point.sessionIds.includes(id) ? pointDocument(point) : null });
  for (const todo of changes.todos.values()) {
    let doc: Todo | null = null;
    if (todo.sessionIds.includes(id)) {
      const span = findItem(text.todos, todo.id);
      // The creator's name as the document shows it already, or as the render would join it.
      const creatorName = span
        ? (JSON.parse(text.todos.slice(span.start, span.end)) as Todo).creatorName
        : await nameOf(trx, 'users', orgId, todo.creatorId);
      if (creatorName === null) return null;
      doc = todoDocument(todo, creatorName);
    }
    ops.push({ kind: 'todos', id: todo.id, doc });
  }
  // Insertions last, each placed among the items as they end up; one per array, or the count could not place it.
  const inserts = ops.filter((op) => op.doc !== null && findItem(text[op.kind], op.id) === null);
  if (inserts.filter((op) => op.kind === 'points').length > 1 || inserts.filter((op) => op.kind === 'todos').length > 1) return null;
  for (const op of [...ops.filter((op) => !inserts.includes(op)), ...inserts]) if (!(await edit.put(op.kind, op.id, op.doc))) return null;

  let json = joinDocument(text);
  const fields = JSON.parse(`${text.header}${EMPTY_CHILDREN}`) as ExportSession;
  const facts = sessionFacts(fields);
  const lost = countsOf(fields, edit.lost.points, edit.lost.todos);
  const gained = countsOf(fields, edit.gained.points, edit.gained.todos);
  for (const c of COUNTS) facts[c] = stored.stats[c] - lost[c] + gained[c];
  const acknowledged = (changes.log.get(id) ?? []).some((e) => ACKNOWLEDGEMENT_ACTIONS.has(e.actionType));
  if (acknowledged) {
    const log = archived ? `[${await archivedText(trx, orgId, id)},${text.log.slice(1)}` : text.log;
    facts.acknowledgementMs = sessionFacts({ ...fields, activityLog: JSON.parse(log) as ExportSession['activityLog'] }).acknowledgementMs;
  } else {
    facts.acknowledgementMs = stored.stats.acknowledgementMs;
  }
  const recent = entryCount(text.log);
  const size = {
    coachingPoints: itemCount(text.points),
    todos: itemCount(text.todos),
    activityLog: (archived?.entries ?? 0) + recent,
    // The archived entries and the comma that joins them to the rest.
    documentBytes: Buffer.byteLength(json, 'utf8') + (archived ? archived.bytes + 1 : 0),
  };
  const split = recent > foldAt ? splitLog(text.log) : null;
  let fold: LogFold | null = null;
  if (split) {
    fold = { sessionId: id, text: split.moved, entries: recent - 1, bytes: Buffer.byteLength(split.moved, 'utf8') };
    text.log = split.kept;
    json = joinDocument(text);
  }
  const logArchived = archived !== null || fold !== null;
  const { createdAt, meetingDate } = facts;
  return { sessionId: id, createdAt, meetingDate, storedMeetingDate: stored.meetingDate, json, facts, size, logArchived, fold };
}

/**
 * Stores the documents and stats rows of the sessions a coaching transaction touched, in it:
 * edited where they can be (above), rendered whole otherwise; the limits are enforced on both.
 */
export async function refreshChangedDocuments(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  changes: CoachingChanges,
  sessionIds: string[],
  foldAt = LOG_FOLD_AT,
): Promise<void> {
  const ids = [...new Set(sessionIds)].sort();
  const editable = ids.filter((id) => !changes.created.has(id));
  const whole = new Set(ids.filter((id) => changes.created.has(id)));
  const spliced: SplicedDocument[] = [];
  if (editable.length > 0) {
    await adapter.lockSessionsForUpdate(trx, orgId, async () => editable);
    const stored = new Map((await storedSessions(trx, adapter, orgId, editable)).map((s) => [s.id, s]));
    for (const id of editable) {
      const session = stored.get(id);
      const doc = session ? await spliceSession(trx, adapter, orgId, session, changes, foldAt) : null;
      if (doc) spliced.push(doc);
      else whole.add(id);
    }
  }
  await storeRendered(trx, adapter, orgId, spliced, { ...BOTH, existing: true });
  await archiveEntries(
    trx,
    orgId,
    spliced.flatMap((d) => (d.fold ? [d.fold] : [])),
  );
  await refreshSessionDocuments(trx, adapter, orgId, [...whole]);
}
