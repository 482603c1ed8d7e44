import type { CoachingPoint, ExportSession, Todo } from '../contract/schemas.js';

/**
 * The export's documents as flat tables, described once: the CSV writer writes these tables as
 * files and `coachport sync` keeps them as database tables. Each column names its type so the
 * mirror can declare it (the CSV file only ever holds text).
 */
export type ColumnType = 'text' | 'boolean' | 'timestamp' | 'integer';
export type Cell = string | number | boolean | null;

interface TableDefinition<T> {
  columns: ReadonlyArray<readonly [name: string, type: ColumnType]>;
  /** The columns that identify a row. */
  key: readonly string[];
  rows(record: T): Cell[][];
}

const sessionColumns = [
  ['_id', 'text'],
  ['coachingFormName', 'text'],
  ['coachingTemplateId', 'text'],
  ['coachingTemplateName', 'text'],
  ['meetingFormat', 'text'],
  ['formCreatorId', 'text'],
  ['formCreatorName', 'text'],
  ['coachName', 'text'],
  ['coachId', 'text'],
  ['agentId', 'text'],
  ['agentName', 'text'],
  ['createdAt', 'timestamp'],
  ['updatedAt', 'timestamp'],
  ['sharedWithAgent', 'boolean'],
  ['meetingDate', 'timestamp'],
  ['agentConfirmed', 'boolean'],
  ['coachConfirmed', 'boolean'],
  ['coachNotes', 'text'],
  ['agentNotes', 'text'],
  ['isDeleted', 'boolean'],
] as const;

export const TABLE_DEFINITIONS = {
  sessions: {
    columns: sessionColumns,
    key: ['_id'],
    rows: (s: ExportSession) => [
      [
        s._id,
        s.coachingFormName,
        s.coachingTemplateId,
        s.coachingTemplateName,
        s.meetingFormat,
        s.formCreatorId,
        s.formCreatorName,
        s.coachName,
        s.coachId,
        s.agentId,
        s.agentName,
        s.createdAt,
        s.updatedAt,
        s.sharedWithAgent,
        s.meetingDate,
        s.agentConfirmed,
        s.coachConfirmed,
        s.coachNotes,
        s.agentNotes,
        s.isDeleted,
      ],
    ],
  } satisfies TableDefinition<ExportSession>,
  activity_log: {
    columns: [
      ['sessionId', 'text'],
      ['position', 'integer'],
      ['userId', 'text'],
      ['userEmail', 'text'],
      ['actionType', 'text'],
      ['descriptions', 'text'],
      ['timestamp', 'timestamp'],
      ['ipAddress', 'text'],
    ],
    key: ['sessionId', 'position'],
    // descriptions is a list; a table cell holds it as JSON text.
    rows: (s: ExportSession) =>
      s.activityLog.map((e, position) => [
        s._id,
        position,
        e.userId,
        e.userEmail,
        e.actionType,
        JSON.stringify(e.descriptions),
        e.timestamp,
        e.ipAddress,
      ]),
  } satisfies TableDefinition<ExportSession>,
  coaching_points: {
    columns: [
      ['_id', 'text'],
      ['type', 'text'],
      ['classification', 'text'],
      ['ticketId', 'text'],
      ['subject', 'text'],
      ['rubricName', 'text'],
      ['criteriaName', 'text'],
      ['kpiName', 'text'],
      ['score', 'text'],
      ['agentNotes', 'text'],
      ['coachNotes', 'text'],
      ['createdAt', 'timestamp'],
      ['updatedAt', 'timestamp'],
      ['isDeleted', 'boolean'],
    ],
    key: ['_id'],
    rows: (p: CoachingPoint) => [
      [
        p._id,
        p.type,
        p.classification,
        p.ticketId,
        p.subject,
        p.rubricName,
        p.criteriaName,
        p.kpiName,
        p.score,
        p.agentNotes,
        p.coachNotes,
        p.createdAt,
        p.updatedAt,
        p.isDeleted,
      ],
    ],
  } satisfies TableDefinition<CoachingPoint>,
  coaching_point_sessions: {
    columns: [
      ['coachingPointId', 'text'],
      ['sessionId', 'text'],
      ['position', 'integer'],
    ],
    key: ['coachingPointId', 'sessionId'],
    rows: (p: CoachingPoint) => p.coachingFormIds.map((sessionId, position) => [p._id, sessionId, position]),
  } satisfies TableDefinition<CoachingPoint>,
  todos: {
    columns: [
      ['_id', 'text'],
      ['actionString', 'text'],
      ['completedAt', 'timestamp'],
      ['createdAt', 'timestamp'],
      ['creatorId', 'text'],
      ['creatorName', 'text'],
      ['description', 'text'],
      ['link', 'text'],
      ['status', 'text'],
      ['title', 'text'],
      ['type', 'text'],
      ['updatedAt', 'timestamp'],
      ['isDeleted', 'boolean'],
    ],
    key: ['_id'],
    rows: (t: Todo) => [
      [
        t._id,
        t.actionString,
        t.completedAt,
        t.createdAt,
        t.creatorId,
        t.creatorName,
        t.description,
        t.link,
        t.status,
        t.title,
        t.type,
        t.updatedAt,
        t.isDeleted,
      ],
    ],
  } satisfies TableDefinition<Todo>,
  todo_sessions: {
    columns: [
      ['todoId', 'text'],
      ['sessionId', 'text'],
      ['position', 'integer'],
    ],
    key: ['todoId', 'sessionId'],
    rows: (t: Todo) => t.coachingFormIds.map((sessionId, position) => [t._id, sessionId, position]),
  } satisfies TableDefinition<Todo>,
};

