import { hash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { asBuffer } from '../bytes.js';
import { describeLimit, type DocumentSize, documentSize, exceededLimit, SESSION_LIMITS } from '../coaching/limits.js';
import { parseDateTime } from '../contract/dates.js';
import { describeValueError } from '../contract/describe-error.js';
import { isWebLink, WEB_LINK_RULE } from '../contract/links.js';
import type { EncodedDocument } from '../store/documents/rendered.js';
import { type IdLedger, MemoryLedger } from './id-ledger.js';
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
  /**
   * The documents of the plan's own sessions, already rendered where the plan was made (a streamed
   * import's reading thread, file-batches.ts); absent, the store renders them.
   */
  rendered?: EncodedDocument[];
  /**
   * The points and to-dos of this batch that an earlier batch of the same planner carried too (an
   * item listed under sessions of both), as its ledger found them: into tables that were empty, the
   * only items of the batch that can be stored already. Absent (a whole plan, `planImport`), any may be.
   */
  repeated?: { points: string[]; todos: string[] };
}

/** How many documents held half of a surrogate pair, and the first of them (see ImportPlanner.halfPairs). */
export interface HalfPairs {
  documents: number;
  first: string | null;
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
 * Remembers who said what about an id, so two documents that disagree are named together. For the
 * whole import the ledger keeps only the id and three numbers (a 48-bit fingerprint of the value,
 * the element and which field named it); the values themselves are kept for the current batch only
 * (`take`), so a streamed import holds one batch, not the file.
 */
class Agreement<T> {
  private batch = new Map<string, { value: T; print: number }>();
  /** Ids of the batch that an earlier batch named first. */
  private fromEarlier: string[] = [];

  constructor(
    private readonly what: string,
    private readonly kind: number,
    private readonly fingerprint: (value: T) => string,
    private readonly ledger: IdLedger,
    private readonly names: KeyNames,
    private readonly label: ElementLabel,
  ) {}

  check(id: string, value: T, element: number, key: string): void {
    // An id already in this batch was checked against the ledger when it joined it.
    const inBatch = this.batch.get(id);
    const print = fingerprintOf(this.fingerprint(value));
    if (inBatch?.print === print) return;
    const earlier = this.ledger.firstOrEarlier(this.kind, id, { print, element, key: this.names.code(key) });
    if (earlier && earlier.print !== print) {
      const where = `${this.names.name(earlier.key)} of ${lowerFirst(this.label(earlier.element))}`;
      throw new ImportError(`${this.label(element)}: ${key} disagrees with ${where} about ${this.what} ${JSON.stringify(id)}.`);
    }
    if (inBatch === undefined) {
      this.batch.set(id, { value, print });
      if (earlier) this.fromEarlier.push(id);
    }
  }

  /** Drops the batch's values: a rewind (the ledger forgets the ids themselves). */
  drop(): void {
    this.batch = new Map();
    this.fromEarlier = [];
  }

  /** The ids of the batch since the last take that an earlier batch named too; read before `take`. */
  get repeated(): string[] {
    return this.fromEarlier;
  }

  get count(): number {
    return this.ledger.count(this.kind);
  }

  /** The values the documents since the last take named (each once), for the batch they belong to. */
  take(): T[] {
    const values = Array.from(this.batch.values(), (entry) => entry.value);
    this.batch = new Map();
    this.fromEarlier = [];
    return values;
  }
}

/** The kinds of id an import's ledger holds. */
const SESSIONS = 0;
const POINTS = 1;
const TODOS = 2;
const USERS = 3;
const TEMPLATES = 4;

/** The field names agreements are reported by (`coachName`, `todos[3].creatorName`, …), each kept once, by number. */
class KeyNames {
  private readonly codes = new Map<string, number>();
  private readonly list: string[] = [];

  code(name: string): number {
    let code = this.codes.get(name);
    if (code === undefined) {
      code = this.list.push(name) - 1;
      this.codes.set(name, code);
    }
    return code;
  }

