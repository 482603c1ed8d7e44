import type { Kysely } from 'kysely';
import type { ImportPlan } from '../../importer/plan.js';
import type { StoreAdapter } from '../adapter.js';
import type { Database, LinkTable } from '../schema.js';
import { refreshSessionDocuments, sessionsOfTemplate, sessionsShowingUser } from './refresh.js';

/**
 * Which documents an import changes, found before it writes: its own sessions; every session its
 * points and to-dos are linked to, before and after; every session of an item that loses its link
 * to an imported session; and every session showing a person or template whose name it changes.
 */
export interface ImportScope {
  sessions: Set<string>;
  renamedUsers: string[];
  renamedTemplates: string[];
}

const IDS_PER_QUERY = 500;

/** `read` over the ids a few hundred at a time (a query's parameters stay few), its rows together. */
export async function eachChunk<T>(ids: string[], read: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) out.push(...(await read(ids.slice(i, i + IDS_PER_QUERY))));
  return out;
}

async function linkedSessionsBefore(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  table: LinkTable,
  orgId: string,
  sessionIds: string[],
  itemIds: string[],
) {
  const itemsOfSessions = await eachChunk(sessionIds, (ids) =>
    trx.selectFrom(table).select('item_id').where('org_id', '=', orgId).where(adapter.idIn('session_id', ids)).execute(),
  );
  const items = [...new Set([...itemIds, ...itemsOfSessions.map((row) => row.item_id)])];
  const rows = await eachChunk(items, (ids) =>
    trx.selectFrom(table).select('session_id').where('org_id', '=', orgId).where(adapter.idIn('item_id', ids)).execute(),
  );
  return rows.map((row) => row.session_id);
}

async function renamed(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  table: 'users' | 'coaching_templates',
  orgId: string,
  named: Array<{ id: string; name: string }>,
) {
  const wanted = new Map(named.map((n) => [n.id, n.name]));
  const rows = await eachChunk([...wanted.keys()], (ids) =>
    trx.selectFrom(table).select(['id', 'name']).where('org_id', '=', orgId).where(adapter.idIn('id', ids)).execute(),
  );
  return rows.filter((row) => wanted.get(row.id) !== row.name).map((row) => row.id);
}

export async function scopeBeforeImport(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  plan: ImportPlan,
): Promise<ImportScope> {
  const sessionIds = plan.sessions.map(({ session }) => session.id);
  const sessions = new Set(sessionIds);
  for (const item of [...plan.points, ...plan.todos]) for (const id of item.sessionIds) sessions.add(id);
  const before = [
    ...(await linkedSessionsBefore(
      trx,
      adapter,
      'coaching_point_sessions',
      orgId,
      sessionIds,
      plan.points.map((p) => p.id),
    )),
    ...(await linkedSessionsBefore(
      trx,
      adapter,
      'todo_sessions',
      orgId,
      sessionIds,
      plan.todos.map((t) => t.id),
    )),
  ];
  for (const id of before) sessions.add(id);
  return { sessions, ...(await renamesOf(trx, adapter, orgId, plan)) };
}

/** The people and templates of `plan` stored under another name. */
export async function renamesOf(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  plan: ImportPlan,
): Promise<Pick<ImportScope, 'renamedUsers' | 'renamedTemplates'>> {
  return {
    renamedUsers: await renamed(trx, adapter, 'users', orgId, plan.users),
    renamedTemplates: await renamed(trx, adapter, 'coaching_templates', orgId, plan.templates),
  };
}

/**
 * Rewrites the documents of the scope after the import's writes, in the same transaction;
 * `rendered` names sessions whose documents the caller has already written.
 */
export async function refreshAfterImport(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  scope: ImportScope,
  rendered: Set<string> = new Set(),
): Promise<void> {
  const ids = new Set(scope.sessions);
  for (const userId of scope.renamedUsers) for (const id of await sessionsShowingUser(trx, orgId, userId)) ids.add(id);
  for (const templateId of scope.renamedTemplates) for (const id of await sessionsOfTemplate(trx, orgId, templateId)) ids.add(id);
  await refreshSessionDocuments(
    trx,
    adapter,
    orgId,
    [...ids].filter((id) => !rendered.has(id)),
  );
}
