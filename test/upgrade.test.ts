import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { Migrator, sql, type Kysely } from 'kysely';
import type { DatabaseConfig } from '../src/config.js';
import { planImport, type ImportPlan } from '../src/importer/plan.js';
import { generateSeed } from '../src/seed/generate.js';
import { readExportPages } from '../src/store/export-pages.js';
import { migrationProvider } from '../src/store/migrations/index.js';
import { openStore } from '../src/store/open.js';
import { READ_MODEL_VERSION, storedReadModelVersion } from '../src/store/read-model-version.js';
import type { Database } from '../src/store/schema.js';
import { storeBackends, type TestDatabase } from './helpers/backends.js';
import { ALL_TIME, storedExport } from './helpers/documents.js';
import { point, session, todo } from './helpers/fixtures.js';
import { openKysely } from './helpers/kysely.js';
import { expectedStatsRows, storedStatsRows } from './helpers/stats-rows.js';

const ORG = 'org-release-1';

/**
 * Release 1's tables as untyped rows: this test writes them the way release 1 did, with its column
 * names spelled out here, so a column added by a later migration never changes what is written.
 */
type Row = Record<string, string | number | null>;
type Untyped = Kysely<Record<string, Row>>;
const untyped = (db: Kysely<Database>): Untyped => db as unknown as Untyped;

/** Rows per multi-row insert: well under both databases' bound-parameter limits. */
const ROWS_PER_INSERT = 50;

async function insertRows(db: Untyped, table: string, rows: Row[]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT)
    await db
      .insertInto(table)
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .execute();
}

const flag = (value: boolean): number => (value ? 1 : 0);
const links = (itemId: string, sessionIds: string[]): Row[] =>
  sessionIds.map((sessionId, position) => ({ org_id: ORG, item_id: itemId, session_id: sessionId, position }));

