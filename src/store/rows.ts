import type { Insertable, Selectable } from 'kysely';
import type { LogEntryRecord, PointRecord, SessionRecord, TemplateRecord, TodoRecord, UserRecord } from '../coaching/records.js';
import type { ImportPlan } from '../importer/plan.js';
import type { FeedPositionValues } from './adapter.js';
import type { RenderedDocument } from './documents/rendered.js';
import type { NewToken, TokenRecord } from './accounts-store.js';
import type {
  ActivityLogTable,
  ApiTokensTable,
  CoachingPointsTable,
  CoachingSessionsTable,
  CoachingTemplatesTable,
  SessionLinkTable,
  TodosTable,
  UsersTable,
} from './schema.js';

/**
 * Records to rows and back: the one place that knows column names and flag encoding. Every writer
 * builds its rows here, the SQLite bulk import too (its statements list a row's keys in order).
 */

export const flag = (value: boolean): number => (value ? 1 : 0);

export function userFromRow(row: Pick<Selectable<UsersTable>, 'id' | 'email' | 'name' | 'role'>): UserRecord {
  return { id: row.id, email: row.email, name: row.name, role: row.role };
}

export function tokenFromRow(row: Selectable<ApiTokensTable>): TokenRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    userId: row.user_id,
    prefix: row.prefix,
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    deactivatedAt: row.deactivated_at === null ? null : Number(row.deactivated_at),
  };
}

export function tokenRow(token: NewToken): Insertable<ApiTokensTable> {
  return {
    id: token.id,
    org_id: token.orgId,
    user_id: token.userId,
    token_hash: token.hash,
    prefix: token.prefix,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    last_used_at: null,
    deactivated_at: null,
  };
}

export function sessionRow(orgId: string, s: SessionRecord): Insertable<CoachingSessionsTable> {
  return {
    org_id: orgId,
    id: s.id,
    coaching_form_name: s.coachingFormName,
    template_id: s.templateId,
    meeting_format: s.meetingFormat,
    form_creator_id: s.formCreatorId,
    coach_id: s.coachId,
    agent_id: s.agentId,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    meeting_date: s.meetingDate,
    shared_with_agent: flag(s.sharedWithAgent),
    agent_confirmed: flag(s.agentConfirmed),
    coach_confirmed: flag(s.coachConfirmed),
    coach_notes: s.coachNotes,
    agent_notes: s.agentNotes,
    is_deleted: flag(s.isDeleted),
  };
}

export function sessionFromRow(row: Selectable<CoachingSessionsTable>): SessionRecord {
  return {
    id: row.id,
    coachingFormName: row.coaching_form_name,
    templateId: row.template_id,
    meetingFormat: row.meeting_format,
    formCreatorId: row.form_creator_id,
    coachId: row.coach_id,
    agentId: row.agent_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    meetingDate: row.meeting_date === null ? null : Number(row.meeting_date),
    sharedWithAgent: Boolean(row.shared_with_agent),
    agentConfirmed: Boolean(row.agent_confirmed),
    coachConfirmed: Boolean(row.coach_confirmed),
    coachNotes: row.coach_notes,
    agentNotes: row.agent_notes,
    isDeleted: Boolean(row.is_deleted),
  };
}

export function pointRow(orgId: string, p: PointRecord): Insertable<CoachingPointsTable> {
  return {
    org_id: orgId,
    id: p.id,
    type: p.type,
    classification: p.classification,
    ticket_id: p.ticketId,
    subject: p.subject,
    rubric_name: p.rubricName,
    criteria_name: p.criteriaName,
    kpi_name: p.kpiName,
    score: p.score,
    agent_notes: p.agentNotes,
    coach_notes: p.coachNotes,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    is_deleted: flag(p.isDeleted),
  };
}

export function pointFromRow(row: Selectable<CoachingPointsTable>, sessionIds: string[]): PointRecord {
  return {
    id: row.id,
    sessionIds,
    type: row.type,
    classification: row.classification,
    ticketId: row.ticket_id,
    subject: row.subject,
    rubricName: row.rubric_name,
    criteriaName: row.criteria_name,
    kpiName: row.kpi_name,
    score: row.score,
    agentNotes: row.agent_notes,
    coachNotes: row.coach_notes,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    isDeleted: Boolean(row.is_deleted),
  };
}

export function todoRow(orgId: string, t: TodoRecord): Insertable<TodosTable> {
  return {
    org_id: orgId,
    id: t.id,
    action_string: t.actionString,
    completed_at: t.completedAt,
    created_at: t.createdAt,
    creator_id: t.creatorId,
    description: t.description,
    link: t.link,
    status: t.status,
    title: t.title,
    type: t.type,
    updated_at: t.updatedAt,
    is_deleted: flag(t.isDeleted),
  };
}

export function todoFromRow(row: Selectable<TodosTable>, sessionIds: string[]): TodoRecord {
  return {
    id: row.id,
    sessionIds,
    actionString: row.action_string,
    completedAt: row.completed_at === null ? null : Number(row.completed_at),
    createdAt: Number(row.created_at),
    creatorId: row.creator_id,
    description: row.description,
    link: row.link,
    status: row.status,
    title: row.title,
    type: row.type,
    updatedAt: Number(row.updated_at),
    isDeleted: Boolean(row.is_deleted),
  };
}

/** A person an import names: a new one gets the role the import implies; see IMPORT_UPDATES for an existing one. */
export function importedUserRow(orgId: string, u: ImportPlan['users'][number], now: number): Insertable<UsersTable> {
  return { org_id: orgId, id: u.id, email: null, name: u.name, role: u.role, created_at: now, updated_at: now };
}

export function templateRow(orgId: string, t: TemplateRecord, now: number): Insertable<CoachingTemplatesTable> {
  return { org_id: orgId, id: t.id, name: t.name, created_at: now, updated_at: now };
}

/** What an import changes of a person or template that exists: a person keeps role and email. */
export const IMPORT_UPDATES = ['name', 'updated_at'] as const;

/**
 * A log entry; its seq (append order) is the database's. Its descriptions are JSON text, which would
 * keep half of a UTF-16 surrogate pair as an escape, while every text column (and the stored
 * document, `asStored`) holds U+FFFD in its place: made well formed here too, so a render from the
 * tables gives what the stored document holds.
 */
export function logRow(orgId: string, sessionId: string, e: LogEntryRecord): Insertable<ActivityLogTable> {
  return {
    org_id: orgId,
    session_id: sessionId,
    user_id: e.userId,
    user_email: e.userEmail,
    action_type: e.actionType,
    descriptions: JSON.stringify(e.descriptions.map((text) => text.toWellFormed())),
    timestamp: e.timestamp,
    ip_address: e.ipAddress,
  };
}

/** An item's link to a session, at the session's place in the item's list. */
export function linkRow(orgId: string, itemId: string, sessionId: string, position: number): Insertable<SessionLinkTable> {
  return { org_id: orgId, item_id: itemId, session_id: sessionId, position };
}

/** A session's stored document, with the document column's value and feed position from the adapter. */
export function documentRow(
  orgId: string,
  d: Pick<RenderedDocument, 'sessionId' | 'createdAt' | 'meetingDate' | 'logArchived'>,
  doc: Buffer | string,
  position: FeedPositionValues,
) {
  return {
    org_id: orgId,
    session_id: d.sessionId,
    created_at: d.createdAt,
    meeting_date: d.meetingDate,
    doc,
    xid: position.xid,
    seq: position.seq,
    log_archived: d.logArchived ? 1 : 0,
  };
}
