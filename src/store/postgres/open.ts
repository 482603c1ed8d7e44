import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Driver } from '../driver.js';
import { KyselyStore } from '../kysely-store.js';
import type { Database } from '../schema.js';
import { postgresAdapter } from './adapter.js';
import { postgresBulkImportBatches } from './bulk-import.js';
import { postgresStoredDocuments } from './export-reader.js';
import { repairRestoredPositions } from './feed.js';
import type { StoreOpenOptions } from '../read-model-version.js';

const INT8 = 20;
/** Any fixed number shared by every Coachport process; it names the migration lock. */
const MIGRATION_LOCK_KEY = 7_262_031;

/**
 * PostgreSQL through node-postgres. Instants are BIGINT milliseconds, read as numbers (they fit
 * in a double for the next quarter-million years). An export is one COPY statement on a pooled
 * connection, so a long export sees one snapshot.
 */
export async function openPostgresStore(url: string, poolSize = 10, options: StoreOpenOptions = {}): Promise<KyselyStore> {
  const pool = openPool(url, poolSize);
  // Exports apart (StoreOpenOptions.exportConnections): opened only as exports need them.
  const exportPool = openPool(url, options.exportConnections ?? poolSize);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const driver: Driver = {
    adapter: postgresAdapter,
    db,
    async openReader() {
      return { db, close: async () => undefined };
    },
    exportDocuments: (orgId, window) => postgresStoredDocuments(exportPool, orgId, window),
    bulkImportBatches: (orgId, batches, now, options) => postgresBulkImportBatches(pool, orgId, batches, now, options),
    isUniqueViolation: (error) => error instanceof Error && 'code' in error && error.code === '23505',
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    withMigrationLock: (run) =>
      db.connection().execute(async (conn) => {
        await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn);
        try {
          await run(conn);
        } finally {
          await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn);
        }
      }),
    close: async () => {
      await db.destroy();
      await exportPool.end();
    },
  };
  const store = new KyselyStore(driver, { mail: options.mail ?? false }, options.logFoldAt);
  await store.migrate(options.readModelVersion);
  await repairRestoredPositions(db);
  return store;
}

function openPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // A connection dropping (a database restart) must not crash the process: idle clients report it
  // to the pool, checked-out ones to themselves, and the query in progress fails either way.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
