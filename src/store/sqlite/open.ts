import fs from 'node:fs';
import path from 'node:path';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { ExportWindow } from '../../export/window.js';
import type { Driver } from '../driver.js';
import { KyselyStore } from '../kysely-store.js';
import type { Database } from '../schema.js';
import { sqliteAdapter } from './adapter.js';
import { connect, type SqliteSynchronous } from './connect.js';
import { sqliteBulkImport, sqliteBulkImportBatches } from './bulk-import.js';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { sqliteStoredDocuments, threadedStoredDocuments } from './export-reader.js';
import { DayPageBuilder } from './day-page-builder.js';
import { type DayFilesGone, pagesDirOf, removePartFiles } from './day-page-files.js';
import { ExportWorkers } from './export-workers.js';
import { ReadConnections } from './read-connections.js';
import { WriterDialect } from './writer-dialect.js';
import type { StoreOpenOptions } from '../read-model-version.js';
import type { ExportChunk } from '../store.js';

/** How SQLite exports read (config.ts: SQLITE_EXPORT_THREADS, SQLITE_EXPORT_MMAP, SQLITE_EXPORT_DAY_PAGES). */
export interface SqliteExportOptions {
  threads: number;
  mmap: boolean;
  /** Whether days exported are kept joined (day-page-builder.ts); off, none are built and those kept are dropped. */
  dayPages: boolean;
}

/** The chunks, then `done` with the days whose pages' files were gone, once all were read (not when the reader stopped early). */
async function* thenDone(
  chunks: AsyncGenerator<ExportChunk, DayFilesGone[]>,
  done: (filesGone: DayFilesGone[]) => void,
): AsyncGenerator<ExportChunk> {
  done(yield* chunks);
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
  exportOptions: SqliteExportOptions = { threads: 0, mmap: false, dayPages: true },
): Promise<KyselyStore> {
  const { threads: exportThreads, mmap: exportMmap } = exportOptions;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const writer = connect(file, false, synchronous);
  // A store for one long transaction (a file's import) may write it without the WAL: see bulk-import.ts.
  const withoutWal = options.withoutWal === true;
  const db = new Kysely<Database>({ dialect: new WriterDialect(writer, options.writeLockWaitMs) });
  const exportWorkers = exportThreads > 0 ? new ExportWorkers(exportThreads) : null;
  const readConnections = new ReadConnections(file);
  const dayPages = exportOptions.dayPages
    ? new DayPageBuilder(
        file,
        // Holding Kysely's connection keeps any Kysely transaction from being open beside the builder's.
        (work) => db.connection().execute(async () => work()),
        (error) => process.emitWarning(`An export's day pages were not built: ${error.message}`, 'CoachportExportWarning'),
      )
    : null;
  const readDocuments = (orgId: string, window: ExportWindow) =>
    exportWorkers
      ? threadedStoredDocuments(exportWorkers, file, orgId, window, exportMmap)
      : sqliteStoredDocuments(readConnections, orgId, window, exportMmap);
  const driver: Driver = {
    adapter: sqliteAdapter,
    db,
    async openReader() {
      const reader = new Kysely<Database>({ dialect: new SqliteDialect({ database: connect(file, true) }) });
      return { db: reader, close: () => reader.destroy() };
    },
    exportDocuments: (orgId, window) =>
      dayPages
        ? thenDone(readDocuments(orgId, window), (filesGone) => dayPages.exported(orgId, window, filesGone))
        : readDocuments(orgId, window),
    exportPagesQueued: () => dayPages?.queued() ?? 0,
    // Holding Kysely's connection keeps any Kysely transaction from being open around the bulk one.
    bulkImport: (orgId, plan, now, audit) => db.connection().execute((conn) => sqliteBulkImport(writer, conn, orgId, plan, now, audit)),
    bulkImportBatches: (orgId, batches, now, options) =>
      db.connection().execute((conn) => sqliteBulkImportBatches(writer, conn, orgId, batches, now, options, withoutWal)),
    isUniqueViolation: (error) =>
      error instanceof Error &&
      'code' in error &&
      (error.code === 'SQLITE_CONSTRAINT_UNIQUE' || error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'),
    // One writer connection per process, and SQLite serializes writers across processes.
    withMigrationLock: (run) => run(db),
    close: async () => {
      await dayPages?.stop();
      await checkpointer?.stop();
      await exportWorkers?.close();
      readConnections.close();
      await db.destroy();
    },
  };
  let checkpointer: Checkpointer | undefined;
  const store = new KyselyStore(driver, { mail: options.mail ?? false }, options.logFoldAt);
  await store.migrate(options.readModelVersion);
  if (!exportOptions.dayPages) {
    await sql`delete from export_day_pages`.execute(db);
    removePartFiles(pagesDirOf(file));
  }
  if (options.backgroundCheckpoints !== false)
    checkpointer = startCheckpointer(file, (error) =>
      process.emitWarning(`SQLite checkpoints moved back onto the writer: ${error.message}`, 'CoachportCheckpointWarning'),
    );
  return store;
}
