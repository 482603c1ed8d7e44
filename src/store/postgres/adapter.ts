import { sql, type SqlBool } from 'kysely';
import { asBuffer } from '../../bytes.js';
import { RENAME_LOCK_WAIT_MS, type StoreAdapter } from '../adapter.js';
import { StoreBusyError } from '../store.js';
import { changesAfter, feedPositionAhead } from './feed.js';

/** The names lock's class in the two-key advisory space (StoreAdapter.lockNames); the second key is the organization's hash. */
const NAMES_LOCK = 0x6e616d65;
const RENAME_DURING_IMPORT = 'An import is writing to this organization; renames wait until it has committed. Try again later.';
const IMPORT_DURING_IMPORT = 'An import is writing to this organization; another waits until it has committed. Try again later.';
const IMPORT_RETRY_AFTER_S = 60;

/** The key streamed imports of one organization take turns by (bulk-import.ts). */
export const importLockKey = (orgId: string): string => `coachport-import:${orgId}`;

/**
 * PostgreSQL's answers to the store's SQL questions. Writers run at once here, so a change locks
 * what it reads (FOR UPDATE, in id order) and the feed records the writing transaction's id.
 */
export const postgresAdapter: StoreAdapter = {
  name: 'postgres',
  // One array parameter (`= ANY($1)`): a plan for a list of a thousand parameters costs more than the query itself.
  idIn: (column, ids) => sql<SqlBool>`${sql.ref(column)} = any(${ids}::text[])`,
  // The "C" collation compares UTF-8 bytes, which is code point order.
  byCodePoint: (column) => sql<string>`${sql.ref(column)} collate "C"`,
  forUpdate: (query) => query.forUpdate(),
  skipLocked: (query) => query.forUpdate().skipLocked(),
  async lockSessionsForUpdate(trx, orgId, ids) {
    const wanted = await ids();
    if (wanted.length === 0) return;
    await trx
      .selectFrom('coaching_sessions')
      .select('id')
      .where('org_id', '=', orgId)
      .where(postgresAdapter.idIn('id', wanted))
      .orderBy('id')
      .forUpdate()
      .execute();
  },
  async lockAdminChanges(trx, orgId) {
    await sql`select pg_advisory_xact_lock(hashtext(${`coachport-admins:${orgId}`}))`.execute(trx);
  },
  async lockNames(trx, orgId, as) {
    // In the two-key space, apart from the one-key locks of imports and admins.
    if (as === 'write') return void (await sql`select pg_advisory_xact_lock_shared(${NAMES_LOCK}, hashtext(${orgId}))`.execute(trx));
    // A streamed import's own splices (`'import'`) hold the import lock already.
    if (as === 'rename') await postgresAdapter.refuseDuringImport(trx, orgId, 'rename');
    // Every lock the rename waits for from here on: behind another long transaction it fails with
    // lock_not_available (a 503; an import's names try again) instead of holding the writes up.
    await sql`select set_config('lock_timeout', ${`${RENAME_LOCK_WAIT_MS}ms`}, true)`.execute(trx);
    await sql`select pg_advisory_xact_lock(${NAMES_LOCK}, hashtext(${orgId}))`.execute(trx);
  },
  async refuseDuringImport(trx, orgId, what) {
    // A streamed import holds its own lock until it has committed (and spliced its own renames),
    // hours maybe: refused at once rather than queued, since the organization's writes would queue
    // behind it meanwhile.
    const { rows } = await sql<{
      free: boolean;
    }>`select pg_try_advisory_xact_lock_shared(hashtext(${importLockKey(orgId)})) as free`.execute(trx);
    if (!rows[0]!.free) throw new StoreBusyError(what === 'rename' ? RENAME_DURING_IMPORT : IMPORT_DURING_IMPORT, IMPORT_RETRY_AFTER_S);
  },
  snapshotTransaction: (begin) => begin.setIsolationLevel('repeatable read').setAccessMode('read only'),
  documentValue: (json) => (typeof json === 'string' ? json : asBuffer(json).toString('utf8')),
  // The writing transaction's id (xid8) and a sequence number, which the feed reads against the
  // oldest transaction still running (postgres/feed.ts).
  feedPositions: async () => () => ({ xid: sql<string>`pg_current_xact_id()`, seq: sql<number>`nextval('session_documents_seq')` }),
  changesAfter,
  feedPositionAhead,
  async spliceName(trx, orgId, { key, next, value, column, id }) {
    const spliced = sql<string>`
      substr(d.doc, 1, strpos(d.doc, ${key}) + ${key.length - 1}) || ${value} || substr(d.doc, strpos(d.doc, ${next}))`;
    await sql`
      update session_documents d
      set doc = ${spliced}, xid = pg_current_xact_id(), seq = nextval('session_documents_seq')
      from coaching_sessions s
      where s.org_id = ${orgId} and ${column} = ${id} and d.org_id = s.org_id and d.session_id = s.id
        and strpos(d.doc, ${key + value + next}) = 0`.execute(trx);
  },
  async beginWrite(db) {
    await sql`begin`.execute(db);
  },
  // Fresh planner statistics after a bulk build, so the export and the feed use their indexes.
  async analyze(db, table) {
    await sql`analyze ${sql.table(table)}`.execute(db);
  },
  statsSql: {
    day: (day) => sql<string>`to_char(date '1970-01-01' + cast(${day} as integer), 'YYYY-MM-DD')`,
    month: (day) => sql<string>`to_char(date '1970-01-01' + cast(${day} as integer), 'YYYY-MM')`,
    median: (column) => sql`percentile_cont(0.5) within group (order by ${column})`,
  },
};
