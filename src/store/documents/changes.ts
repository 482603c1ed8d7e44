import type { LogEntryRecord, PointRecord, SessionRecord, TodoRecord } from '../../coaching/records.js';

/**
 * What one coaching transaction wrote, as records: enough to edit the stored documents of the
 * sessions it touched (documents/spliced.ts) instead of reading those sessions back whole. Each
 * record is copied as saved, and a record saved twice keeps its last state, as the tables do.
 */
export class CoachingChanges {
  /** Sessions saved, as they now stand. */
  readonly sessions = new Map<string, SessionRecord>();
  /** Sessions inserted by this transaction: they have no stored document to edit. */
  readonly created = new Set<string>();
  /** Log entries appended per session, in the order they were appended (the order of their seq). */
  readonly log = new Map<string, LogEntryRecord[]>();
  /** Points and to-dos saved, as they now stand (their links included). */
  readonly points = new Map<string, PointRecord>();
  readonly todos = new Map<string, TodoRecord>();

  session(session: SessionRecord, isNew: boolean): void {
    this.sessions.set(session.id, { ...session });
    if (isNew) this.created.add(session.id);
  }

  appended(sessionId: string, entry: LogEntryRecord): void {
    const copy = { ...entry, descriptions: [...entry.descriptions] };
    const list = this.log.get(sessionId);
    if (list) list.push(copy);
    else this.log.set(sessionId, [copy]);
  }

  point(point: PointRecord): void {
    this.points.set(point.id, { ...point, sessionIds: [...point.sessionIds] });
  }

  todo(todo: TodoRecord): void {
    this.todos.set(todo.id, { ...todo, sessionIds: [...todo.sessionIds] });
  }
}
