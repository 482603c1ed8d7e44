import type { Role } from '../accounts/roles.js';

/** The coaching model as the domain sees it: instants in epoch milliseconds, no SQL, no JSON. */

export interface UserRecord {
  id: string;
  email: string | null;
  name: string;
  role: Role;
}

export interface TemplateRecord {
  id: string;
  name: string;
}

export interface SessionRecord {
  id: string;
  coachingFormName: string;
  templateId: string | null;
  meetingFormat: string | null;
  formCreatorId: string;
  coachId: string;
  agentId: string;
  createdAt: number;
  updatedAt: number;
  meetingDate: number | null;
  sharedWithAgent: boolean;
  agentConfirmed: boolean;
  coachConfirmed: boolean;
  coachNotes: string | null;
  agentNotes: string | null;
  isDeleted: boolean;
}

export interface LogEntryRecord {
  userId: string | null;
  userEmail: string | null;
  actionType: string;
  descriptions: string[];
  timestamp: number;
  ipAddress: string | null;
}

export interface PointRecord {
  id: string;
  sessionIds: string[];
  type: string;
  classification: string;
  ticketId: string | null;
  subject: string | null;
  rubricName: string | null;
  criteriaName: string | null;
  kpiName: string | null;
  score: string | null;
  agentNotes: string | null;
  coachNotes: string | null;
  createdAt: number;
  updatedAt: number;
  isDeleted: boolean;
}

export interface TodoRecord {
  id: string;
  sessionIds: string[];
  actionString: string | null;
  completedAt: number | null;
  createdAt: number;
  creatorId: string;
  description: string | null;
  link: string | null;
  status: string;
  title: string;
  type: string | null;
  updatedAt: number;
  isDeleted: boolean;
}
