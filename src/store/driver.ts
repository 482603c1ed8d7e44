import type { Kysely } from 'kysely';
import type { ExportWindow } from '../export/window.js';
import type { ImportPlan } from '../importer/plan.js';
import type { StoreAdapter } from './adapter.js';
import type { AuditRecord } from './accounts-store.js';
import type { Database } from './schema.js';
import type { ExportChunk, ImportCounts, PoolStats, StreamedImportOptions } from './store.js';

/** A connection that sees one snapshot for as long as an export reads from it. */
export interface Reader {
  db: Kysely<Database>;
  close(): Promise<void>;
}

/**
 * An open database (sqlite/open.ts, postgres/open.ts): its connections, what reads and writes
 * them outside Kysely, and the adapter for its SQL. Everything else is one code path (kysely-store.ts).
 */
export interface Driver {
  adapter: StoreAdapter;
  db: Kysely<Database>;
  openReader(): Promise<Reader>;
  isUniqueViolation(error: unknown): boolean;
  /** The export reader: the stored documents of a window, read through the driver itself, as bytes, not as rows through Kysely. */
  exportDocuments(orgId: string, window: ExportWindow): AsyncGenerator<ExportChunk>;
  /** The bulk writer: a faster way to apply an import, where the database has one; same effect as the portable path. */
  bulkImport?(orgId: string, plan: ImportPlan, now: number, audit?: AuditRecord): Promise<ImportCounts>;
  /** The streamed import (Store.importBatches): each database's own bulk writer (COPY on PostgreSQL), its data in one transaction. */
  bulkImportBatches(orgId: string, batches: AsyncIterable<ImportPlan>, now: number, options?: StreamedImportOptions): Promise<number>;
  /** Runs `run` (the migrations) so that several processes starting at once do not race. */
  withMigrationLock(run: (db: Kysely<Database>) => Promise<void>): Promise<void>;
  /** Exports whose days wait to be kept joined (SQLite, day-page-builder.ts). */
  exportPagesQueued?(): number;
  /** The connection pool's figures, where the driver has a pool. */
  poolStats?(): PoolStats;
  close(): Promise<void>;
}
