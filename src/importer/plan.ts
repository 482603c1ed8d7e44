import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { describeLimit, documentSize, exceededLimit } from '../coaching/limits.js';
import { parseDateTime } from '../contract/dates.js';
import { describeValueError } from '../contract/describe-error.js';
import { isWebLink, WEB_LINK_RULE } from '../contract/links.js';
import { ExportSessionSchema, type ExportSession } from '../contract/schemas.js';
import type { LogEntryRecord, PointRecord, SessionRecord, TemplateRecord, TodoRecord, UserRecord } from '../coaching/records.js';

/** A person an import names: who they are and the role their place in the sessions implies. */
type ImportedUser = Pick<UserRecord, 'id' | 'name' | 'role'>;

/** What an import writes, already checked; the store applies it in one transaction. */
export interface ImportPlan {
  users: ImportedUser[];
  templates: TemplateRecord[];
  sessions: Array<{ session: SessionRecord; log: LogEntryRecord[]; pointIds: string[]; todoIds: string[] }>;
  points: PointRecord[];
  todos: TodoRecord[];
}

export function countsOf(plan: ImportPlan) {
  return {
    sessions: plan.sessions.length,
    coachingPoints: plan.points.length,
    todos: plan.todos.length,
    users: plan.users.length,
    templates: plan.templates.length,
  };
}

export type PlanResult = { ok: true; plan: ImportPlan } | { ok: false; error: string };

const checkDocuments = TypeCompiler.Compile(Type.Array(ExportSessionSchema));
const checkDocument = TypeCompiler.Compile(ExportSessionSchema);

class ImportError extends Error {}

/** How a document is named in a refusal, at the start of a sentence: "Element 3" by default. */
export type ElementLabel = (element: number) => string;

const elementLabel: ElementLabel = (element) => `Element ${element}`;

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function ms(value: string): number {
  const parsed = parseDateTime(value);
  // The schema has already checked every date; this only narrows the type.
  if (parsed === null) throw new ImportError(`Invalid date-time ${value}.`);
  return parsed;
}

function msOrNull(value: string | null): number | null {
  return value === null ? null : ms(value);
}

function schemaError(value: unknown): string | null {
  if (!Array.isArray(value)) return 'The import must be a JSON array of coaching sessions in the export format.';
  const first = checkDocuments.Errors(value).First();
  if (!first) return null;
  const [, index = '', ...rest] = first.path.split('/');
  const inner = { ...first, path: rest.length ? `/${rest.join('/')}` : '' };
  return `Element ${index}: ${describeValueError(inner, 'The session')}`;
}

/**
 * Remembers who said what about an id, so two documents that disagree are named together. Only a
 * fingerprint of each value is kept for the whole import; the values themselves are kept for the
 * current batch (`take`), so a streamed import holds one batch, not the file.
 */
class Agreement<T> {
  private readonly seen = new Map<string, { print: string; element: number; key: string }>();
  private batch = new Map<string, T>();
  /** Ids first seen since the last mark, forgotten again by a rewind. */
  private fresh: string[] = [];

  constructor(
    private readonly what: string,
    private readonly fingerprint: (value: T) => string,
    private readonly label: ElementLabel,
  ) {}

  check(id: string, value: T, element: number, key: string): void {
    const earlier = this.seen.get(id);
    const print = this.fingerprint(value);
    if (!earlier) {
      this.seen.set(id, { print, element, key });
      this.fresh.push(id);
    } else if (earlier.print !== print) {
      const other = lowerFirst(this.label(earlier.element));
      throw new ImportError(
        `${this.label(element)}: ${key} disagrees with ${earlier.key} of ${other} about ${this.what} ${JSON.stringify(id)}.`,
      );
    }
    if (!this.batch.has(id)) this.batch.set(id, value);
  }

  mark(): void {
    this.fresh = [];
  }

  rewind(): void {
    for (const id of this.fresh) this.seen.delete(id);
    this.fresh = [];
    this.batch = new Map();
  }

  get count(): number {
    return this.seen.size;
  }

  /** The values the documents since the last take named (each once), for the batch they belong to. */
  take(): T[] {
    const values = [...this.batch.values()];
    this.batch = new Map();
    return values;
  }
}

