import type { SessionRecord, UserRecord } from './records.js';

/** What the rules look at: who coaches, created, and is coached, and whether it is shared. */
type Parties = Pick<SessionRecord, 'coachId' | 'formCreatorId' | 'agentId' | 'sharedWithAgent'>;

/**
 * Who may do what to a session. Admins: everything. Coaches: the sessions they coach or created.
 * Agents: only sessions shared with them, and then only their own notes and confirmation.
 */

export function ownsAsCoach(user: UserRecord, session: Parties): boolean {
  return user.id === session.coachId || user.id === session.formCreatorId;
}

export function isSharedAgent(user: UserRecord, session: Parties): boolean {
  return user.id === session.agentId && session.sharedWithAgent;
}

export function canRead(user: UserRecord, session: Parties): boolean {
  if (user.role === 'admin') return true;
  if (user.role === 'coach') return ownsAsCoach(user, session);
  return isSharedAgent(user, session);
}

/** Full write: every field, points, to-dos, sharing, deleting. */
export function canManage(user: UserRecord, session: Parties): boolean {
  return user.role === 'admin' || (user.role === 'coach' && ownsAsCoach(user, session));
}

/** The fields an agent may write. */
export const AGENT_WRITABLE = new Set(['agentNotes']);

/**
 * Which sessions a user may list: the same rule as `canRead`, as a condition the store can put in
 * a query (a list of a large organization cannot test every session in JavaScript).
 */
export type ReadScope =
  | { kind: 'all' }
  | { kind: 'coach_or_creator'; userId: string }
  | { kind: 'shared_with_agent'; userId: string };

export function readScope(user: UserRecord): ReadScope {
  if (user.role === 'admin') return { kind: 'all' };
  if (user.role === 'coach') return { kind: 'coach_or_creator', userId: user.id };
  return { kind: 'shared_with_agent', userId: user.id };
}
