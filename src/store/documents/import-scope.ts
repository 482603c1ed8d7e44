import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { ImportPlan } from '../../importer/plan.js';
import type { StoreAdapter } from '../adapter.js';
import type { Database, LinkTable } from '../schema.js';
import {
  refreshDocumentsOfTemplate,
  refreshDocumentsShowingUser,
  refreshSessionDocuments,
  sessionsOfTemplate,
  sessionsShowingUser,
} from './refresh.js';

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

/** The people and templates an import renamed, gathered from the scopes of its batches. */
export class ImportRenames {
  readonly users = new Set<string>();
  readonly templates = new Set<string>();

  add(scope: Pick<ImportScope, 'renamedUsers' | 'renamedTemplates'>): void {
    for (const id of scope.renamedUsers) this.users.add(id);
    for (const id of scope.renamedTemplates) this.templates.add(id);
  }
}

/** A splice of one of an import's names that waited too long for a lock is tried again, this many times in all. */
const NAME_SPLICE_TRIES = 3;
/** Before the second try, then twice as long before the third. */
const NAME_SPLICE_PAUSE_MS = 1_000;

/**
 * Once an import that renamed people or templates has committed (PostgreSQL, where writes run beside
 * it): their names spliced again into every document that shows them otherwise, a transaction each
 * that takes the names lock as a rename does (StoreAdapter.lockNames, `'import'`). The import
 * rendered the documents it could see with the new names, but a write beside it read the names as
 * committed before it, and stored the old one in a session the import did not see (a session
 * created for that coach, a to-do of that person linked to another session). Writes wait meanwhile,
 * as for a rename through the API (about a second for 10,000 sessions showing a name; behind a long
 * transaction it gives up after 5 s, and is tried again). Answers null, or what was left undone.
 */
export async function refreshImportedNames(
  db: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  renames: ImportRenames,
): Promise<string | null> {
  const splices = [
    ...[...renames.users].map((id) => (trx: Kysely<Database>) => refreshDocumentsShowingUser(trx, adapter, orgId, id)),
    ...[...renames.templates].map((id) => (trx: Kysely<Database>) => refreshDocumentsOfTemplate(trx, adapter, orgId, id)),
  ];
  let failed = 0;
  let cause = '';
  let lockedOut = false;
  for (const splice of splices) {
    // Behind a transaction that outlasted one name's tries, the next names would wait as long,
    // the organization's writes queued behind each: they are left too.
    if (lockedOut) {
      failed++;
      continue;
    }
    try {
      await spliceAgain(db, adapter, orgId, splice);
    } catch (error) {
      failed++;
      lockedOut = waitedTooLong(error);
      cause = lockedOut ? LOCK_WAIT : error instanceof Error ? error.message : String(error);
    }
  }
  if (failed === 0) return null;
  const names = failed === 1 ? 'a name it changed' : `${failed} names it changed`;
  return (
    `The import has committed, but ${names} could not be spliced into the documents written beside it (${cause}): ` +
    'a session written while it ran may show an earlier name until it is written again.'
  );
}

async function spliceAgain(
  db: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  splice: (trx: Kysely<Database>) => Promise<void>,
): Promise<void> {
  for (let tried = 1; ; tried++) {
    try {
      return await db.transaction().execute(async (trx) => {
        await adapter.lockNames(trx, orgId, 'import');
        await splice(trx);
      });
    } catch (error) {
      if (tried === NAME_SPLICE_TRIES || !waitedTooLong(error)) throw error;
      await sleep(NAME_SPLICE_PAUSE_MS * tried);
    }
  }
}

const LOCK_WAIT = 'another transaction held sessions that show them for longer than a rename waits';

/** PostgreSQL's lock_not_available (lock_timeout) and deadlock_detected. */
function waitedTooLong(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '55P03' || code === '40P01';
}
