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

class ImportError extends Error {}

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

/** Remembers who said what about an id, so two documents that disagree are named together. */
class Agreement<T> {
  private readonly seen = new Map<string, { value: T; element: number; key: string }>();

  constructor(
    private readonly what: string,
    private readonly same: (a: T, b: T) => boolean,
  ) {}

  check(id: string, value: T, element: number, key: string): void {
    const earlier = this.seen.get(id);
    if (!earlier) {
      this.seen.set(id, { value, element, key });
    } else if (!this.same(earlier.value, value)) {
      throw new ImportError(
        `Element ${element}: ${key} disagrees with ${earlier.key} of element ${earlier.element} about ${this.what} ${JSON.stringify(id)}.`,
      );
    }
  }

  values(): T[] {
    return [...this.seen.values()].map((entry) => entry.value);
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

const sameJson = <T>(a: T, b: T) => JSON.stringify(a) === JSON.stringify(b);

function buildPlan(documents: ExportSession[]): ImportPlan {
  const sessionIds = new Map<string, number>();
  const users = new Agreement<ImportedUser>('user', (a, b) => a.name === b.name);
  const templates = new Agreement<TemplateRecord>('template', (a, b) => a.name === b.name);
  const points = new Agreement<PointRecord>('coaching point', sameJson);
  const todos = new Agreement<TodoRecord>('to-do', sameJson);
  const sessions: ImportPlan['sessions'] = [];

  documents.forEach((doc, element) => {
    const earlier = sessionIds.get(doc._id);
    if (earlier !== undefined) {
      throw new ImportError(`Element ${element}: _id ${JSON.stringify(doc._id)} is already used by element ${earlier}.`);
    }
    sessionIds.set(doc._id, element);
    // The given document stands for the one the import will store: what it lists is what that shows.
    const size = documentSize(doc, JSON.stringify(doc));
    const over = exceededLimit(size);
    if (over) throw new ImportError(`Element ${element}: ${describeLimit(doc._id, over, size)}`);
    users.check(doc.formCreatorId, { id: doc.formCreatorId, name: doc.formCreatorName, role: 'coach' }, element, 'formCreatorName');
    users.check(doc.coachId, { id: doc.coachId, name: doc.coachName, role: 'coach' }, element, 'coachName');
    users.check(doc.agentId, { id: doc.agentId, name: doc.agentName, role: 'agent' }, element, 'agentName');
    if (doc.coachingTemplateId !== null) {
      if (doc.coachingTemplateName === null) {
        throw new ImportError(`Element ${element}: coachingTemplateName is required when coachingTemplateId is set.`);
      }
      templates.check(
        doc.coachingTemplateId,
        { id: doc.coachingTemplateId, name: doc.coachingTemplateName },
        element,
        'coachingTemplateName',
      );
    } else if (doc.coachingTemplateName !== null) {
      throw new ImportError(`Element ${element}: coachingTemplateName is set but coachingTemplateId is null.`);
    }

    doc.coachingPoints.forEach((point, i) => {
      if (!point.coachingFormIds.includes(doc._id)) {
        throw new ImportError(`Element ${element}: coachingPoints[${i}].coachingFormIds does not name the session it is listed under.`);
      }
      points.check(point._id, pointRecord(point), element, `coachingPoints[${i}]`);
    });
    doc.todos.forEach((todo, i) => {
      if (!todo.coachingFormIds.includes(doc._id)) {
        throw new ImportError(`Element ${element}: todos[${i}].coachingFormIds does not name the session it is listed under.`);
      }
      if (todo.link !== null && !isWebLink(todo.link)) {
        throw new ImportError(`Element ${element} (_id ${JSON.stringify(doc._id)}): todos[${i}].link must be ${WEB_LINK_RULE}.`);
      }
      users.check(todo.creatorId, { id: todo.creatorId, name: todo.creatorName, role: 'coach' }, element, `todos[${i}].creatorName`);
      todos.check(todo._id, todoRecord(todo), element, `todos[${i}]`);
    });

    sessions.push({
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
  });

  return { users: users.values(), templates: templates.values(), sessions, points: points.values(), todos: todos.values() };
}

/**
 * Checks documents in the export's own shape and turns them into what the store writes.
 * The first problem rejects the whole import, named by element and field.
 */
export function planImport(value: unknown): PlanResult {
  const error = schemaError(value);
  if (error) return { ok: false, error };
  try {
    return { ok: true, plan: buildPlan(value as ExportSession[]) };
  } catch (err) {
    if (err instanceof ImportError) return { ok: false, error: err.message };
    throw err;
  }
}
