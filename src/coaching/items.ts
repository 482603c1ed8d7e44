import type { SessionAction } from '../events/event-types.js';
import type { CreatePointBody, CreateTodoBody, UpdatePointBody, UpdateTodoBody } from '../contract/coaching-schemas.js';
import { isWebLink, WEB_LINK_RULE } from '../contract/links.js';
import type { CoachingPoint, Todo } from '../contract/schemas.js';
import { newId } from '../ids.js';
import type { CoachingTx, Store } from '../store/store.js';
import type { Actor } from './actor.js';
import { describeChanges } from './describe-changes.js';
import { DomainError, forbidden, invalid, notFound } from './errors.js';
import { pointDocument, todoDocument } from './documents.js';
import { logEntry } from './log-entry.js';
import { AGENT_WRITABLE, canManage, canRead, isSharedAgent } from './permissions.js';
import type { PointRecord, SessionRecord, TodoRecord } from './records.js';

/**
 * Coaching points and to-dos: each belongs to one or more sessions, and every change to one is
 * told in the log of each session it is, or was, linked to, in the same transaction.
 */

type Item = PointRecord | TodoRecord;

/** Every named session must exist, be visible, be manageable by the actor and not be deleted. */
async function linkableSessions(tx: CoachingTx, actor: Actor, ids: string[]): Promise<SessionRecord[]> {
  const sessions = await tx.getSessions(ids);
  const found = new Map(sessions.map((s) => [s.id, s]));
  for (const id of ids) {
    const session = found.get(id);
    if (!session || !canRead(actor.user, session)) throw notFound('coaching session', id);
    if (!canManage(actor.user, session))
      throw forbidden(`Only an admin or the session's coach can add to coaching session ${JSON.stringify(id)}.`);
    if (session.isDeleted) throw new DomainError('conflict', `Coaching session ${JSON.stringify(id)} has been deleted.`);
  }
  return sessions;
}

/**
 * The item's sessions as far as the actor can see them; an item on none of them does not exist for
 * them. `relinking` names the sessions a change is about to link: they are locked now, together with the
 * current ones and in id order, so two changes that relink across the same sessions cannot each
 * hold one and wait for the other.
 */
async function visibleItem<T extends Item>(
  tx: CoachingTx,
  actor: Actor,
  item: T | null,
  what: string,
  id: string,
  relinking: string[] = [],
) {
  if (!item) throw notFound(what, id);
  const locked = await tx.getSessions([...new Set([...item.sessionIds, ...relinking])]);
  const sessions = locked.filter((s) => item.sessionIds.includes(s.id));
  if (!sessions.some((s) => canRead(actor.user, s))) throw notFound(what, id);
  return { item, sessions };
}

function checkWriter(actor: Actor, sessions: SessionRecord[], fields: string[], what: string): void {
  if (sessions.every((s) => canManage(actor.user, s))) return;
  const agentOnly = sessions.every((s) => isSharedAgent(actor.user, s)) && fields.every((f) => AGENT_WRITABLE.has(f));
  if (!agentOnly)
    throw forbidden(
      `Only an admin or the coach of every linked session can change this ${what}; ` +
        'an agent can change only agentNotes, and only on their own shared sessions.',
    );
}

async function touchSessions(
  tx: CoachingTx,
  sessions: SessionRecord[],
  actor: Actor,
  actionType: SessionAction,
  descriptions: string[],
  now: number,
) {
  for (const session of sessions) {
    await tx.saveSession({ ...session, updatedAt: now }, false);
    await tx.appendLog(session.id, logEntry(actor, actionType, descriptions, now));
  }
}

function pointLabel(point: PointRecord): string {
  return `${point.type} ${point.classification} coaching point${point.subject ? ` "${point.subject}"` : ''}`;
}

