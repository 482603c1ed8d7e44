import type { ExportSession } from '../contract/schemas.js';

/**
 * What SPEC §6 needs to know of one session, taken from its export document: the stats row the
 * read model keeps beside each document (migration 005, table session_stats). Everything a
 * request counts is a sum of these over the window's sessions; the one median is over
 * `acknowledgementMs`. Computed from the document the renderer has just built, so it agrees with
 * the export by construction and costs no read.
 */
export interface SessionFacts {
  sessionId: string;
  createdAt: number;
  meetingDate: number | null;
  templateId: string | null;
  formCreatorId: string;
  coachId: string;
  agentId: string;
  isDeleted: boolean;
  sharedWithAgent: boolean;
  agentConfirmed: boolean;
  coachConfirmed: boolean;
  /** Points and to-dos listed under the session and not deleted: each (session, item) link once. */
  points: number;
  strengths: number;
  opportunities: number;
  general: number;
  qa: number;
  csat: number;
  productivity: number;
  todos: number;
  todosCompleted: number;
  /** From the earliest `shared` entry to the earliest `agent_confirmed` at or after it, in ms; null without one. */
  acknowledgementMs: number | null;
}

/**
 * Earliest `shared`, then earliest `agent_confirmed` not before it, by timestamp (an imported log
 * may be in any order). Only those two kinds of entry are parsed.
 */
function acknowledgementMs(log: ExportSession['activityLog']): number | null {
  let sharedAt = Infinity;
  for (const entry of log) if (entry.actionType === 'shared') sharedAt = Math.min(sharedAt, Date.parse(entry.timestamp));
  if (sharedAt === Infinity) return null;
  let confirmedAt = Infinity;
  for (const entry of log) {
    if (entry.actionType !== 'agent_confirmed') continue;
    const at = Date.parse(entry.timestamp);
    if (at >= sharedAt && at < confirmedAt) confirmedAt = at;
  }
  return confirmedAt === Infinity ? null : confirmedAt - sharedAt;
}

export function sessionFacts(session: ExportSession): SessionFacts {
  const facts: SessionFacts = {
    sessionId: session._id,
    createdAt: Date.parse(session.createdAt),
    meetingDate: session.meetingDate === null ? null : Date.parse(session.meetingDate),
    templateId: session.coachingTemplateId,
    formCreatorId: session.formCreatorId,
    coachId: session.coachId,
    agentId: session.agentId,
    isDeleted: session.isDeleted,
    sharedWithAgent: session.sharedWithAgent,
    agentConfirmed: session.agentConfirmed,
    coachConfirmed: session.coachConfirmed,
    points: 0,
    strengths: 0,
    opportunities: 0,
    general: 0,
    qa: 0,
    csat: 0,
    productivity: 0,
    todos: 0,
    todosCompleted: 0,
    acknowledgementMs: acknowledgementMs(session.activityLog),
  };
  for (const point of session.coachingPoints) {
    if (point.isDeleted) continue;
    facts.points++;
    if (point.type === 'strength') facts.strengths++;
    else if (point.type === 'opportunity') facts.opportunities++;
    facts[point.classification]++;
  }
  for (const todo of session.todos) {
    if (todo.isDeleted) continue;
    facts.todos++;
    if (todo.status === 'complete') facts.todosCompleted++;
  }
  return facts;
}
