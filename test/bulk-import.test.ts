import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { createOrganization } from '../src/accounts/organizations.js';
import type { ImportPlan } from '../src/importer/plan.js';
import { generateSeed } from '../src/seed/generate.js';
import { openStore } from '../src/store/open.js';
import type { Database } from '../src/store/schema.js';
import { sqliteBulkImport, sqliteBulkImportBatches } from '../src/store/sqlite/bulk-import.js';
import { connect } from '../src/store/sqlite/connect.js';
import { sqliteBackend, sqliteStoreForSuite } from './helpers/backends.js';
import { portableExport, storedExport } from './helpers/documents.js';
import { openKysely } from './helpers/kysely.js';
import { expectedStatsRows, storedStatsRows } from './helpers/stats-rows.js';

/**
 * A large import into a fresh SQLite database builds the bulk tables' indexes after its rows
 * (src/store/sqlite/bulk-import.ts). These hold that path to the same results as every other: the same
 * documents and stats rows as the portable rendering, every index and trigger back as the migrations made them, and nothing
 * left, indexes included, when the import fails.
 */
const NOW = Date.parse('2025-04-01T00:00:00.000Z');
/** Above the bulk path's threshold of 2,000 sessions. */
const SESSIONS = 2_100;

describe('a large import into a fresh SQLite database', () => {
  const suite = sqliteStoreForSuite();
  const file = () => (suite.config.kind === 'sqlite' ? suite.config.file : '');
  /** The indexes and triggers, which the path drops and makes again. */
  const indexes = () => {
    const db = new BetterSqlite3(file(), { readonly: true });
    try {
      return db
        .prepare<[], { name: string; sql: string }>(
          "select name, sql from sqlite_master where type in ('index', 'trigger') and sql is not null order by name",
        )
        .all();
    } finally {
      db.close();
    }
  };

  /** The organization's stats rows hold what its portable documents say. */
  const assertStatsRows = async (orgId: string, count: number) => {
    const { store } = suite;
    const direct = openKysely(suite.config);
    try {
      const rows = await storedStatsRows(direct.db, orgId);
      assert.equal(rows.length, count);
      assert.deepEqual(rows, expectedStatsRows(JSON.parse(await portableExport(store, orgId))));
    } finally {
      await direct.db.destroy();
    }
  };

  it('refuses a row that refers to nothing, whether the plan comes whole or in batches', async () => {
    // Into empty tables the foreign keys are checked once before the commit, not at every row.
    const { store } = suite;
    const org = await createOrganization(store, { name: 'Dangling', adminEmail: 'dangling@example.test' }, NOW);
    const plan = generateSeed({ sessions: SESSIONS, days: 30, seed: 6, endMs: NOW, nowMs: NOW });
    const orphan = { ...plan.todos[plan.todos.length - 1]!, creatorId: 'nobody-at-all' };
    const dangling: ImportPlan = { ...plan, todos: [...plan.todos.slice(0, -1), orphan] };
    const refusal = /The import would leave a row of todos referring to no row of users \(1 in all\)/;
    await assert.rejects(store.applyImport(org.orgId, dangling, NOW), refusal);
    async function* batches(): AsyncGenerator<ImportPlan> {
      yield dangling;
    }
    await assert.rejects(store.importBatches(org.orgId, batches(), NOW), refusal);
    assert.equal(await storedExport(store, org.orgId), '[]');
    await assertStatsRows(org.orgId, 0);
  });

  it('leaves nothing, indexes included, when it fails after its first rows', async () => {
    const { store } = suite;
    const schema = indexes();
    const org = await createOrganization(store, { name: 'Failing', adminEmail: 'failing@example.test' }, NOW);
    const plan = generateSeed({ sessions: SESSIONS, days: 30, seed: 7, endMs: NOW, nowMs: NOW });
    // A point the database refuses (type is NOT NULL), written after the sessions and their logs.
    const broken = { ...plan.points[plan.points.length - 1]!, type: null } as unknown as ImportPlan['points'][number];
    const failing: ImportPlan = { ...plan, points: [...plan.points.slice(0, -1), broken] };
    await assert.rejects(store.applyImport(org.orgId, failing, NOW));
    assert.deepEqual(indexes(), schema);
    assert.equal(await storedExport(store, org.orgId), '[]');
    assert.equal(await portableExport(store, org.orgId), '[]');
    await assertStatsRows(org.orgId, 0);
  });

  it('stores the same documents and stats rows as the portable rendering, and every index and trigger as before', async () => {
    const { store } = suite;
    const schema = indexes();
    const org = await createOrganization(store, { name: 'Large', adminEmail: 'large@example.test' }, NOW);
    const counts = await store.applyImport(org.orgId, generateSeed({ sessions: SESSIONS, days: 30, seed: 8, endMs: NOW, nowMs: NOW }), NOW);
    assert.equal(counts.sessions, SESSIONS);
    assert.deepEqual(indexes(), schema);
    const stored = await storedExport(store, org.orgId);
    assert.equal((JSON.parse(stored) as unknown[]).length, SESSIONS);
    assert.equal(stored, await portableExport(store, org.orgId));
    await assertStatsRows(org.orgId, SESSIONS);
    // A second large import, into tables that now hold rows, takes the row-by-row index path.
    const second = await createOrganization(store, { name: 'Second', adminEmail: 'second@example.test' }, NOW);
    await store.applyImport(second.orgId, generateSeed({ sessions: SESSIONS, days: 30, seed: 9, endMs: NOW, nowMs: NOW }), NOW);
    assert.equal(await storedExport(store, second.orgId), await portableExport(store, second.orgId));
    assert.equal(await storedExport(store, org.orgId), stored);
    await assertStatsRows(second.orgId, SESSIONS);
  });
});

