import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Migrator, type Kysely } from 'kysely';
import { planImport, type ImportPlan } from '../src/importer/plan.js';
import { generateSeed } from '../src/seed/generate.js';
import type { Dialect } from '../src/store/dialect.js';
import { readExportPages } from '../src/store/export-pages.js';
import { migrationProvider } from '../src/store/migrations/index.js';
import { openStore } from '../src/store/open.js';
import { pointRow, sessionRow, todoRow } from '../src/store/rows.js';
import type { Database } from '../src/store/schema.js';
import { storeBackends, type TestDatabase } from './helpers/backends.js';
import { ALL_TIME, storedExport } from './helpers/documents.js';
import { point, session, todo } from './helpers/fixtures.js';
import { openKysely } from './helpers/kysely.js';
import { expectedStatsRows, storedStatsRows } from './helpers/stats-rows.js';

const ORG = 'org-release-1';

/** The normalized tables exactly as release 1 wrote them: rows, links and log, no documents. */
async function writeAsRelease1(db: Kysely<Database>, plan: ImportPlan): Promise<void> {
  await db.insertInto('organizations').values({ id: ORG, name: 'Release 1', created_at: 0 }).execute();
  for (const u of plan.users) await db.insertInto('users').values({ org_id: ORG, id: u.id, email: null, name: u.name, role: u.role, created_at: 0, updated_at: 0 }).execute();
  for (const t of plan.templates) await db.insertInto('coaching_templates').values({ org_id: ORG, id: t.id, name: t.name, created_at: 0, updated_at: 0 }).execute();
  for (const { session: s, log } of plan.sessions) {
    await db.insertInto('coaching_sessions').values(sessionRow(ORG, s)).execute();
    for (const e of log) {
      await db
        .insertInto('activity_log')
        .values({ org_id: ORG, session_id: s.id, user_id: e.userId, user_email: e.userEmail, action_type: e.actionType, descriptions: JSON.stringify(e.descriptions), timestamp: e.timestamp, ip_address: e.ipAddress })
        .execute();
    }
  }
  for (const p of plan.points) {
    await db.insertInto('coaching_points').values(pointRow(ORG, p)).execute();
    for (const [position, sessionId] of p.sessionIds.entries()) await db.insertInto('coaching_point_sessions').values({ org_id: ORG, item_id: p.id, session_id: sessionId, position }).execute();
  }
  for (const t of plan.todos) {
    await db.insertInto('todos').values(todoRow(ORG, t)).execute();
    for (const [position, sessionId] of t.sessionIds.entries()) await db.insertInto('todo_sessions').values({ org_id: ORG, item_id: t.id, session_id: sessionId, position }).execute();
  }
}

function release1Data(): ImportPlan {
  const end = Date.parse('2025-03-31T12:00:00.000Z');
  const seeded = generateSeed({ sessions: 300, days: 30, seed: 7, endMs: end, nowMs: end });
  const edge = session({ _id: 'edge', coachNotes: 'ñ "q"\n\t\u0001\u2028 😀', meetingDate: null });
  edge.coachingPoints = [point(['edge', 'missing-session'], { score: '5' })];
  edge.todos = [todo(['edge'], { creatorId: 'coach-1', creatorName: 'Cora Coach' })];
  const planned = planImport([edge]);
  assert.ok(planned.ok);
  const { plan } = planned;
  return {
    users: [...seeded.users, ...plan.users],
    templates: [...seeded.templates, ...plan.templates],
    sessions: [...seeded.sessions, ...plan.sessions],
    points: [...seeded.points, ...plan.points],
    todos: [...seeded.todos, ...plan.todos],
  };
}

for (const backend of await storeBackends()) {
  describe(`upgrading a release 1 database (${backend.name})`, () => {
    let database: TestDatabase;
    after(() => database?.drop());

    it('builds every document and stats row at start-up and exports the same bytes as before', async () => {
      database = await backend.create();
      const { db, dialect } = openKysely(database.config);
      let before: string;
      try {
        const migrator = new Migrator({ db, provider: migrationProvider(dialect as Dialect) });
        const { error } = await migrator.migrateTo('001-initial');
        assert.equal(error, undefined);
        await writeAsRelease1(db, release1Data());
        // What release 1 exported: the portable path over the normalized tables (its database-built
        // JSON was held byte for byte to this path by the parity test).
        const docs: unknown[] = [];
        for await (const page of readExportPages(db, dialect, ORG, ALL_TIME, 100)) docs.push(...page);
        before = JSON.stringify(docs);
        assert.equal(docs.length, 301);
      } finally {
        await db.destroy();
      }
      const store = await openStore(database.config);
      try {
        assert.equal(await storedExport(store, ORG), before);
        assert.equal((await store.changesAfter(ORG, null, 1000)).length, 301, 'every upgraded session is in the change feed');
      } finally {
        await store.close();
      }
      // Migration 005 built every session's stats row from its document.
      const direct = openKysely(database.config);
      try {
        const rows = await storedStatsRows(direct.db, ORG);
        assert.equal(rows.length, 301);
        assert.deepEqual(rows, expectedStatsRows(JSON.parse(before)));
      } finally {
        await direct.db.destroy();
      }
    });
  });
}
