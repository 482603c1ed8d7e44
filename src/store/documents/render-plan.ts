import { sessionFacts } from '../../analytics/session-facts.js';
import { documentSize } from '../../coaching/limits.js';
import { logDocument, pointDocument, sessionDocument, todoDocument } from '../../coaching/documents.js';
import type { CoachingPoint, Todo } from '../../contract/schemas.js';
import type { ImportPlan } from '../../importer/plan.js';
import type { RenderedDocument } from './rendered.js';

/**
 * The documents of an import's own sessions, rendered in bulk from the plan instead of read back:
 * after an import, an imported session's children are exactly the plan's items that list it
 * (links it no longer lists are gone) and its log is the plan's, so the records are in memory
 * already. The same renderer as every other path (coaching/documents.ts and JSON.stringify); the
 * read-model tests hold the result to the portable path byte for byte.
 */

/** Byte order of the UTF-8 encodings (SQLite's BINARY collation), which is code point order. */
function byCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 code unit order is code point order unless a surrogate meets U+E000..U+FFFF.
  if (!/[\ud800-\uffff]/.test(a + b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const byCreation = <T extends { createdAt: number; id: string }>(x: T, y: T) => x.createdAt - y.createdAt || byCodePoint(x.id, y.id);

/** `names` gives every person's and template's name as it stands after the import. */
export function renderImportedSessions(
  plan: ImportPlan,
  names: { user(id: string): string; template(id: string): string },
): RenderedDocument[] {
  const points = new Map<string, Array<{ createdAt: number; id: string; doc: CoachingPoint }>>();
  for (const p of [...plan.points].sort(byCreation)) {
    const entry = { createdAt: p.createdAt, id: p.id, doc: pointDocument(p) };
    for (const sessionId of p.sessionIds) {
      const list = points.get(sessionId);
      if (list) list.push(entry);
      else points.set(sessionId, [entry]);
    }
  }
  const todos = new Map<string, Todo[]>();
  for (const t of [...plan.todos].sort(byCreation)) {
    const doc = todoDocument(t, names.user(t.creatorId));
    for (const sessionId of t.sessionIds) {
      const list = todos.get(sessionId);
      if (list) list.push(doc);
      else todos.set(sessionId, [doc]);
    }
  }
  return plan.sessions.map(({ session: s, log }) => {
    const doc = sessionDocument(
      s,
      {
        formCreatorName: names.user(s.formCreatorId),
        coachName: names.user(s.coachId),
        agentName: names.user(s.agentId),
        templateName: s.templateId === null ? null : names.template(s.templateId),
      },
      {
        // Field by field, as the stored log is read back: the key order is the document's, not the input's.
        activityLog: log.map((e) =>
          logDocument({
            userId: e.userId,
            userEmail: e.userEmail,
            actionType: e.actionType,
            descriptions: e.descriptions,
            timestamp: e.timestamp,
            ipAddress: e.ipAddress,
          }),
        ),
        coachingPoints: (points.get(s.id) ?? []).map((p) => p.doc),
        todos: todos.get(s.id) ?? [],
      },
    );
    const json = JSON.stringify(doc);
    const size = documentSize(doc, json);
    return { sessionId: s.id, createdAt: s.createdAt, meetingDate: s.meetingDate, json, facts: sessionFacts(doc), size };
  });
}