export type TableName = keyof typeof TABLE_DEFINITIONS;

/** Which points and to-dos were written already (a Set, or a stand-in that never has one). */
export interface IdSet {
  has(id: string): boolean;
  add(id: string): unknown;
}
export const TABLE_NAMES = Object.keys(TABLE_DEFINITIONS) as TableName[];

/** Column names per table, in file order (the CSV header). */
export const TABLES = Object.fromEntries(
  TABLE_NAMES.map((table) => [table, TABLE_DEFINITIONS[table].columns.map(([name]) => name)]),
) as Record<TableName, string[]>;

/**
 * The rows one batch of sessions contributes to every table. A point or to-do linked to several
 * sessions is one record with one link row per session, written the first time it is met:
 * `seen` carries the ids already written across batches.
 */
export function tableRows(
  sessions: Iterable<ExportSession>,
  seen = { points: new Set<string>(), todos: new Set<string>() },
): Record<TableName, Cell[][]> {
  const out = Object.fromEntries(TABLE_NAMES.map((t) => [t, []])) as unknown as Record<TableName, Cell[][]>;
  for (const s of sessions) forEachRow(s, seen, (table, row) => out[table].push(row));
  return out;
}

/**
 * The rows of one session, table by table, handed to `visit` as they are made (the rule of
 * `tableRows`, without gathering them): for a writer that turns each row into text at once.
 */
export function forEachRow(s: ExportSession, seen: { points: IdSet; todos: IdSet }, visit: (table: TableName, row: Cell[]) => void): void {
  const d = TABLE_DEFINITIONS;
  for (const row of d.sessions.rows(s)) visit('sessions', row);
  for (const row of d.activity_log.rows(s)) visit('activity_log', row);
  for (const p of s.coachingPoints) {
    if (seen.points.has(p._id)) continue;
    seen.points.add(p._id);
    for (const row of d.coaching_points.rows(p)) visit('coaching_points', row);
    for (const row of d.coaching_point_sessions.rows(p)) visit('coaching_point_sessions', row);
  }
  for (const t of s.todos) {
    if (seen.todos.has(t._id)) continue;
    seen.todos.add(t._id);
    for (const row of d.todos.rows(t)) visit('todos', row);
    for (const row of d.todo_sessions.rows(t)) visit('todo_sessions', row);
  }
}