/** The normalized tables exactly as release 1 wrote them: rows, links and log, no documents. */
async function writeAsRelease1(typed: Kysely<Database>, plan: ImportPlan): Promise<void> {
  const db = untyped(typed);
  await insertRows(db, 'organizations', [{ id: ORG, name: 'Release 1', created_at: 0 }]);
  const users = plan.users.map((u) => ({ org_id: ORG, id: u.id, email: null, name: u.name, role: u.role, created_at: 0, updated_at: 0 }));
  await insertRows(db, 'users', users);
  const templates = plan.templates.map((t) => ({ org_id: ORG, id: t.id, name: t.name, created_at: 0, updated_at: 0 }));
  await insertRows(db, 'coaching_templates', templates);
  await insertRows(
    db,
    'coaching_sessions',
    plan.sessions.map(({ session: s }) => ({
      org_id: ORG,
      id: s.id,
      coaching_form_name: s.coachingFormName,
      template_id: s.templateId,
      meeting_format: s.meetingFormat,
      form_creator_id: s.formCreatorId,
      coach_id: s.coachId,
      agent_id: s.agentId,
      created_at: s.createdAt,
      updated_at: s.updatedAt,
      meeting_date: s.meetingDate,
      shared_with_agent: flag(s.sharedWithAgent),
      agent_confirmed: flag(s.agentConfirmed),
      coach_confirmed: flag(s.coachConfirmed),
      coach_notes: s.coachNotes,
      agent_notes: s.agentNotes,
      is_deleted: flag(s.isDeleted),
    })),
  );
  // One at a time, in order: the log's sequence numbers are the order of its entries.
  for (const { session: s, log } of plan.sessions) {
    for (const e of log) {
      await insertRows(db, 'activity_log', [
        {
          org_id: ORG,
          session_id: s.id,
          user_id: e.userId,
          user_email: e.userEmail,
          action_type: e.actionType,
          descriptions: JSON.stringify(e.descriptions),
          timestamp: e.timestamp,
          ip_address: e.ipAddress,
        },
      ]);
    }
  }
  await insertRows(
    db,
    'coaching_points',
    plan.points.map((p) => ({
      org_id: ORG,
      id: p.id,
      type: p.type,
      classification: p.classification,
      ticket_id: p.ticketId,
      subject: p.subject,
      rubric_name: p.rubricName,
      criteria_name: p.criteriaName,
      kpi_name: p.kpiName,
      score: p.score,
      agent_notes: p.agentNotes,
      coach_notes: p.coachNotes,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
      is_deleted: flag(p.isDeleted),
    })),
  );
  await insertRows(
    db,
    'coaching_point_sessions',
    plan.points.flatMap((p) => links(p.id, p.sessionIds)),
  );
  await insertRows(
    db,
    'todos',
    plan.todos.map((t) => ({
      org_id: ORG,
      id: t.id,
      action_string: t.actionString,
      completed_at: t.completedAt,
      created_at: t.createdAt,
      creator_id: t.creatorId,
      description: t.description,
      link: t.link,
      status: t.status,
      title: t.title,
      type: t.type,
      updated_at: t.updatedAt,
      is_deleted: flag(t.isDeleted),
    })),
  );
  await insertRows(
    db,
    'todo_sessions',
    plan.todos.flatMap((t) => links(t.id, t.sessionIds)),
  );
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

/** Every migration the code has, each with whether it ran on this database. */
async function migrationsOf(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): Promise<Array<{ name: string; ran: boolean }>> {
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  return (await migrator.getMigrations()).map((m) => ({ name: m.name, ran: m.executedAt !== undefined }));
}

/** Reads or changes the database directly, beside any store, on a connection of its own. */
async function readDirectly<T>(
  database: TestDatabase,
  read: (db: Kysely<Database>, dialect: 'sqlite' | 'postgres') => Promise<T>,
): Promise<T> {
  const direct = openKysely(database.config);
  try {
    return await read(direct.db, direct.dialect);
  } finally {
    await direct.db.destroy();
  }
}

/** Stored bytes that no renderer wrote, for one document and one stats row: only a rebuild puts them right. */
async function tamper(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const doc = dialect === 'sqlite' ? sql`cast('{"tampered":true}' as blob)` : sql`'{"tampered":true}'`;
  await sql`update session_documents set doc = ${doc} where org_id = ${ORG} and session_id = 'edge'`.execute(db);
  await sql`update session_stats set points = 999 where org_id = ${ORG} and session_id = 'edge'`.execute(db);
}

/** The largest feed sequence number among release 1's documents. */
async function release1MaxSeq(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('session_documents')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('org_id', '=', ORG)
    .executeTakeFirstOrThrow();
  return Number(row.seq);
}

/** A trigger that counts the writes of the read-model version row, which each rebuild makes once. */
async function countVersionWrites(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  await sql`create table version_writes (n integer)`.execute(db);
  if (dialect === 'sqlite') {
    for (const event of ['insert', 'update'])
      await sql
        .raw(`create trigger version_${event} after ${event} on read_model_version begin insert into version_writes values (1); end`)
        .execute(db);
    return;
  }
  await sql`create function count_version_write() returns trigger language plpgsql as $$
    begin insert into version_writes values (1); return null; end $$`.execute(db);
  await sql`create trigger version_write after insert or update on read_model_version
    for each row execute function count_version_write()`.execute(db);
}

async function versionWrites(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from version_writes`.execute(db);
  return Number(rows[0]!.n);
}

const OPEN_MODULE = new URL('../src/store/open.js', import.meta.url).href;
const OPEN_AND_CLOSE = `
  const [, url, config, version] = process.argv;
  const { openStore } = await import(url);
  const store = await openStore(JSON.parse(config), { readModelVersion: Number(version) });
  await store.close();`;

/** Opens a store with this read-model version in a process of its own, and closes it. */
function openInProcess(config: DatabaseConfig, version: number): Promise<void> {
  const args = ['--input-type=module', '-e', OPEN_AND_CLOSE, OPEN_MODULE, JSON.stringify(config), String(version)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the store did not open (exit ${code}): ${stderr}`))));
  });
}

const POISON_ORG = 'zz-poison';

/**
 * A second organization, ordered after release 1's, whose one session cannot be rendered (its log
 * entry's descriptions are not JSON): a rebuild fails after it rewrote release 1's documents.
 */
async function addPoisonedOrganization(typed: Kysely<Database>): Promise<void> {
  const db = untyped(typed);
  await insertRows(db, 'organizations', [{ id: POISON_ORG, name: 'Poison', created_at: 0 }]);
  await insertRows(db, 'users', [{ org_id: POISON_ORG, id: 'u', email: null, name: 'U', role: 'admin', created_at: 0, updated_at: 0 }]);
  await insertRows(db, 'coaching_sessions', [
    {
      org_id: POISON_ORG,
      id: 's',
      coaching_form_name: 'Form',
      template_id: null,
      meeting_format: null,
      form_creator_id: 'u',
      coach_id: 'u',
      agent_id: 'u',
      created_at: 1,
      updated_at: 1,
      meeting_date: null,
      shared_with_agent: 0,
      agent_confirmed: 0,
      coach_confirmed: 0,
      coach_notes: null,
      agent_notes: null,
      is_deleted: 0,
    },
  ]);
  await insertRows(db, 'activity_log', [
    {
      org_id: POISON_ORG,
      session_id: 's',
      user_id: 'u',
      user_email: null,
      action_type: 'created',
      descriptions: 'not json',
      timestamp: 1,
      ip_address: null,
    },
  ]);
}

