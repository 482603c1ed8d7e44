import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { StoreAdapter } from '../adapter.js';
import type { Database, NamesToSpliceTable } from '../schema.js';
import { StoreBusyError } from '../store.js';
import type { ImportScope } from './import-scope.js';
import { refreshDocumentsOfTemplate, refreshDocumentsShowingUser } from './refresh.js';

/**
 * An import's names, spliced again once it has committed (PostgreSQL, where writes run beside it).
 * The import rendered the documents it could see with the names it writes, but a write beside it
 * read the names as committed before it, and stored the old one in a session the import did not
 * see (a session created for that coach, a to-do of that person linked to another session). Each
 * name it changes is recorded in its own transaction (migration 013) and spliced after the commit
 * in a transaction of its own that takes the names lock as a rename does (StoreAdapter.lockNames)
 * and deletes the record: so a name a long transaction kept out, or one whose import died after
 * its commit, stays recorded, and `coachport serve` splices it again (NamesLeftSweep).
 */

type NameToSplice = Pick<NamesToSpliceTable, 'kind' | 'item_id'>;

const ROWS_PER_INSERT = 500;

/** In the import's transaction: the people and templates of `scope` whose names it changes. */
export async function recordNamesToSplice(
  trx: Kysely<Database>,
  orgId: string,
  scope: Pick<ImportScope, 'renamedUsers' | 'renamedTemplates'>,
): Promise<void> {
  const rows = [
    ...scope.renamedUsers.map((item_id) => ({ org_id: orgId, kind: 'user' as const, item_id })),
    ...scope.renamedTemplates.map((item_id) => ({ org_id: orgId, kind: 'template' as const, item_id })),
  ];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    await trx
      .insertInto('names_to_splice')
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .onConflict((conflict) => conflict.columns(['org_id', 'kind', 'item_id']).doNothing())
      .execute();
  }
}

/** A splice that waited too long for a lock is tried again after an import, this many times in all. */
const TRIES_AFTER_IMPORT = 3;
/** Before the second try, then twice as long before the third. */
const PAUSE_MS = 1_000;

const LOCK_WAIT = 'another transaction held sessions that show them for longer than a rename waits';

/**
 * Once an import has committed: the organization's recorded names (its own, and any an earlier
 * import left) spliced into every document that shows them otherwise. Writes wait meanwhile, as for
 * a rename through the API (about a second for 10,000 sessions showing a name; behind a long
 * transaction it gives up after 5 s, and is tried again). Answers null, or what was left undone.
 */
export async function spliceImportedNames(db: Kysely<Database>, adapter: StoreAdapter, orgId: string): Promise<string | null> {
  const { left, cause } = await spliceNamesOf(db, adapter, orgId, 'import');
  if (left === 0) return null;
  const names = left === 1 ? 'a name an import changed' : `${left} names an import changed`;
  return (
    `The import has committed, but ${names} could not be spliced into the documents written beside it (${cause}): ` +
    'a session written while it ran may show an earlier name until coachport serve splices it, which it tries every minute.'
  );
}

/**
 * Every name an import left to splice, in every organization, each tried once, as a rename is
 * (StoreAdapter.lockNames, `'rename'`): an organization a streamed import writes to is passed over,
 * to be spliced by that import. Answers how many names were spliced and how many are left.
 */
export async function spliceNamesLeft(db: Kysely<Database>, adapter: StoreAdapter): Promise<{ spliced: number; left: number }> {
  const orgs = await db.selectFrom('names_to_splice').select('org_id').distinct().execute();
  const total = { spliced: 0, left: 0 };
  for (const { org_id } of orgs) {
    const { spliced, left } = await spliceNamesOf(db, adapter, org_id, 'rename');
    total.spliced += spliced;
    total.left += left;
  }
  return total;
}

async function spliceNamesOf(
  db: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  as: 'import' | 'rename',
): Promise<{ spliced: number; left: number; cause: string }> {
  const names = await db.selectFrom('names_to_splice').select(['kind', 'item_id']).where('org_id', '=', orgId).orderBy('item_id').execute();
  let spliced = 0;
  let left = 0;
  let cause = '';
  for (const name of names) {
    // Behind a transaction that outlasted one name's tries, or an import, the next names would wait
    // as long, the organization's writes queued behind each: they are left too.
    if (cause) {
      left++;
      continue;
    }
    try {
      await spliceOnce(db, adapter, orgId, as, name);
      spliced++;
    } catch (error) {
      // Any other failure stops the sweep, to be logged; after an import, the import's warning says it.
      if (as === 'rename' && !waitedTooLong(error) && !(error instanceof StoreBusyError)) throw error;
      left++;
      cause = waitedTooLong(error) ? LOCK_WAIT : error instanceof Error ? error.message : String(error);
    }
  }
  return { spliced, left, cause };
}

async function spliceOnce(
  db: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  as: 'import' | 'rename',
  { kind, item_id }: NameToSplice,
): Promise<void> {
  for (let tried = 1; ; tried++) {
    try {
      return await db.transaction().execute(async (trx) => {
        await adapter.lockNames(trx, orgId, as);
        if (kind === 'user') await refreshDocumentsShowingUser(trx, adapter, orgId, item_id);
        else await refreshDocumentsOfTemplate(trx, adapter, orgId, item_id);
        await trx
          .deleteFrom('names_to_splice')
          .where('org_id', '=', orgId)
          .where('kind', '=', kind)
          .where('item_id', '=', item_id)
          .execute();
      });
    } catch (error) {
      // Right after an import, tried again; the sweep tries again at its next pass.
      if (as === 'rename' || tried === TRIES_AFTER_IMPORT || !waitedTooLong(error)) throw error;
      await sleep(PAUSE_MS * tried);
    }
  }
}

/** PostgreSQL's lock_not_available (lock_timeout) and deadlock_detected. */
function waitedTooLong(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '55P03' || code === '40P01';
}