  name(code: number): string {
    return this.list[code] ?? '';
  }
}

/**
 * A number standing for `text`: two different values of one id share it with a chance of about one
 * in 2^48. Short texts (names) are hashed in JavaScript (cyrb53), which costs less than a call into
 * OpenSSL; longer ones (a point's or to-do's JSON) take 48 bits of SHA-1.
 */
function fingerprintOf(text: string): number {
  if (text.length > 64) return hash('sha1', text, 'buffer').readUIntLE(0, 6);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * PostgreSQL's text cannot hold the NUL character, and the coaching API refuses it: an import
 * refuses it in any store, by element, instead of failing on PostgreSQL at the database.
 */
export const NUL_REFUSAL = 'a text holds the NUL character (\\u0000), which Coachport does not store.';

/**
 * The `\u` escapes of JSON text that its texts are checked for, in one scan (most documents hold
 * none: JSON.stringify writes other characters as they are): a NUL character (`\u0000` after an
 * even number of backslashes), and maybe a surrogate (`\ud800`–`\udfff`, either case; the texts
 * are then walked, since a pair written as two escapes is whole).
 */
function escapesOf(json: Uint8Array): { nul: boolean; surrogate: boolean } {
  const bytes = asBuffer(json);
  let surrogate = false;
  for (let at = bytes.indexOf(UNICODE_ESCAPE); at >= 0; at = bytes.indexOf(UNICODE_ESCAPE, at + 2)) {
    if ((bytes[at + 2]! | 0x20) === 0x64) surrogate = true;
    else if (bytes.subarray(at + 2, at + 6).equals(NUL_DIGITS)) {
      let backslashes = 0;
      while (at - backslashes > 0 && bytes[at - backslashes - 1] === 0x5c) backslashes++;
      if (backslashes % 2 === 0) return { nul: true, surrogate };
    }
  }
  return { nul: false, surrogate };
}
const UNICODE_ESCAPE = Buffer.from('\\u');
const NUL_DIGITS = Buffer.from('0000');

/** A list of sessions an item is on names each once (a link is one row per item and session). */
function namesEachOnce(sessionIds: string[], field: string): void {
  if (sessionIds.length < 2 || new Set(sessionIds).size === sessionIds.length) return;
  const twice = sessionIds.find((id, i) => sessionIds.indexOf(id) !== i);
  throw new ImportError(`${field} names session ${JSON.stringify(twice)} more than once.`);
}

/** Whether any text of a parsed value passes `test` (a body already parsed: no JSON text to scan). */
function anyText(value: unknown, test: (text: string) => boolean): boolean {
  if (typeof value === 'string') return test(value);
  if (Array.isArray(value)) return value.some((item) => anyText(item, test));
  if (value !== null && typeof value === 'object') return Object.values(value).some((item) => anyText(item, test));
  return false;
}

const holdsNul = (text: string) => text.includes('\u0000');
const holdsHalfPair = (text: string) => !text.isWellFormed();

/** "2021-12-01T10:00:00.000Z" */
const STORED_INSTANT_BYTES = 24;

/** How many instants a document may hold (null ones included). */
const instantsOf = (doc: ExportSession) => 3 + 2 * doc.coachingPoints.length + 3 * doc.todos.length + doc.activityLog.length;

/** The document's size as stored: serialized, with every instant in the store's 24 bytes (valid instants are ASCII). */
function storedSize(doc: ExportSession): DocumentSize {
  const growth = (instant: string | null) => (instant === null ? 0 : STORED_INSTANT_BYTES - instant.length);
  let bytes = growth(doc.createdAt) + growth(doc.updatedAt) + growth(doc.meetingDate);
  for (const point of doc.coachingPoints) bytes += growth(point.createdAt) + growth(point.updatedAt);
  for (const todo of doc.todos) bytes += growth(todo.createdAt) + growth(todo.updatedAt) + growth(todo.completedAt);
  for (const entry of doc.activityLog) bytes += growth(entry.timestamp);
  const size = documentSize(doc, JSON.stringify(doc));
  return { ...size, documentBytes: size.documentBytes + bytes };
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

/**
 * Plans an import document by document: what the whole import must agree on (each session once,
 * one name per user and template, one content per point and to-do) is checked across every
 * document, and `take` hands out what the documents since the last take write. A point or to-do
 * listed under sessions of several batches is in each of them, whole, so every batch's sessions
 * show it and its links are written again, unchanged.
 */
export class ImportPlanner {
  private readonly names = new KeyNames();
  // People and templates are few and named by nearly every document: their ledgers stay in memory.
  private readonly userLedger = new MemoryLedger();
  private readonly templateLedger = new MemoryLedger();
  private readonly users: Agreement<ImportedUser>;
  private readonly templates: Agreement<TemplateRecord>;
  private readonly points: Agreement<PointRecord>;
  private readonly todos: Agreement<TodoRecord>;
  private sessions: ImportPlan['sessions'] = [];
  private halfPairNote: HalfPairs = { documents: 0, first: null };
  /** The note as it was at the last mark: a part fetched again is not counted twice. */
  private halfPairsAtMark: HalfPairs = { documents: 0, first: null };

  /**
   * `label`: how a refusal names a document. `ledger`: where the ids of sessions, points and to-dos
   * are remembered for the whole import.
   */
  constructor(
    private readonly label: ElementLabel = elementLabel,
    private readonly ledger: IdLedger = new MemoryLedger(),
  ) {
    this.users = new Agreement<ImportedUser>('user', USERS, (u) => u.name, this.userLedger, this.names, label);
    this.templates = new Agreement<TemplateRecord>('template', TEMPLATES, (t) => t.name, this.templateLedger, this.names, label);
    this.points = new Agreement<PointRecord>('coaching point', POINTS, JSON.stringify, ledger, this.names, label);
    this.todos = new Agreement<TodoRecord>('to-do', TODOS, JSON.stringify, ledger, this.names, label);
  }

  /** Checks one document (already in the export's shape) and adds it to the current batch. */
  private plan(doc: ExportSession, element: number, bytes?: number): void {
    const named = this.label(element);
    const earlier = this.ledger.firstOrEarlier(SESSIONS, doc._id, { print: 0, element, key: 0 });
    if (earlier) {
      throw new ImportError(`${named}: _id ${JSON.stringify(doc._id)} is already used by ${lowerFirst(this.label(earlier.element))}.`);
    }
    // The given document stands for the one the import will store: what it lists is what that shows.
    // The schema allows no numbers, so the document serialized again is never longer than its text in
    // the file, but for its instants, which the store writes in 24 bytes each (a file may leave out
    // the milliseconds): a text within the byte limit with 24 bytes more for each needs no second
    // serialization; another is measured as the store will write it.
    const size =
      bytes !== undefined && bytes + STORED_INSTANT_BYTES * instantsOf(doc) <= SESSION_LIMITS.documentBytes
        ? { ...documentSize(doc, ''), documentBytes: bytes }
        : storedSize(doc);
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
      namesEachOnce(point.coachingFormIds, `${named}: coachingPoints[${i}].coachingFormIds`);
      this.points.check(point._id, pointRecord(point), element, `coachingPoints[${i}]`);
    });
    doc.todos.forEach((todo, i) => {
      if (!todo.coachingFormIds.includes(doc._id)) {
        throw new ImportError(`${named}: todos[${i}].coachingFormIds does not name the session it is listed under.`);
      }
      namesEachOnce(todo.coachingFormIds, `${named}: todos[${i}].coachingFormIds`);
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

  /**
   * Adds element `element` of the import; answers the error that rejects the whole import, or null.
   * `bytes`: the document's length in the file, when known (see `plan`).
   */
  add(value: unknown, element: number, bytes?: number, text?: Uint8Array): string | null {
    // Check first: walking the schema for its errors costs several times more, and only a bad document needs them.
    if (!checkDocument.Check(value)) {
      const first = checkDocument.Errors(value).First();
      if (first) return `${this.label(element)}: ${describeValueError(first, 'The session')}`;
    }
    const escapes = text === undefined ? null : escapesOf(text);
    if (escapes?.nul) return `${this.label(element)}: ${NUL_REFUSAL}`;
    if (escapes?.surrogate && anyText(value, holdsHalfPair)) {
      this.halfPairNote.documents++;
      this.halfPairNote.first ??= this.label(element);
    }
    return this.addChecked(value as ExportSession, element, bytes);
  }

  addChecked(doc: ExportSession, element: number, bytes?: number): string | null {
    try {
      this.plan(doc, element, bytes);
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
    for (const ledger of [this.ledger, this.userLedger, this.templateLedger]) ledger.mark();
    this.halfPairsAtMark = { ...this.halfPairNote };
  }

  /**
   * Forgets everything added since the mark, so the part can be added again: its pending sessions
   * are dropped, and the ids it named may come again. The batches of it already taken must never
   * reach the store (from-server.ts holds a part's batches until it is whole).
   */
  rewind(): void {
    for (const ledger of [this.ledger, this.userLedger, this.templateLedger]) ledger.rewind();
    this.halfPairNote = { ...this.halfPairsAtMark };
    this.sessions = [];
    for (const agreement of [this.users, this.templates, this.points, this.todos]) agreement.drop();
  }

  take(): ImportPlan {
    const sessions = this.sessions;
    this.sessions = [];
    const repeated = { points: this.points.repeated, todos: this.todos.repeated };
    return {
      users: this.users.take(),
      templates: this.templates.take(),
      sessions,
      points: this.points.take(),
      todos: this.todos.take(),
      repeated,
    };
  }

  /**
   * Documents of a file or a server whose texts held half of a UTF-16 surrogate pair (a legacy
   * service that cut a text between the two halves of an emoji): UTF-8 cannot hold one, so both
   * databases store U+FFFD in its place, as the coaching API's writes do. Said after the import
   * (the first by its element), not refused: one such text would otherwise stop a whole migration.
   */
  halfPairs(): HalfPairs {
    return { ...this.halfPairNote };
  }

  /** What the whole import wrote, each user, template, point and to-do once. */
  counts(): ReturnType<typeof countsOf> {
    return {
      sessions: this.ledger.count(SESSIONS),
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
    if (anyText(doc, holdsNul)) return { ok: false, error: `${elementLabel(element)}: ${NUL_REFUSAL}` };
    const failed = planner.addChecked(doc, element);
    if (failed) return { ok: false, error: failed };
  }
  // A whole plan stands alone: it cannot know what another plan stored (ImportPlan.repeated).
  const { repeated: _alone, ...plan } = planner.take();
  return { ok: true, plan };
}