export async function createPoint(store: Store, actor: Actor, input: CreatePointBody, now: number): Promise<CoachingPoint> {
  const id = newId(now);
  return store.coaching(actor.orgId, async (tx) => {
    const sessions = await linkableSessions(tx, actor, input.coachingFormIds);
    const point: PointRecord = {
      id,
      sessionIds: input.coachingFormIds,
      type: input.type,
      classification: input.classification,
      ticketId: input.ticketId ?? null,
      subject: input.subject ?? null,
      rubricName: input.rubricName ?? null,
      criteriaName: input.criteriaName ?? null,
      kpiName: input.kpiName ?? null,
      score: input.score ?? null,
      agentNotes: input.agentNotes ?? null,
      coachNotes: input.coachNotes ?? null,
      createdAt: now,
      updatedAt: now,
      isDeleted: false,
    };
    await tx.savePoint(point, true);
    await touchSessions(tx, sessions, actor, 'coaching_point_added', [`${pointLabel(point)} added`], now);
    return pointDocument(point);
  });
}

const POINT_FIELDS = {
  coachingFormIds: 'sessionIds',
  type: 'type',
  classification: 'classification',
  ticketId: 'ticketId',
  subject: 'subject',
  rubricName: 'rubricName',
  criteriaName: 'criteriaName',
  kpiName: 'kpiName',
  score: 'score',
  agentNotes: 'agentNotes',
  coachNotes: 'coachNotes',
} as const satisfies Record<keyof UpdatePointBody, keyof PointRecord>;

/**
 * Applies a change to an item and logs it on every session it was or is now linked to; returns the
 * item as stored, which is the item as it was when the change changed nothing.
 */
async function changeItem<T extends Item>(
  tx: CoachingTx,
  actor: Actor,
  found: { item: T; sessions: SessionRecord[] },
  after: T,
  fields: Array<keyof T & string>,
  actionType: (before: T, after: T) => SessionAction,
  save: (item: T) => Promise<void>,
  now: number,
  names: Partial<Record<keyof T & string, string>> = {},
): Promise<T> {
  const { item: before, sessions: current } = found;
  if (before.isDeleted) throw new DomainError('conflict', `${before.id} has been deleted.`);
  const added = after.sessionIds.filter((id) => !before.sessionIds.includes(id));
  const newSessions = await linkableSessions(tx, actor, added);
  const descriptions = describeChanges(before, after, fields, { dates: ['completedAt'], names });
  if (descriptions.length === 0) return before;
  after.updatedAt = now;
  await save(after);
  await touchSessions(tx, [...current, ...newSessions], actor, actionType(before, after), descriptions, now);
  return after;
}

/** Soft-deletes an item and says so on each of its sessions; deleting twice changes nothing. */
async function softDelete<T extends Item>(
  tx: CoachingTx,
  actor: Actor,
  found: { item: T; sessions: SessionRecord[] },
  what: string,
  save: (item: T) => Promise<void>,
  log: { actionType: SessionAction; description: string },
  now: number,
): Promise<T> {
  const { item, sessions } = found;
  checkWriter(actor, sessions, ['isDeleted'], what);
  if (item.isDeleted) return item;
  const deleted = { ...item, isDeleted: true, updatedAt: now };
  await save(deleted);
  await touchSessions(tx, sessions, actor, log.actionType, [log.description], now);
  return deleted;
}

/** A to-do's link is checked before anything is read or written (SPEC §12). */
function checkLink(link: string | null | undefined): void {
  if (link === null || link === undefined || isWebLink(link)) return;
  throw invalid(`link must be ${WEB_LINK_RULE}, not ${JSON.stringify(link.slice(0, 100))}.`);
}

/** A to-do answered from inside its transaction, with its creator's name. */
async function todoAnswer(tx: CoachingTx, todo: TodoRecord): Promise<Todo> {
  return todoDocument(todo, (await tx.getUser(todo.creatorId))?.name ?? '');
}

