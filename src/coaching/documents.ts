import { isoOrNull, isoString as iso } from '../contract/dates.js';
import type { ActivityLogEntry, CoachingPoint, ExportSession, Todo } from '../contract/schemas.js';
import type { LogEntryRecord, PointRecord, SessionRecord, TodoRecord } from './records.js';

/** Records in the export's shape: the one place that maps the domain onto the contract. */

export function logDocument(entry: LogEntryRecord): ActivityLogEntry {
  return { ...entry, timestamp: iso(entry.timestamp) };
}

export function pointDocument(p: PointRecord): CoachingPoint {
  return {
    _id: p.id,
    coachingFormIds: p.sessionIds,
    type: p.type as CoachingPoint['type'],
    classification: p.classification as CoachingPoint['classification'],
    ticketId: p.ticketId,
    subject: p.subject,
    rubricName: p.rubricName,
    criteriaName: p.criteriaName,
    kpiName: p.kpiName,
    score: p.score,
    agentNotes: p.agentNotes,
    coachNotes: p.coachNotes,
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
    isDeleted: p.isDeleted,
  };
}

export function todoDocument(t: TodoRecord, creatorName: string): Todo {
  return {
    _id: t.id,
    actionString: t.actionString,
    coachingFormIds: t.sessionIds,
    completedAt: isoOrNull(t.completedAt),
    createdAt: iso(t.createdAt),
    creatorId: t.creatorId,
    creatorName,
    description: t.description,
    link: t.link,
    status: t.status,
    title: t.title,
    type: t.type,
    updatedAt: iso(t.updatedAt),
    isDeleted: t.isDeleted,
  };
}

export interface SessionNames {
  formCreatorName: string;
  coachName: string;
  agentName: string;
  templateName: string | null;
}

export function sessionDocument(
  s: SessionRecord,
  names: SessionNames,
  children: { activityLog: ActivityLogEntry[]; coachingPoints: CoachingPoint[]; todos: Todo[] },
): ExportSession {
  return {
    _id: s.id,
    coachingFormName: s.coachingFormName,
    coachingTemplateId: s.templateId,
    coachingTemplateName: names.templateName,
    meetingFormat: s.meetingFormat,
    formCreatorId: s.formCreatorId,
    formCreatorName: names.formCreatorName,
    coachName: names.coachName,
    coachId: s.coachId,
    agentId: s.agentId,
    agentName: names.agentName,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
    sharedWithAgent: s.sharedWithAgent,
    meetingDate: isoOrNull(s.meetingDate),
    agentConfirmed: s.agentConfirmed,
    coachConfirmed: s.coachConfirmed,
    coachNotes: s.coachNotes,
    agentNotes: s.agentNotes,
    isDeleted: s.isDeleted,
    ...children,
  };
}
