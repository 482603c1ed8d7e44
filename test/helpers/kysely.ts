import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/config.js';
import type { StoreAdapter } from '../../src/store/adapter.js';
import type { MigrationEngine as Dialect } from '../../src/store/migrations/engine.js';
import { postgresAdapter } from '../../src/store/postgres/adapter.js';
import { sqliteAdapter } from '../../src/store/sqlite/adapter.js';
import type { Database } from '../../src/store/schema.js';

/**
 * A Kysely of its own on a test database, beside the store's: what another feature's code (a user
 * PATCH, a migration) holds when it calls the read-model helpers inside its own transaction.
 */
export function openKysely(config: DatabaseConfig): { db: Kysely<Database>; dialect: Dialect; adapter: StoreAdapter } {
  if (config.kind === 'sqlite') {
    const connection = new BetterSqlite3(config.file);
    connection.pragma('busy_timeout = 5000');
    connection.pragma('journal_mode = WAL');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection }) });
    return { db, dialect: 'sqlite', adapter: sqliteAdapter };
  }
  const pool = new pg.Pool({
    connectionString: config.url,
    max: 4,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // pool.end() answers before its connections have closed: one still closing when the test's
  // database is dropped gets "terminating connection", which must not become an uncaught error.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres', adapter: postgresAdapter };
}