export async function updatePoint(store: Store, actor: Actor, id: string, patch: UpdatePointBody, now: number): Promise<CoachingPoint> {
  return store.coaching(actor.orgId, async (tx) => {
    const found = await visibleItem(tx, actor, await tx.getPoint(id), 'coaching point', id, patch.coachingFormIds);
    const fields = Object.keys(patch) as Array<keyof UpdatePointBody>;
    checkWriter(actor, found.sessions, fields, 'coaching point');
    const after: PointRecord = { ...found.item };
    for (const field of fields) (after as unknown as Record<string, unknown>)[POINT_FIELDS[field]] = patch[field];
    const stored = await changeItem(
      tx,
      actor,
      found,
      after,
      fields.map((f) => POINT_FIELDS[f]),
      () => 'coaching_point_updated',
      (p) => tx.savePoint(p, false),
      now,
      {
        sessionIds: 'coachingFormIds',
      },
    );
    return pointDocument(stored);
  });
}

export async function deletePoint(store: Store, actor: Actor, id: string, now: number): Promise<CoachingPoint> {
  return store.coaching(actor.orgId, async (tx) => {
    const found = await visibleItem(tx, actor, await tx.getPoint(id), 'coaching point', id);
    const log = { actionType: 'coaching_point_deleted' as const, description: `${pointLabel(found.item)} deleted` };
    return pointDocument(await softDelete(tx, actor, found, 'coaching point', (p) => tx.savePoint(p, false), log, now));
  });
}

export async function createTodo(store: Store, actor: Actor, input: CreateTodoBody, now: number): Promise<Todo> {
  checkLink(input.link);
  const id = newId(now);
  return store.coaching(actor.orgId, async (tx) => {
    const sessions = await linkableSessions(tx, actor, input.coachingFormIds);
    const status = input.status ?? 'incomplete';
    const todo: TodoRecord = {
      id,
      sessionIds: input.coachingFormIds,
      actionString: input.actionString ?? null,
      completedAt: status === 'complete' ? now : null,
      createdAt: now,
      creatorId: actor.user.id,
      description: input.description ?? null,
      link: input.link ?? null,
      status,
      title: input.title,
      type: input.type ?? null,
      updatedAt: now,
      isDeleted: false,
    };
    await tx.saveTodo(todo, true);
    await touchSessions(tx, sessions, actor, 'todo_added', [`to-do "${todo.title}" added`], now);
    return todoDocument(todo, actor.user.name);
  });
}

const TODO_FIELDS = {
  coachingFormIds: 'sessionIds',
  title: 'title',
  status: 'status',
  actionString: 'actionString',
  description: 'description',
  link: 'link',
  type: 'type',
} as const satisfies Record<keyof UpdateTodoBody, keyof TodoRecord>;

export async function updateTodo(store: Store, actor: Actor, id: string, patch: UpdateTodoBody, now: number): Promise<Todo> {
  checkLink(patch.link);
  return store.coaching(actor.orgId, async (tx) => {
    const found = await visibleItem(tx, actor, await tx.getTodo(id), 'to-do', id, patch.coachingFormIds);
    const fields = Object.keys(patch) as Array<keyof UpdateTodoBody>;
    checkWriter(actor, found.sessions, fields, 'to-do');
    const after: TodoRecord = { ...found.item };
    for (const field of fields) (after as unknown as Record<string, unknown>)[TODO_FIELDS[field]] = patch[field];
    // Completing stamps the time; reopening clears it.
    if (after.status !== found.item.status) after.completedAt = after.status === 'complete' ? now : null;
    const changed = [...fields.map((f) => TODO_FIELDS[f]), 'completedAt' as const];
    const action = (before: TodoRecord, next: TodoRecord) =>
      before.status === next.status ? 'todo_updated' : next.status === 'complete' ? 'todo_completed' : 'todo_reopened';
    const stored = await changeItem(tx, actor, found, after, changed, action, (t) => tx.saveTodo(t, false), now, {
      sessionIds: 'coachingFormIds',
    });
    return todoAnswer(tx, stored);
  });
}

export async function deleteTodo(store: Store, actor: Actor, id: string, now: number): Promise<Todo> {
  return store.coaching(actor.orgId, async (tx) => {
    const found = await visibleItem(tx, actor, await tx.getTodo(id), 'to-do', id);
    const log = { actionType: 'todo_deleted' as const, description: `to-do "${found.item.title}" deleted` };
    return todoAnswer(tx, await softDelete(tx, actor, found, 'to-do', (t) => tx.saveTodo(t, false), log, now));
  });
}