describe('an import on SQLite leaves its connection as it found it', () => {
  it('restores temp_store, the page cache and foreign keys after imports that commit and one that fails', async () => {
    const database = await sqliteBackend.create();
    const file = (database.config as { file: string }).file;
    const store = await openStore(database.config);
    const org = await createOrganization(store, { name: 'Settings', adminEmail: 'settings@example.test' }, NOW);
    await store.close();
    const writer = connect(file, false);
    const conn = new Kysely<Database>({ dialect: new SqliteDialect({ database: writer }) });
    try {
      // Not SQLite's default, so a restore to the default would show.
      writer.pragma('temp_store = FILE');
      const settings = () => ({
        tempStore: writer.pragma('temp_store', { simple: true }),
        cacheSize: writer.pragma('cache_size', { simple: true }),
        foreignKeys: writer.pragma('foreign_keys', { simple: true }),
        // What an import into empty tables drops for its rows and makes again.
        schema: writer.prepare("select name, sql from sqlite_master where type in ('index', 'trigger') order by name").all(),
      });
      const before = settings();
      const plan = generateSeed({ sessions: 50, days: 5, seed: 11, endMs: NOW, nowMs: NOW });
      async function* batches(fail: boolean): AsyncGenerator<ImportPlan> {
        yield plan;
        if (fail) throw new Error('the file ended early');
      }
      assert.equal(before.foreignKeys, 1);
      await assert.rejects(sqliteBulkImportBatches(writer, conn, org.orgId, batches(true), NOW), /ended early/);
      assert.deepEqual(settings(), before, 'after a streamed import into empty tables that failed');
      const orphan = { ...plan.todos[0]!, creatorId: 'nobody-at-all' };
      const dangling: ImportPlan = { ...plan, todos: [orphan, ...plan.todos.slice(1)] };
      await assert.rejects(sqliteBulkImport(writer, conn, org.orgId, dangling, NOW), /referring to no row of users/);
      assert.deepEqual(settings(), before, 'after a whole plan into empty tables that failed');
      assert.equal(await sqliteBulkImportBatches(writer, conn, org.orgId, batches(false), NOW), 50);
      assert.deepEqual(settings(), before, 'after a streamed import into empty tables');
      await sqliteBulkImport(writer, conn, org.orgId, plan, NOW);
      assert.deepEqual(settings(), before, 'after a whole plan');
      assert.equal(writer.inTransaction, false);
    } finally {
      await conn.destroy();
      await database.drop();
    }
  });
});
