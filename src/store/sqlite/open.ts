import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Driver } from '../driver.js';
import { KyselyStore } from '../kysely-store.js';
import type { Database } from '../schema.js';
import { sqliteAdapter } from './adapter.js';
import { sqliteBulkImport, sqliteBulkImportBatches } from './bulk-import.js';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { sqliteStoredDocuments } from './export-reader.js';
import { withStatementCache } from './statement-cache.js';
import type { StoreOpenOptions } from '../read-model-version.js';

export type SqliteSynchronous = 'NORMAL' | 'FULL';

function connect(file: string, readonly: boolean, synchronous: SqliteSynchronous = 'NORMAL'): BetterSqlite3.Database {
  const db = new BetterSqlite3(file, { readonly, fileMustExist: readonly });
  // Another process (the command line beside a running server) may hold the write lock briefly.
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  if (readonly) {
    // Readers stream pages once (the OS keeps the file cached), so 1 MiB of page cache is enough;
    // better-sqlite3's default of 16 MB per connection made twelve exports at once cost 200 MB
    // that the allocator did not hand back after they closed.
    db.pragma('cache_size = -1024');
  } else {
    // 64 MiB of page cache for the writer: index inserts of a large import stay in memory instead
    // of re-reading the WAL.
    db.pragma('cache_size = -65536');
    db.pragma('journal_mode = WAL');
    // Checkpoints run in a worker thread (checkpointer.ts); the writer checkpoints in its
    // own commits only if the WAL reaches 10,000 pages (about 40 MB) because that thread fell behind.
    db.pragma('wal_autocheckpoint = 10000');
    // WAL with NORMAL: a committed write survives the process being killed (it is in the WAL file)
    // and the database is never corrupted; only an OS crash or power loss can drop the last commits.
    // FULL also fsyncs every commit, which caps writes at the disk's fsync rate.
    db.pragma(`synchronous = ${synchronous}`);
  }
  return db;
}

/**
 * SQLite through better-sqlite3. Writes share one connection; each export reads through a
 * connection of its own inside a read transaction, so a long export sees one snapshot and
 * never holds up writers (WAL lets both run at once).
 */
export async function openSqliteStore(
  file: string,
  synchronous: SqliteSynchronous = 'NORMAL',
  options: StoreOpenOptions = {},
): Promise<KyselyStore> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const writer = connect(file, false, synchronous);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(writer) }) });
  const driver: Driver = {
    adapter: sqliteAdapter,
    db,
    async openReader() {
      const reader = new Kysely<Database>({ dialect: new SqliteDialect({ database: connect(file, true) }) });
      return { db: reader, close: () => reader.destroy() };
    },
    exportDocuments: (orgId, window) => sqliteStoredDocuments(() => connect(file, true), orgId, window),
    // Holding Kysely's connection keeps any Kysely transaction from being open around the bulk one.
    bulkImport: (orgId, plan, now, audit) => db.connection().execute((conn) => sqliteBulkImport(writer, conn, orgId, plan, now, audit)),
    bulkImportBatches: (orgId, batches, now, audit) =>
      db.connection().execute((conn) => sqliteBulkImportBatches(writer, conn, orgId, batches, now, audit)),
    isUniqueViolation: (error) =>
      error instanceof Error &&
      'code' in error &&
      (error.code === 'SQLITE_CONSTRAINT_UNIQUE' || error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'),
    // One writer connection per process, and SQLite serializes writers across processes.
    withMigrationLock: (run) => run(db),
    close: async () => {
      await checkpointer?.stop();
      await db.destroy();
    },
  };
  let checkpointer: Checkpointer | undefined;
  const store = new KyselyStore(driver, { mail: options.mail ?? false });
  await store.migrate(options.readModelVersion);
  checkpointer = startCheckpointer(file, (error) =>
    process.emitWarning(`SQLite checkpoints moved back onto the writer: ${error.message}`, 'CoachportCheckpointWarning'),
  );
  return store;
}
