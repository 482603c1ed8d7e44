import type { ReadScope } from './permissions.js';

/** A session's place in its life, as the console filters by it. */
export const SESSION_STATES = ['draft', 'shared', 'acknowledged', 'confirmed', 'deleted'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** The flags a state fixes; absent flags are free. No state: every session that is not deleted. */
export function stateFlags(state: SessionState | null): {
  isDeleted: boolean;
  sharedWithAgent?: boolean;
  agentConfirmed?: boolean;
  coachConfirmed?: boolean;
} {
  switch (state) {
    case null:
      return { isDeleted: false };
    case 'draft':
      return { isDeleted: false, sharedWithAgent: false };
    case 'shared':
      return { isDeleted: false, sharedWithAgent: true, agentConfirmed: false };
    case 'acknowledged':
      return { isDeleted: false, agentConfirmed: true, coachConfirmed: false };
    case 'confirmed':
      return { isDeleted: false, agentConfirmed: true, coachConfirmed: true };
    case 'deleted':
      return { isDeleted: true };
  }
}

type StateFlags = { isDeleted: boolean; sharedWithAgent: boolean; agentConfirmed: boolean; coachConfirmed: boolean };

/** The state a session's flags put it in: stateFlags read the other way (the console shows it). */
export function stateOf(s: StateFlags): SessionState {
  if (s.isDeleted) return 'deleted';
  if (!s.sharedWithAgent) return 'draft';
  if (!s.agentConfirmed) return 'shared';
  return s.coachConfirmed ? 'confirmed' : 'acknowledged';
}

export interface SessionListQuery {
  scope: ReadScope;
  state: SessionState | null;
  agentId: string | null;
  coachId: string | null;
  /** createdAt bounds, inclusive, in epoch ms. */
  fromMs: number | null;
  toMs: number | null;
  /** Keyset: only sessions that come after this one, newest first. */
  before: { createdAt: number; id: string } | null;
  limit: number;
}

export interface SessionSummaryRecord {
  id: string;
  coachingFormName: string;
  templateName: string | null;
  coachId: string;
  coachName: string | null;
  agentId: string;
  agentName: string | null;
  meetingDate: number | null;
  createdAt: number;
  updatedAt: number;
  sharedWithAgent: boolean;
  agentConfirmed: boolean;
  coachConfirmed: boolean;
  isDeleted: boolean;
}
