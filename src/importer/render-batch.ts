import { renderImportedSessions } from '../store/documents/render-plan.js';
import type { EncodedDocument, RenderedDocument } from '../store/documents/rendered.js';
import type { ImportPlan } from './plan.js';

/**
 * The batch with its sessions' documents rendered where it was planned (a streamed import's reading
 * thread), not on the writer's thread. A batch names every person and template its sessions show
 * (the planner hands each out with every batch that names it) and the import leaves them with those
 * names, so these are the documents the store would render; a batch that lacks a name is left as it is.
 * The documents come encoded as UTF-8 in one `ArrayBuffer` (`memoryOf` names it for the transfer).
 */
export function withDocuments(plan: ImportPlan): ImportPlan {
  const users = new Map(plan.users.map((u) => [u.id, u.name]));
  const templates = new Map(plan.templates.map((t) => [t.id, t.name]));
  const complete =
    plan.sessions.every(
      ({ session: s }) =>
        users.has(s.formCreatorId) &&
        users.has(s.coachId) &&
        users.has(s.agentId) &&
        (s.templateId === null || templates.has(s.templateId)),
    ) && plan.todos.every((t) => users.has(t.creatorId));
  if (!complete) return plan;
  const names = { user: (id: string) => users.get(id) ?? '', template: (id: string) => templates.get(id) ?? '' };
  return { ...plan, rendered: encoded(renderImportedSessions(plan, names)) };
}

/** The memory a batch's encoded documents share, to transfer with it; none when it has none. */
export function memoryOf(plan: ImportPlan): ArrayBuffer[] {
  const memory = plan.rendered?.[0]?.utf8.buffer;
  return memory instanceof ArrayBuffer ? [memory] : [];
}

function encoded(docs: RenderedDocument[]): EncodedDocument[] {
  let bytes = 0;
  for (const d of docs) bytes += Buffer.byteLength(d.json, 'utf8');
  // A Buffer of its own (not from the pool), so its ArrayBuffer holds these documents and no more.
  const all = Buffer.allocUnsafeSlow(bytes);
  let at = 0;
  return docs.map(({ json, ...rest }) => {
    const length = all.write(json, at, 'utf8');
    const utf8 = new Uint8Array(all.buffer, at, length);
    at += length;
    return { ...rest, utf8 };
  });
}
