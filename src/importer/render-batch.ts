import { renderImportedSessions } from '../store/documents/render-plan.js';
import type { ImportPlan } from './plan.js';

/**
 * The batch with its sessions' documents rendered where it was planned (a streamed import's reading
 * thread), not on the writer's thread. A batch names every person and template its sessions show
 * (the planner hands each out with every batch that names it) and the import leaves them with those
 * names, so these are the documents the store would render; a batch that lacks a name is left as it is.
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
  return { ...plan, rendered: renderImportedSessions(plan, names) };
}
