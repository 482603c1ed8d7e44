import type { ExportSession } from '../contract/schemas.js';
import { readsAsAgent } from './permissions.js';
import type { UserRecord } from './records.js';

/**
 * A session as its agent reads it (SPEC §12): the activity log without the addresses of the people
 * who wrote it, and without the points and to-dos the coach deleted. Derived from the finished
 * document, so there is still one renderer.
 */
export function agentView(doc: ExportSession): ExportSession {
  return {
    ...doc,
    activityLog: doc.activityLog.map((entry) => ({ ...entry, ipAddress: null })),
    coachingPoints: doc.coachingPoints.filter((point) => !point.isDeleted),
    todos: doc.todos.filter((todo) => !todo.isDeleted),
  };
}

/** The document as this reader may see it; the caller has already checked that they may read it. */
export function sessionAsReadBy(user: UserRecord, doc: ExportSession): ExportSession {
  return readsAsAgent(user, doc) ? agentView(doc) : doc;
}
