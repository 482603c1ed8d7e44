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

/**
 * Whether the reader sees a session as its agent does (SPEC §12: no IP addresses, nothing deleted).
 * Whoever may read a session without managing it is its agent; admins and its coaches see everything.
 */
export function readsAsAgent(user: UserRecord, session: Parties): boolean {
  return !canManage(user, session);
}

/** The fields an agent may write. */
export const AGENT_WRITABLE = new Set(['agentNotes']);

/**
 * canRead's rule as data, for queries over many sessions (the stats, the sessions list): the store turns it into a
 * filter instead of asking canRead one session at a time. `inReadScope` is its meaning, and a test
 * holds it equal to canRead for every role and every kind of session.
 */
export type ReadScope = { kind: 'organization' } | { kind: 'coachOrCreator'; userId: string } | { kind: 'sharedWithAgent'; userId: string };

export function readScope(user: UserRecord): ReadScope {
  if (user.role === 'admin') return { kind: 'organization' };
  if (user.role === 'coach') return { kind: 'coachOrCreator', userId: user.id };
  return { kind: 'sharedWithAgent', userId: user.id };
}

export function inReadScope(scope: ReadScope, session: Parties): boolean {
  switch (scope.kind) {
    case 'organization':
      return true;
    case 'coachOrCreator':
      return scope.userId === session.coachId || scope.userId === session.formCreatorId;
    case 'sharedWithAgent':
      return scope.userId === session.agentId && session.sharedWithAgent;
  }
}
