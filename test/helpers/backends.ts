import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import pg from 'pg';
import { exportThreadsFrom, type DatabaseConfig } from '../../src/config.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';

/** A database made for one test run, and how to throw it away. */
export interface TestDatabase {
  config: DatabaseConfig;
  drop(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** Why this backend cannot run here, or null when it can. */
  unavailable: string | null;
  /** `icuLocale`: PostgreSQL's database made with that ICU collation (SQLite has one collation for text). */
  create(options?: { icuLocale?: string }): Promise<TestDatabase>;
}

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_TEST_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Every directory `tempDir` made in this process, removed when it exits, whatever its tests left in them. */
const madeDirs: string[] = [];
process.once('exit', () => {
  for (const dir of madeDirs) fs.rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'coachport-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

export const sqliteBackend: Backend = {
  name: 'sqlite',
  unavailable: null,
  async create() {
    const dir = tempDir();
    return {
      // The server's default (a thread where there is a second core); SQLITE_EXPORT_THREADS=0 runs
      // the suites with the exports read on the event loop.
      config: { kind: 'sqlite', file: path.join(dir, 'coachport.db'), exportThreads: exportThreadsFrom(process.env.SQLITE_EXPORT_THREADS) },
      drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  },
};

/** A store on a fresh SQLite file for the suite it is called in: opened before its tests, closed and removed after. */
export function sqliteStoreForSuite(settings: { exportDayPages?: boolean } = {}): {
  readonly store: Store;
  readonly config: DatabaseConfig;
} {
  let instance: TestDatabase;
  let store: Store;
  before(async () => {
    instance = await sqliteBackend.create();
    store = await openStore({ ...(instance.config as Extract<DatabaseConfig, { kind: 'sqlite' }>), ...settings });
  });
  after(async () => {
    await store.close();
    await instance.drop();
  });
  return {
    get store() {
      return store;
    },
    get config() {
      return instance.config;
    },
  };
}

async function postgresReachable(): Promise<string | null> {
  // Generous: a loaded machine running test files in parallel can take seconds to accept a connection.
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 15_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return `PostgreSQL is not reachable at ${POSTGRES_ADMIN_URL} (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** `work` on a store over a database made for it, closed and thrown away afterwards whatever `work` did. */
export async function withFreshStore(
  backend: Backend,
  work: (store: Store) => Promise<void>,
  options?: { icuLocale?: string },
): Promise<void> {
  const database = await backend.create(options);
  const store = await openStore(database.config);
  try {
    await work(store);
  } finally {
    await store.close();
    await database.drop();
  }
}

/** A fresh database per call, dropped afterwards, so runs never see each other's rows. */
export async function postgresBackend(): Promise<Backend> {
  return {
    name: 'postgres',
    unavailable: await postgresReachable(),
    async create({ icuLocale }: { icuLocale?: string } = {}) {
      const name = `coachport_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await admin.connect();
      const collation = icuLocale === undefined ? '' : ` template template0 locale_provider icu icu_locale '${icuLocale}'`;
      await admin.query(`create database ${name}${collation}`);
      await admin.end();
      return {
        config: { kind: 'postgres', url: withDatabase(POSTGRES_ADMIN_URL, name) },
        async drop() {
          const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
          await client.connect();
          await client.query(`drop database if exists ${name} with (force)`);
          await client.end();
        },
      };
    },
  };
}

/**
 * The backends a contract test runs on. An unreachable service is skipped with its reason
 * printed, except under CI, where it fails the run.
 */
export async function storeBackends(): Promise<Backend[]> {
  const postgres = await postgresBackend();
  if (postgres.unavailable) {
    if (process.env.CI) throw new Error(`CI requires PostgreSQL: ${postgres.unavailable}`);
    process.stdout.write(`# skipping PostgreSQL cases: ${postgres.unavailable}\n`);
    return [sqliteBackend];
  }
  return [sqliteBackend, postgres];
}

/** Every row of every table as text, read beside the store, to scan for what must never be stored. */
export async function dumpDatabase(config: DatabaseConfig): Promise<string> {
  if (config.kind === 'sqlite') {
    const { default: BetterSqlite3 } = await import('better-sqlite3');
    const db = new BetterSqlite3(config.file, { readonly: true });
    try {
      const tables = db.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>;
      return JSON.stringify(tables.map(({ name }) => [name, db.prepare(`select * from "${name}"`).all()]));
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public'",
    );
    const out: unknown[] = [];
    for (const { table_name } of tables.rows) out.push([table_name, (await client.query(`select * from "${table_name}"`)).rows]);
    return JSON.stringify(out);
  } finally {
    await client.end();
  }
}
