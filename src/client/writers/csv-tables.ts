import type { ExportSession } from '../../contract/schemas.js';

/**
 * The CSV tables' definitions and rows, free of Node's file system so the web console builds the
 * same files in the browser as `coachport export --format csv` writes to disk.
 */

/**
 * RFC 4180 fields: quoted when they hold a comma, quote, CR or LF, and an empty string is written
 * quoted ("") while null is written as nothing, so `COPY … WITH (FORMAT csv)` loads null as NULL
 * and "" as an empty string. Records end in CRLF.
 */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  const text = String(value);
  return text === '' || /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvRow = (values: ReadonlyArray<string | number | boolean | null>) => `${values.map(csvField).join(',')}\r\n`;

export const TABLES = {
  sessions: ['_id', 'coachingFormName', 'coachingTemplateId', 'coachingTemplateName', 'meetingFormat', 'formCreatorId', 'formCreatorName', 'coachName', 'coachId', 'agentId', 'agentName', 'createdAt', 'updatedAt', 'sharedWithAgent', 'meetingDate', 'agentConfirmed', 'coachConfirmed', 'coachNotes', 'agentNotes', 'isDeleted'],
  activity_log: ['sessionId', 'position', 'userId', 'userEmail', 'actionType', 'descriptions', 'timestamp', 'ipAddress'],
  coaching_points: ['_id', 'type', 'classification', 'ticketId', 'subject', 'rubricName', 'criteriaName', 'kpiName', 'score', 'agentNotes', 'coachNotes', 'createdAt', 'updatedAt', 'isDeleted'],
  coaching_point_sessions: ['coachingPointId', 'sessionId', 'position'],
  todos: ['_id', 'actionString', 'completedAt', 'createdAt', 'creatorId', 'creatorName', 'description', 'link', 'status', 'title', 'type', 'updatedAt', 'isDeleted'],
  todo_sessions: ['todoId', 'sessionId', 'position'],
} as const;

export type Table = keyof typeof TABLES;
export type CsvRecord = [Table, Array<string | number | boolean | null>];

/**
 * The records one session adds to the tables; a point or to-do already in `seen` (written under an
 * earlier session it is linked to) is left out, so each is written once with one link row per session.
 */
export function* sessionRecords(s: ExportSession, seen: { points: Set<string>; todos: Set<string> }): Generator<CsvRecord> {
  yield ['sessions', [s._id, s.coachingFormName, s.coachingTemplateId, s.coachingTemplateName, s.meetingFormat, s.formCreatorId, s.formCreatorName, s.coachName, s.coachId, s.agentId, s.agentName, s.createdAt, s.updatedAt, s.sharedWithAgent, s.meetingDate, s.agentConfirmed, s.coachConfirmed, s.coachNotes, s.agentNotes, s.isDeleted]];
  for (const [position, e] of s.activityLog.entries()) {
    yield ['activity_log', [s._id, position, e.userId, e.userEmail, e.actionType, JSON.stringify(e.descriptions), e.timestamp, e.ipAddress]];
  }
  for (const p of s.coachingPoints) {
    if (seen.points.has(p._id)) continue;
    seen.points.add(p._id);
    yield ['coaching_points', [p._id, p.type, p.classification, p.ticketId, p.subject, p.rubricName, p.criteriaName, p.kpiName, p.score, p.agentNotes, p.coachNotes, p.createdAt, p.updatedAt, p.isDeleted]];
    for (const [position, sessionId] of p.coachingFormIds.entries()) yield ['coaching_point_sessions', [p._id, sessionId, position]];
  }
  for (const t of s.todos) {
    if (seen.todos.has(t._id)) continue;
    seen.todos.add(t._id);
    yield ['todos', [t._id, t.actionString, t.completedAt, t.createdAt, t.creatorId, t.creatorName, t.description, t.link, t.status, t.title, t.type, t.updatedAt, t.isDeleted]];
    for (const [position, sessionId] of t.coachingFormIds.entries()) yield ['todo_sessions', [t._id, sessionId, position]];
  }
}
