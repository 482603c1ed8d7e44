import type { ActivityLogEntry, CoachingPoint, ExportSession, Todo } from '../../src/contract/schemas.js';

/** The API's shapes as the console reads them; the export's own types are shared with the server. */
export type { ActivityLogEntry, CoachingPoint, ExportSession, Todo };

export type Role = 'admin' | 'coach' | 'agent';

export interface User {
  id: string;
  email: string | null;
  name: string;
  role: Role;
  active: boolean;
}

export interface Me {
  user: User;
  organization: { id: string; name: string };
  csrfToken: string;
}

export interface DirectoryEntry {
  id: string;
  name: string;
  role: Role;
}

export const SESSION_STATES = ['draft', 'shared', 'acknowledged', 'confirmed', 'deleted'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export interface SessionSummary {
  _id: string;
  coachingFormName: string;
  coachingTemplateName: string | null;
  coachId: string;
  coachName: string;
  agentId: string;
  agentName: string;
  meetingDate: string | null;
  createdAt: string;
  updatedAt: string;
  sharedWithAgent: boolean;
  agentConfirmed: boolean;
  coachConfirmed: boolean;
  isDeleted: boolean;
}

export interface Template {
  id: string;
  name: string;
  createdAt: string;
}

export interface ApiToken {
  id: string;
  userId: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  active: boolean;
}

export interface AuditEntry {
  id: string;
  timestamp: string;
  actorUserId: string | null;
  actorEmail: string | null;
  action: string;
  target: string | null;
  ipAddress: string | null;
  details: unknown;
}

export const CLASSIFICATIONS = ['general', 'qa', 'csat', 'productivity'] as const;
export const POINT_TYPES = ['strength', 'opportunity', 'n/a'] as const;

export interface Metrics {
  sessions: number;
  shared: number;
  agentConfirmed: number;
  coachConfirmed: number;
  bothConfirmed: number;
  acknowledgementRate: number | null;
  medianHoursToAcknowledge: number | null;
  coachingPoints: number;
  strengths: number;
  opportunities: number;
  byClassification: Record<(typeof CLASSIFICATIONS)[number], number>;
  todos: number;
  todosCompleted: number;
}

export type GroupBy = 'none' | 'coach' | 'agent' | 'template' | 'week' | 'month';
export type TimeAxis = 'meetingDate' | 'createdAt';

export interface StatsRow extends Metrics {
  key: string | null;
  label: string | null;
}

export interface Stats {
  from: string;
  to: string;
  timeAxis: TimeAxis;
  groupBy: GroupBy;
  rows: StatsRow[];
  totals: Metrics;
}

/** The state a session is in, as the sessions list filters it. */
export function stateOf(s: Pick<SessionSummary, 'isDeleted' | 'sharedWithAgent' | 'agentConfirmed' | 'coachConfirmed'>): SessionState {
  if (s.isDeleted) return 'deleted';
  if (!s.sharedWithAgent) return 'draft';
  if (!s.agentConfirmed) return 'shared';
  return s.coachConfirmed ? 'confirmed' : 'acknowledged';
}
