import type { SessionAction } from '../events/event-types.js';
import type { CreateSessionBody, UpdateSessionBody } from '../contract/coaching-schemas.js';
import { parseDateTime } from '../contract/dates.js';
import type { ExportSession } from '../contract/schemas.js';
import { newId } from '../ids.js';
import type { CoachingTx, Store } from '../store/store.js';
import type { Actor } from './actor.js';
import { sessionAsReadBy } from './agent-view.js';
import { describeChanges } from './describe-changes.js';
import { DomainError, forbidden, invalid, notFound } from './errors.js';
import { logDocument, sessionDocument } from './documents.js';
import { logEntry } from './log-entry.js';
import { reassignAgent } from './reassignment.js';
import { AGENT_WRITABLE, canManage, canRead, isSharedAgent } from './permissions.js';
import type { SessionRecord, TemplateRecord, UserRecord } from './records.js';

/** Each operation runs in one transaction with its log entry, then answers in the export's shape. */

async function answer(store: Store, actor: Actor, id: string): Promise<ExportSession> {
  const doc = await store.readSession(actor.orgId, id);
  if (!doc) throw notFound('coaching session', id);
  return sessionAsReadBy(actor.user, doc);
}

export function dateOrNull(value: string | null | undefined, field: string): number | null {
  if (value === null || value === undefined) return null;
  const ms = parseDateTime(value);
  if (ms === null) throw invalid(`${field} must be an ISO 8601 date-time.`);
  return ms;
}

/** The people and template a session names, checked to exist and to fit their part. */
async function checkPeople(tx: CoachingTx, fields: { coachId?: string; agentId?: string; coachingTemplateId?: string | null }) {
  let coach: UserRecord | null = null;
  let agent: UserRecord | null = null;
  let template: TemplateRecord | null = null;
  if (fields.coachId !== undefined) {
    coach = await tx.getUser(fields.coachId);
    if (!coach) throw notFound('user', fields.coachId);
    if (coach.role === 'agent') throw invalid(`coachId must name a coach or an admin, and ${coach.name} is an agent.`);
  }
  if (fields.agentId !== undefined) {
    agent = await tx.getUser(fields.agentId);
    if (!agent) throw notFound('user', fields.agentId);
    if (agent.role !== 'agent') throw invalid(`agentId must name an agent, and ${agent.name} is a ${agent.role}.`);
  }
  if (fields.coachingTemplateId) {
    template = await tx.getTemplate(fields.coachingTemplateId);
    if (!template) throw notFound('coaching template', fields.coachingTemplateId);
  }
  return { coach, agent, template };
}

/** The session, if the actor may see it at all; otherwise it does not exist for them. */
export async function visibleSession(tx: CoachingTx, actor: Actor, id: string): Promise<SessionRecord> {
  const session = await tx.getSession(id);
  if (!session || !canRead(actor.user, session)) throw notFound('coaching session', id);
  return session;
}

function manageable(actor: Actor, session: SessionRecord): void {
  if (!canManage(actor.user, session)) {
    throw forbidden('Only an admin, or the coach who coaches or created this session, can do that.');
  }
}

function notDeleted(session: SessionRecord): void {
  if (session.isDeleted) throw new DomainError('conflict', `Coaching session ${JSON.stringify(session.id)} has been deleted.`);
}

/** A new session is answered from what was just written: it has no points or to-dos yet. */
export async function createSession(store: Store, actor: Actor, input: CreateSessionBody, now: number): Promise<ExportSession> {
  if (actor.user.role === 'agent') throw forbidden('Only admins and coaches can create coaching sessions.');
  const id = newId(now);
  return store.coaching(actor.orgId, async (tx) => {
    const coachId = input.coachId ?? actor.user.id;
    const { coach, agent, template } = await checkPeople(tx, {
      coachId,
      agentId: input.agentId,
      coachingTemplateId: input.coachingTemplateId ?? null,
    });
    const session: SessionRecord = {
      id,
      coachingFormName: input.coachingFormName,
      templateId: input.coachingTemplateId ?? null,
      meetingFormat: input.meetingFormat ?? null,
      formCreatorId: actor.user.id,
      coachId,
      agentId: input.agentId,
      createdAt: now,
      updatedAt: now,
      meetingDate: dateOrNull(input.meetingDate, 'meetingDate'),
      sharedWithAgent: false,
      agentConfirmed: false,
      coachConfirmed: false,
      coachNotes: input.coachNotes ?? null,
      agentNotes: input.agentNotes ?? null,
      isDeleted: false,
    };
    const entry = logEntry(actor, 'created', [`session "${session.coachingFormName}" created`], now);
    await tx.saveSession(session, true);
    await tx.appendLog(id, entry);
    // The creator's name as this transaction sees it (a rename may have committed since sign-in).
    const creatorName = coachId === actor.user.id ? coach!.name : ((await tx.getUser(actor.user.id))?.name ?? actor.user.name);
    const names = { formCreatorName: creatorName, coachName: coach!.name, agentName: agent!.name, templateName: template?.name ?? null };
    const document = sessionDocument(session, names, { activityLog: [logDocument(entry)], coachingPoints: [], todos: [] });
    tx.renderedSession(document);
    return document;
  });
}

