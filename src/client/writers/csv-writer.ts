import fs from 'node:fs';
import path from 'node:path';
import type { ExportSession } from '../../contract/schemas.js';
import { FileSink } from './file-sink.js';
import type { ExportWriter } from './writer.js';

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

const csvRow = (values: Array<string | number | boolean | null>) => `${values.map(csvField).join(',')}\r\n`;

export const TABLES = {
  sessions: ['_id', 'coachingFormName', 'coachingTemplateId', 'coachingTemplateName', 'meetingFormat', 'formCreatorId', 'formCreatorName', 'coachName', 'coachId', 'agentId', 'agentName', 'createdAt', 'updatedAt', 'sharedWithAgent', 'meetingDate', 'agentConfirmed', 'coachConfirmed', 'coachNotes', 'agentNotes', 'isDeleted'],
  activity_log: ['sessionId', 'position', 'userId', 'userEmail', 'actionType', 'descriptions', 'timestamp', 'ipAddress'],
  coaching_points: ['_id', 'type', 'classification', 'ticketId', 'subject', 'rubricName', 'criteriaName', 'kpiName', 'score', 'agentNotes', 'coachNotes', 'createdAt', 'updatedAt', 'isDeleted'],
  coaching_point_sessions: ['coachingPointId', 'sessionId', 'position'],
  todos: ['_id', 'actionString', 'completedAt', 'createdAt', 'creatorId', 'creatorName', 'description', 'link', 'status', 'title', 'type', 'updatedAt', 'isDeleted'],
  todo_sessions: ['todoId', 'sessionId', 'position'],
} as const;

type Table = keyof typeof TABLES;

/** The first field of every record after the header, for rebuilding which ids were written. */
export function firstColumn(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const ids: string[] = [];
  let i = text.indexOf('\r\n') + 2;
  while (i > 1 && i < text.length) {
    let id = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        id += text.slice(i, quote);
        i = quote + 1;
        if (text[i] === '"') {
          id += '"';
          i++;
        } else break;
      }
    } else {
      const end = text.slice(i).search(/[,\r]/);
      id = text.slice(i, i + end);
      i += end;
    }
    ids.push(id);
    // Skip the rest of the record, minding quoted fields that hold line breaks.
    let quoted = false;
    for (; i < text.length; i++) {
      if (text[i] === '"') quoted = !quoted;
      else if (!quoted && text[i] === '\r' && text[i + 1] === '\n') {
        i += 2;
        break;
      }
    }
  }
  return ids;
}

/**
 * A folder of tables, one row per record keyed by `_id`; a point or to-do linked to several
 * sessions is written once, with one link row per session.
 */
export class CsvWriter implements ExportWriter {
  private readonly sinks: Record<Table, FileSink>;
  private readonly writtenPoints = new Set<string>();
  private readonly writtenTodos = new Set<string>();

  constructor(private readonly dir: string, resume: Record<string, number> | null) {
    fs.mkdirSync(dir, { recursive: true });
    const sinks = {} as Record<Table, FileSink>;
    for (const [table, columns] of Object.entries(TABLES) as Array<[Table, readonly string[]]>) {
      const file = this.fileOf(table);
      const at = resume ? (resume[file] ?? null) : null;
      sinks[table] = new FileSink(file, at);
      if (at === null) {
        sinks[table].write(csvRow([...columns]));
        sinks[table].commit();
      }
    }
    this.sinks = sinks;
    if (resume) {
      for (const id of firstColumn(this.fileOf('coaching_points'))) this.writtenPoints.add(id);
      for (const id of firstColumn(this.fileOf('todos'))) this.writtenTodos.add(id);
    }
  }

  fileOf(table: Table): string {
    return path.join(this.dir, `${table}.csv`);
  }

  write(s: ExportSession): void {
    this.sinks.sessions.write(csvRow([s._id, s.coachingFormName, s.coachingTemplateId, s.coachingTemplateName, s.meetingFormat, s.formCreatorId, s.formCreatorName, s.coachName, s.coachId, s.agentId, s.agentName, s.createdAt, s.updatedAt, s.sharedWithAgent, s.meetingDate, s.agentConfirmed, s.coachConfirmed, s.coachNotes, s.agentNotes, s.isDeleted]));
    s.activityLog.forEach((e, position) => {
      this.sinks.activity_log.write(csvRow([s._id, position, e.userId, e.userEmail, e.actionType, JSON.stringify(e.descriptions), e.timestamp, e.ipAddress]));
    });
    for (const p of s.coachingPoints) {
      if (this.writtenPoints.has(p._id)) continue;
      this.writtenPoints.add(p._id);
      this.sinks.coaching_points.write(csvRow([p._id, p.type, p.classification, p.ticketId, p.subject, p.rubricName, p.criteriaName, p.kpiName, p.score, p.agentNotes, p.coachNotes, p.createdAt, p.updatedAt, p.isDeleted]));
      p.coachingFormIds.forEach((sessionId, position) => this.sinks.coaching_point_sessions.write(csvRow([p._id, sessionId, position])));
    }
    for (const t of s.todos) {
      if (this.writtenTodos.has(t._id)) continue;
      this.writtenTodos.add(t._id);
      this.sinks.todos.write(csvRow([t._id, t.actionString, t.completedAt, t.createdAt, t.creatorId, t.creatorName, t.description, t.link, t.status, t.title, t.type, t.updatedAt, t.isDeleted]));
      t.coachingFormIds.forEach((sessionId, position) => this.sinks.todo_sessions.write(csvRow([t._id, sessionId, position])));
    }
  }

  commit(): Record<string, number> {
    return Object.fromEntries(Object.values(this.sinks).map((sink) => [sink.path, sink.commit()]));
  }

  finish({ interrupted }: { interrupted: boolean }): void {
    for (const sink of Object.values(this.sinks)) {
      if (interrupted) sink.rollback();
      sink.close();
    }
  }
}