for (const backend of await storeBackends()) {
  describe(`upgrading a release 1 database (${backend.name})`, () => {
    let database: TestDatabase;
    let before: string;
    after(() => database?.drop());

    it('runs every migration to the newest, then builds every document and stats row, and exports the same bytes', async () => {
      database = await backend.create();
      const { db, dialect, adapter } = openKysely(database.config);
      try {
        const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
        const { error } = await migrator.migrateTo('001-initial');
        assert.equal(error, undefined);
        await writeAsRelease1(db, release1Data());
        // What release 1 exported: the portable path over the normalized tables (its database-built
        // JSON was held byte for byte to this path by the parity test).
        const docs: unknown[] = [];
        for await (const page of readExportPages(db, adapter, ORG, ALL_TIME, 100)) docs.push(...page);
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
      await readDirectly(database, async (direct, dialect) => {
        const migrations = await migrationsOf(direct, dialect);
        assert.equal(migrations[0]?.name, '001-initial');
        assert.equal(migrations.at(-1)?.name, '013-names-to-splice', 'the newest migration this test was written for');
        assert.deepEqual(
          migrations.filter((m) => !m.ran),
          [],
          'every migration ran',
        );
        assert.equal(await storedReadModelVersion(direct), READ_MODEL_VERSION);
        // The stats row of every session, built from its document.
        const rows = await storedStatsRows(direct, ORG);
        assert.equal(rows.length, 301);
        assert.deepEqual(rows, expectedStatsRows(JSON.parse(before)));
      });
    });

    it("rebuilds only when the code's read-model version differs, all or nothing, and yields the same bytes", async () => {
      const bumped = READ_MODEL_VERSION + 1;
      await readDirectly(database, tamper);
      // The same version: nothing is rebuilt, so the tampered document is served as stored.
      let store = await openStore(database.config);
      try {
        assert.notEqual(await storedExport(store, ORG), before);
      } finally {
        await store.close();
      }

      // A rebuild that fails half-way (the second organization) keeps none of its work and the old version.
      await readDirectly(database, (direct) => addPoisonedOrganization(direct));
      await assert.rejects(openStore(database.config, { readModelVersion: bumped }), SyntaxError);
      await readDirectly(database, async (direct) => {
        assert.equal(await storedReadModelVersion(direct), READ_MODEL_VERSION);
        const edge = await direct
          .selectFrom('session_stats')
          .select('points')
          .where('org_id', '=', ORG)
          .where('session_id', '=', 'edge')
          .executeTakeFirstOrThrow();
        assert.equal(Number(edge.points), 999, "the first organization's rewrite was rolled back");
        await sql`update activity_log set descriptions = '[]' where org_id = ${POISON_ORG}`.execute(direct);
      });

      // The next start rebuilds again, now to the end: the same bytes as release 1 exported.
      store = await openStore(database.config, { readModelVersion: bumped });
      try {
        assert.equal(await storedExport(store, ORG), before);
        assert.equal((await storedExport(store, POISON_ORG)).length > 2, true, 'the second organization got its document');
      } finally {
        await store.close();
      }
      await readDirectly(database, async (direct) => {
        assert.equal(await storedReadModelVersion(direct), bumped);
        assert.deepEqual(await storedStatsRows(direct, ORG), expectedStatsRows(JSON.parse(before)));
      });
    });

    it('rebuilds once when three processes start at once with a new version', async () => {
      const version = READ_MODEL_VERSION + 2;
      const lastSeq = await readDirectly(database, release1MaxSeq);
      await readDirectly(database, countVersionWrites);
      await Promise.all([1, 2, 3].map(() => openInProcess(database.config, version)));
      const store = await openStore(database.config, { readModelVersion: version });
      try {
        assert.equal(await storedExport(store, ORG), before);
      } finally {
        await store.close();
      }
      await readDirectly(database, async (direct) => {
        assert.equal(await storedReadModelVersion(direct), version);
        // A rebuild writes the version row once, and only a rebuild does.
        assert.equal(await versionWrites(direct), 1);
        // Rendered as they were stored, the documents keep their places in the change feed.
        assert.equal(await release1MaxSeq(direct), lastSeq);
      });
    });
  });
}