function pointRecord(point: ExportSession['coachingPoints'][number]): PointRecord {
  return {
    id: point._id,
    sessionIds: point.coachingFormIds,
    type: point.type,
    classification: point.classification,
    ticketId: point.ticketId,
    subject: point.subject,
    rubricName: point.rubricName,
    criteriaName: point.criteriaName,
    kpiName: point.kpiName,
    score: point.score,
    agentNotes: point.agentNotes,
    coachNotes: point.coachNotes,
    createdAt: ms(point.createdAt),
    updatedAt: ms(point.updatedAt),
    isDeleted: point.isDeleted,
  };
}

function todoRecord(todo: ExportSession['todos'][number]): TodoRecord {
  return {
    id: todo._id,
    sessionIds: todo.coachingFormIds,
    actionString: todo.actionString,
    completedAt: msOrNull(todo.completedAt),
    createdAt: ms(todo.createdAt),
    creatorId: todo.creatorId,
    description: todo.description,
    link: todo.link,
    status: todo.status,
    title: todo.title,
    type: todo.type,
    updatedAt: ms(todo.updatedAt),
    isDeleted: todo.isDeleted,
  };
}

const fingerprint = (value: unknown) => createHash('sha1').update(JSON.stringify(value)).digest('base64');

/**
 * Plans an import document by document: what the whole import must agree on (each session once,
 * one name per user and template, one content per point and to-do) is checked across every
 * document, and `take` hands out what the documents since the last take write. A point or to-do
 * listed under sessions of several batches is in each of them, whole, so every batch's sessions
 * show it and its links are written again, unchanged.
 */
export class ImportPlanner {
  private readonly sessionIds = new Map<string, number>();
  private readonly users: Agreement<ImportedUser>;
  private readonly templates: Agreement<TemplateRecord>;
  private readonly points: Agreement<PointRecord>;
  private readonly todos: Agreement<TodoRecord>;
  private sessions: ImportPlan['sessions'] = [];
  /** Sessions added since the last mark. */
  private freshSessions: string[] = [];

  constructor(private readonly label: ElementLabel = elementLabel) {
    this.users = new Agreement<ImportedUser>('user', (u) => u.name, label);
    this.templates = new Agreement<TemplateRecord>('template', (t) => t.name, label);
    this.points = new Agreement<PointRecord>('coaching point', fingerprint, label);
    this.todos = new Agreement<TodoRecord>('to-do', fingerprint, label);
  }

  /** Checks one document (already in the export's shape) and adds it to the current batch. */
  private plan(doc: ExportSession, element: number): void {
    const earlier = this.sessionIds.get(doc._id);
    const named = this.label(element);
    if (earlier !== undefined) {
      throw new ImportError(`${named}: _id ${JSON.stringify(doc._id)} is already used by ${lowerFirst(this.label(earlier))}.`);
    }
    this.sessionIds.set(doc._id, element);
    this.freshSessions.push(doc._id);
    // The given document stands for the one the import will store: what it lists is what that shows.
    const size = documentSize(doc, JSON.stringify(doc));
    const over = exceededLimit(size);
    if (over) throw new ImportError(`${named}: ${describeLimit(doc._id, over, size)}`);
    this.users.check(doc.formCreatorId, { id: doc.formCreatorId, name: doc.formCreatorName, role: 'coach' }, element, 'formCreatorName');
    this.users.check(doc.coachId, { id: doc.coachId, name: doc.coachName, role: 'coach' }, element, 'coachName');
    this.users.check(doc.agentId, { id: doc.agentId, name: doc.agentName, role: 'agent' }, element, 'agentName');
    if (doc.coachingTemplateId !== null) {
      if (doc.coachingTemplateName === null) {
        throw new ImportError(`${named}: coachingTemplateName is required when coachingTemplateId is set.`);
      }
      this.templates.check(
        doc.coachingTemplateId,
        { id: doc.coachingTemplateId, name: doc.coachingTemplateName },
        element,
        'coachingTemplateName',
      );
    } else if (doc.coachingTemplateName !== null) {
      throw new ImportError(`${named}: coachingTemplateName is set but coachingTemplateId is null.`);
    }

    doc.coachingPoints.forEach((point, i) => {
      if (!point.coachingFormIds.includes(doc._id)) {
        throw new ImportError(`${named}: coachingPoints[${i}].coachingFormIds does not name the session it is listed under.`);
      }
      this.points.check(point._id, pointRecord(point), element, `coachingPoints[${i}]`);
    });
    doc.todos.forEach((todo, i) => {
      if (!todo.coachingFormIds.includes(doc._id)) {
        throw new ImportError(`${named}: todos[${i}].coachingFormIds does not name the session it is listed under.`);
      }
      if (todo.link !== null && !isWebLink(todo.link)) {
        throw new ImportError(`${named} (_id ${JSON.stringify(doc._id)}): todos[${i}].link must be ${WEB_LINK_RULE}.`);
      }
      this.users.check(todo.creatorId, { id: todo.creatorId, name: todo.creatorName, role: 'coach' }, element, `todos[${i}].creatorName`);
      this.todos.check(todo._id, todoRecord(todo), element, `todos[${i}]`);
    });

    this.sessions.push({
      session: {
        id: doc._id,
        coachingFormName: doc.coachingFormName,
        templateId: doc.coachingTemplateId,
        meetingFormat: doc.meetingFormat,
        formCreatorId: doc.formCreatorId,
        coachId: doc.coachId,
        agentId: doc.agentId,
        createdAt: ms(doc.createdAt),
        updatedAt: ms(doc.updatedAt),
        meetingDate: msOrNull(doc.meetingDate),
        sharedWithAgent: doc.sharedWithAgent,
        agentConfirmed: doc.agentConfirmed,
        coachConfirmed: doc.coachConfirmed,
        coachNotes: doc.coachNotes,
        agentNotes: doc.agentNotes,
        isDeleted: doc.isDeleted,
      },
      log: doc.activityLog.map((entry) => ({
        userId: entry.userId,
        userEmail: entry.userEmail,
        actionType: entry.actionType,
        descriptions: entry.descriptions,
        timestamp: ms(entry.timestamp),
        ipAddress: entry.ipAddress,
      })),
      pointIds: doc.coachingPoints.map((point) => point._id),
      todoIds: doc.todos.map((todo) => todo._id),
    });
  }