/** A plain read: no transaction, no lock. */
export async function getSession(store: Store, actor: Actor, id: string): Promise<ExportSession> {
  const doc = await store.readSession(actor.orgId, id);
  if (!doc || !canRead(actor.user, doc)) throw notFound('coaching session', id);
  return sessionAsReadBy(actor.user, doc);
}

const PATCH_FIELDS: Record<keyof UpdateSessionBody, keyof SessionRecord> = {
  coachingFormName: 'coachingFormName',
  coachingTemplateId: 'templateId',
  meetingFormat: 'meetingFormat',
  meetingDate: 'meetingDate',
  coachNotes: 'coachNotes',
  agentNotes: 'agentNotes',
  coachId: 'coachId',
  agentId: 'agentId',
};

export async function updateSession(store: Store, actor: Actor, id: string, patch: UpdateSessionBody, now: number): Promise<ExportSession> {
  await store.coaching(actor.orgId, async (tx) => {
    const before = await visibleSession(tx, actor, id);
    const fields = Object.keys(patch) as Array<keyof UpdateSessionBody>;
    if (!canManage(actor.user, before)) {
      const refused = fields.filter((field) => !AGENT_WRITABLE.has(field));
      if (!isSharedAgent(actor.user, before) || refused.length > 0) {
        throw forbidden(`As the agent of this session you can change only agentNotes, not ${refused.join(', ')}.`);
      }
    }
    notDeleted(before);
    await checkPeople(tx, { coachId: patch.coachId, agentId: patch.agentId, coachingTemplateId: patch.coachingTemplateId });
    const after: SessionRecord = { ...before };
    for (const field of fields) {
      const value = field === 'meetingDate' ? dateOrNull(patch.meetingDate, 'meetingDate') : patch[field];
      (after as unknown as Record<string, unknown>)[PATCH_FIELDS[field]] = value;
    }
    const reset = await reassignAgent(tx, before, after);
    const descriptions = describeChanges(before, after, [...fields.map((f) => PATCH_FIELDS[f]), ...reset], {
      dates: ['meetingDate'],
      names: { templateId: 'coachingTemplateId' },
    });
    if (descriptions.length === 0) return;
    after.updatedAt = now;
    await tx.saveSession(after, false);
    await tx.appendLog(id, logEntry(actor, 'updated', descriptions, now));
  });
  return answer(store, actor, id);
}

/** One of the lifecycle steps that flips a flag and says so in the log; repeating it changes nothing. */
async function step(
  store: Store,
  actor: Actor,
  id: string,
  now: number,
  decide: (session: SessionRecord) => {
    field: 'isDeleted' | 'sharedWithAgent' | 'coachConfirmed' | 'agentConfirmed';
    actionType: SessionAction;
    description: string;
  },
): Promise<ExportSession> {
  await store.coaching(actor.orgId, async (tx) => {
    const session = await visibleSession(tx, actor, id);
    const { field, actionType, description } = decide(session);
    if (session[field]) return;
    await tx.saveSession({ ...session, [field]: true, updatedAt: now }, false);
    await tx.appendLog(id, logEntry(actor, actionType, [description], now));
  });
  return answer(store, actor, id);
}

export function deleteSession(store: Store, actor: Actor, id: string, now: number): Promise<ExportSession> {
  return step(store, actor, id, now, (session) => {
    manageable(actor, session);
    return { field: 'isDeleted', actionType: 'deleted', description: 'session deleted' };
  });
}

export function shareSession(store: Store, actor: Actor, id: string, now: number): Promise<ExportSession> {
  return step(store, actor, id, now, (session) => {
    manageable(actor, session);
    notDeleted(session);
    return { field: 'sharedWithAgent', actionType: 'shared', description: 'session shared with the agent' };
  });
}

/** Confirms as whoever calls: the session's coach confirms for the coach, its agent for the agent. */
export function confirmSession(store: Store, actor: Actor, id: string, now: number): Promise<ExportSession> {
  return step(store, actor, id, now, (session) => {
    notDeleted(session);
    if (actor.user.id === session.coachId) {
      return { field: 'coachConfirmed', actionType: 'coach_confirmed', description: 'coach confirmed the session' };
    }
    if (isSharedAgent(actor.user, session)) {
      return { field: 'agentConfirmed', actionType: 'agent_confirmed', description: 'agent confirmed the session' };
    }
    throw forbidden('Only the coach or the agent of this session can confirm it.');
  });
}
