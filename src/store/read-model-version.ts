import { sql, type Kysely } from 'kysely';
import type { StoreAdapter } from './adapter.js';
import { refreshSessionDocuments } from './documents/refresh.js';
import type { Database } from './schema.js';

/**
 * The version of the read model: the stored documents (session_documents) and stats rows
 * (session_stats), both derived from the normalized tables. Bump it whenever what they hold for
 * the same sessions changes (rendering, a new column): the next start rebuilds them all.
 */
export const READ_MODEL_VERSION = 1;

/** How a store is opened; the version is overridden only to test a rebuild. */
export interface StoreOpenOptions {
  readModelVersion?: number;
  /** Whether changes queue mails (SPEC §11): only where SMTP_URL is set, or they would wait forever. */
  mail?: boolean;
  /** Log entries a document row holds before the older ones are archived (log-archive.ts): lowered only to test folding. */
  logFoldAt?: number;
  /**
   * SQLite: checkpoints on a thread of their own (checkpointer.ts), the default. Off for a process
   * that writes one long transaction and closes (an import): its commit and its closing copy the
   * WAL themselves, and its connection stays the file's only one (see bulk-import.ts).
   */
  backgroundCheckpoints?: boolean;
  /**
   * SQLite: the one long transaction written with a rollback journal instead of the WAL when the
   * connection is the file's only one (bulk-import.ts): faster, but until it commits no other
   * process can open the file for writing. For a file's `coachport import` (minutes), not for
   * `--from-server`, which waits on another server's pace for as long as its windows take.
   */
  withoutWal?: boolean;
  /**
   * PostgreSQL: the connections exports may hold at once, in a pool of their own (EXPORT_CONCURRENCY
   * for a server). An export holds its connection for as long as its client takes to read; from the
   * requests' pool, ten slow readers would leave every other request waiting for a connection.
   */
  exportConnections?: number;
  /** SQLite: how long a write waits for another process's write lock (writer-dialect.ts); shorter only in tests. */
  writeLockWaitMs?: number;
}

/** Migration 007's one-row table, outside today's schema types so that they need not know it. */
type VersionTable = {
  read_model_version: { id: number; version: number };
};

/** Session ids read per round; the rewrite renders them in smaller rounds of its own. */
const IDS_PER_ROUND = 5000;

/** The version the database holds; null before its read model was first built. */
export async function storedReadModelVersion(db: Kysely<Database>): Promise<number | null> {
  const row = await db.withTables<VersionTable>().selectFrom('read_model_version').select('version').where('id', '=', 1).executeTakeFirst();
  return row === undefined ? null : Number(row.version);
}

/**
 * Runs after the migrations, under the same lock. When the stored version differs from `version`,
 * rebuilds every session's document and stats row and records `version`, all in one transaction:
 * a start that dies half-way leaves the old version, so the next start rebuilds again. Returns
 * whether it rebuilt.
 */
export async function rebuildStaleReadModel(db: Kysely<Database>, adapter: StoreAdapter, version: number): Promise<boolean> {
  // A start with nothing to rebuild only reads: a command run beside a busy server is not held up.
  if ((await storedReadModelVersion(db)) === version) return false;
  // `db` holds a single connection (the SQLite writer, or the PostgreSQL connection that holds the
  // migration lock), so these statements and every query between them run in one transaction. On
  // SQLite, BEGIN IMMEDIATE takes the write lock before the version is read again, so a second
  // process starting beside the first waits for its rebuild and then finds the new version.
  await adapter.beginWrite(db);
  try {
    const stale = (await storedReadModelVersion(db)) !== version;
    if (stale) {
      await rebuildReadModel(db, adapter);
      await db
        .withTables<VersionTable>()
        .insertInto('read_model_version')
        .values({ id: 1, version })
        .onConflict((oc) => oc.column('id').doUpdateSet({ version }))
        .execute();
    }
    await sql`commit`.execute(db);
    return stale;
  } catch (error) {
    await sql`rollback`.execute(db).catch(() => undefined);
    throw error;
  }
}

/** Every session's document and stats row, rendered once each, organization by organization. */
async function rebuildReadModel(db: Kysely<Database>, adapter: StoreAdapter): Promise<void> {
  const orgs = await db.selectFrom('organizations').select('id').orderBy('id').execute();
  for (const { id: orgId } of orgs) {
    let after = '';
    for (;;) {
      const rows = await db
        .selectFrom('coaching_sessions')
        .select('id')
        .where('org_id', '=', orgId)
        .where('id', '>', after)
        .orderBy('id')
        .limit(IDS_PER_ROUND)
        .execute();
      if (rows.length === 0) break;
      const ids = rows.map((row) => row.id);
      // Limits off: a rebuild stores what is there and never refuses a session.
      await refreshSessionDocuments(db, adapter, orgId, ids, { documents: true, stats: true, limits: false });
      after = ids[ids.length - 1]!;
    }
  }
  // Fresh planner statistics after a bulk rewrite, so the export, the feed and the stats use their indexes.
  await adapter.analyze(db, 'session_documents');
  await adapter.analyze(db, 'session_stats');
}