  /** Adds element `element` of the import; answers the error that rejects the whole import, or null. */
  add(value: unknown, element: number): string | null {
    const first = checkDocument.Errors(value).First();
    if (first) return `${this.label(element)}: ${describeValueError(first, 'The session')}`;
    return this.addChecked(value as ExportSession, element);
  }

  addChecked(doc: ExportSession, element: number): string | null {
    try {
      this.plan(doc, element);
      return null;
    } catch (err) {
      if (err instanceof ImportError) return err.message;
      throw err;
    }
  }

  /** Sessions in the current batch. */
  get pending(): number {
    return this.sessions.length;
  }

  /**
   * Marks the start of a part that may be sent again whole (a window of a server's export that can
   * be cut short and fetched again). Call it with no session pending: take the batch first.
   */
  mark(): void {
    if (this.sessions.length > 0) throw new Error('mark() with sessions pending: take() them first.');
    this.freshSessions = [];
    for (const agreement of [this.users, this.templates, this.points, this.todos]) agreement.mark();
  }

  /**
   * Forgets everything added since the mark, so the part can be added again: its pending sessions
   * are dropped, and the ids it named may come again (what batches of it were already taken is
   * written again by the batches of the new attempt, an upsert of the same rows).
   */
  rewind(): void {
    for (const id of this.freshSessions) this.sessionIds.delete(id);
    this.freshSessions = [];
    this.sessions = [];
    for (const agreement of [this.users, this.templates, this.points, this.todos]) agreement.rewind();
  }

  take(): ImportPlan {
    const sessions = this.sessions;
    this.sessions = [];
    return { users: this.users.take(), templates: this.templates.take(), sessions, points: this.points.take(), todos: this.todos.take() };
  }

  /** What the whole import wrote, each user, template, point and to-do once. */
  counts(): ReturnType<typeof countsOf> {
    return {
      sessions: this.sessionIds.size,
      coachingPoints: this.points.count,
      todos: this.todos.count,
      users: this.users.count,
      templates: this.templates.count,
    };
  }
}

/**
 * Checks documents in the export's own shape and turns them into what the store writes.
 * The first problem rejects the whole import, named by element and field.
 */
export function planImport(value: unknown): PlanResult {
  const error = schemaError(value);
  if (error) return { ok: false, error };
  const planner = new ImportPlanner();
  for (const [element, doc] of (value as ExportSession[]).entries()) {
    const failed = planner.addChecked(doc, element);
    if (failed) return { ok: false, error: failed };
  }
  return { ok: true, plan: planner.take() };
}
