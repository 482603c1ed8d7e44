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
 * name it changes is recorded in the import's transaction (migration 013), and spliced after the
 * commit in a transaction of its own that takes the names lock as a rename does
 * (StoreAdapter.lockNames) and deletes the record: so a name a long transaction kept out, or one
 * whose import died after its commit, stays recorded, and `coachport serve` splices it
 * (spliceNamesLeft, NamesLeftSweep).
 */

type NameToSplice = Pick<NamesToSpliceTable, 'kind' | 'item_id'>;

/**
 * How a splice takes the names lock (StoreAdapter.lockNames): `'import'` on the connection of the
 * streamed import whose names they are, which holds the import lock; `'rename'` anywhere else,
 * refused while a streamed import writes to the organization.
 */
export type SpliceAs = 'rename' | 'import';

/** The names one import has recorded, to splice its own after its commit (those of earlier imports are the sweep's). */
export class ImportedNames {
  readonly names: NameToSplice[] = [];
  private readonly seen = new Set<string>();

  add(kind: NameToSplice['kind'], ids: string[]): void {
    for (const item_id of ids) {
      const key = `${kind} ${item_id}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.names.push({ kind, item_id });
    }
  }
}

const ROWS_PER_INSERT = 500;

/** In the import's transaction: the people and templates of `scope` whose names it changes. */
export async function recordNamesToSplice(
  trx: Kysely<Database>,
  orgId: string,
  scope: Pick<ImportScope, 'renamedUsers' | 'renamedTemplates'>,
  into: ImportedNames,
): Promise<void> {
  into.add('user', scope.renamedUsers);
  into.add('template', scope.renamedTemplates);
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

/**
 * Once an import has committed: the names it recorded spliced into every document that shows them
 * otherwise. Writes wait meanwhile, as for a rename through the API (about a second for 10,000
 * sessions showing a name; behind a long transaction it gives up after 5 s, and is tried again).
 * Never throws (the import has committed): answers null, or what was left undone.
 */
export async function spliceImportedNames(
  db: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  imported: ImportedNames,
  as: SpliceAs,
): Promise<string | null> {
  const { left, cause } = await spliceNames(db, adapter, orgId, imported.names, as, TRIES_AFTER_IMPORT);
  if (left === 0) return null;
  const names = left === 1 ? 'a name it changed' : `${left} names it changed`;
  return (
    `The import has committed, but ${names} could not be spliced into the documents written beside it (${cause}): ` +
    'a session written while it ran may show an earlier name until a running coachport serve splices it ' +
    '(it tries every minute, less often while they stay held).'
  );
}

/**
 * Every name an import left to splice, in every organization, each tried once, as a rename is: an
 * organization a streamed import writes to is passed over (that import splices what it recorded,
 * and the next sweep the rest). Stops between names once `signal` is aborted. Answers the names
 * spliced, those left, and why an organization's were left other than for a lock or an import.
 */
export async function spliceNamesLeft(
  db: Kysely<Database>,
  adapter: StoreAdapter,
  signal?: AbortSignal,
): Promise<{ spliced: number; left: number; failures: string[] }> {
  const rows = await db.selectFrom('names_to_splice').select(['org_id', 'kind', 'item_id']).orderBy('item_id').execute();
  const byOrg = Map.groupBy(rows, (row) => row.org_id);
  const total = { spliced: 0, left: 0, failures: [] as string[] };
  for (const [orgId, names] of byOrg) {
    if (signal?.aborted) break;
    const { spliced, left, failure } = await spliceNames(db, adapter, orgId, names, 'rename', 1, signal);
    total.spliced += spliced;
    total.left += left;
    if (failure) total.failures.push(failure);
  }
  return total;
}

async function spliceNames(
  db: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  names: NameToSplice[],
  as: SpliceAs,
  tries: number,
  signal?: AbortSignal,
): Promise<{ spliced: number; left: number; cause: string; failure: string | null }> {
  let spliced = 0;
  let left = 0;
  let cause = '';
  let failure: string | null = null;
  let held = false;
  for (const name of names) {
    // Behind a transaction that outlasted a name's tries, or an import, the next names would wait
    // as long, the organization's writes queued behind each: they are left too.
    if (held || signal?.aborted) {
      left++;
      continue;
    }
    try {
      if (await spliceOnce(db, adapter, orgId, name, as, tries)) spliced++;
    } catch (error) {
      left++;
      const busy = error instanceof StoreBusyError;
      const lockWait = waitedTooLong(error);
      held = lockWait || busy;
      cause = lockWait ? LOCK_WAIT : busy ? IMPORT_WRITING : messageOf(error);
      if (!held) failure = cause;
    }
  }
  return { spliced, left, cause, failure };
}

const LOCK_WAIT = 'another transaction held a lock they need for longer than a rename waits';
const IMPORT_WRITING = 'another import is writing to this organization';

/** Splices one name and deletes its record, in one transaction; false when its record had gone (spliced by another). */
async function spliceOnce(
  db: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  { kind, item_id }: NameToSplice,
  as: SpliceAs,
  tries: number,
): Promise<boolean> {
  for (let tried = 1; ; tried++) {
    try {
      return await db.transaction().execute(async (trx) => {
        // As a rename, refused while a streamed import writes to the organization (which splices
        // the names it recorded once it has committed), unless this is that import's connection.
        await adapter.lockNames(trx, orgId, as);
        const { numDeletedRows } = await trx
          .deleteFrom('names_to_splice')
          .where('org_id', '=', orgId)
          .where('kind', '=', kind)
          .where('item_id', '=', item_id)
          .executeTakeFirst();
        if (numDeletedRows === 0n) return false;
        if (kind === 'user') await refreshDocumentsShowingUser(trx, adapter, orgId, item_id);
        else await refreshDocumentsOfTemplate(trx, adapter, orgId, item_id);
        return true;
      });
    } catch (error) {
      if (tried >= tries || !waitedTooLong(error)) throw error;
      await sleep(PAUSE_MS * tried);
    }
  }
}

/** PostgreSQL's lock_not_available (lock_timeout) and deadlock_detected. */
function waitedTooLong(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '55P03' || code === '40P01';
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
