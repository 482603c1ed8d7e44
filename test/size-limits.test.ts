import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { FEED_PAGE_BYTES, SESSION_LIMITS } from '../src/coaching/limits.js';
import type { ActivityLogEntry, ExportSession } from '../src/contract/schemas.js';
import { feedPage } from '../src/feed/page.js';
import { planImport } from '../src/importer/plan.js';
import { refreshSessionDocuments } from '../src/store/documents/refresh.js';
import type { StoreAdapter } from '../src/store/adapter.js';
import { openStore } from '../src/store/open.js';
import type { Database } from '../src/store/schema.js';
import { storeBackends, tempDir } from './helpers/backends.js';
import { portableExport, storedExport } from './helpers/documents.js';
import { point, session, todo } from './helpers/fixtures.js';
import { openKysely } from './helpers/kysely.js';
import { runCli } from './helpers/processes.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** A log of `n` entries, as an import gives it. */
function logOf(n: number): ActivityLogEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    userId: 'coach-1',
    userEmail: null,
    actionType: 'updated',
    descriptions: ['coachNotes changed'],
    timestamp: new Date(Date.UTC(2024, 0, 10, 9) + i * 1000).toISOString(),
    ipAddress: null,
  }));
}

/** A session whose document is about `bytes` long: one large note, not thousands of writes. */
function sessionOfBytes(bytes: number, overrides: Partial<ExportSession> = {}): ExportSession {
  const doc = session({ agentNotes: '', ...overrides });
  doc.agentNotes = 'n'.repeat(bytes - Buffer.byteLength(JSON.stringify(doc)));
  return doc;
}

const withPoints = (n: number) => {
  const doc = session();
  doc.coachingPoints = Array.from({ length: n }, () => point([doc._id]));
  return doc;
};

const withTodos = (n: number) => {
  const doc = session();
  doc.todos = Array.from({ length: n }, () => todo([doc._id]));
  return doc;
};

for (const backend of await storeBackends()) {
  describe(`session size limits (${backend.name})`, () => {
    let server: TestServer;
    let direct: { db: Kysely<Database>; adapter: StoreAdapter };

    before(async () => {
      server = await startTestServer({ backend });
      direct = openKysely(server.config.database);
    });
    after(async () => {
      await direct.db.destroy();
      await server.close();
    });

    const newOrg = () => server.createOrg();
    const addPoint = (token: string, sessionIds: string[]) =>
      server.request('POST', '/api/v1/coaching/points', {
        token,
        body: { coachingFormIds: sessionIds, type: 'strength', classification: 'qa' },
      });
    const addTodo = (token: string, sessionIds: string[]) =>
      server.request('POST', '/api/v1/coaching/todos', { token, body: { coachingFormIds: sessionIds, title: 'More' } });
    const patch = (token: string, path: string, body: unknown) => server.request('PATCH', path, { token, body });

    async function importVia(token: string, docs: ExportSession[]): Promise<void> {
      const reply = await server.request('POST', '/api/v1/coaching-sessions/import', { token, body: docs });
      assert.equal(reply.status, 200, reply.text);
    }

    async function importDirect(orgId: string, docs: ExportSession[]): Promise<void> {
      const planned = planImport(docs);
      assert.ok(planned.ok, planned.ok ? '' : planned.error);
      await server.store.applyImport(orgId, planned.plan, server.clock.now());
    }

    async function rowCounts(orgId: string): Promise<Record<string, number>> {
      const counts: Record<string, number> = {};
      const tables = ['coaching_sessions', 'coaching_points', 'todos', 'activity_log', 'coaching_point_sessions', 'todo_sessions'] as const;
      for (const table of tables) {
        const row = await direct.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('org_id', '=', orgId)
          .executeTakeFirstOrThrow();
        counts[table] = Number(row.n);
      }
      return counts;
    }

    /** Everything a refused write must leave as it was: the stored documents byte for byte, the feed with its positions, the rows. */
    async function state(orgId: string) {
      return {
        documents: await storedExport(server.store, orgId),
        feed: await server.store.changesAfter(orgId, null, 1000),
        rows: await rowCounts(orgId),
      };
    }

    async function assertRefused(
      orgId: string,
      attempt: () => Promise<{ status: number; json: { error?: unknown } }>,
      message: RegExp,
    ): Promise<void> {
      const before = await state(orgId);
      const reply = await attempt();
      assert.equal(reply.status, 409, JSON.stringify(reply.json));
      assert.equal(typeof reply.json.error, 'string');
      assert.match(reply.json.error as string, message);
      const afterwards = await state(orgId);
      assert.equal(afterwards.documents, before.documents, 'the stored documents are unchanged');
      assert.deepEqual(afterwards.feed, before.feed, 'the feed is unchanged');
      assert.deepEqual(afterwards.rows, before.rows, 'no row was written');
    }

    it('refuses a 201st coaching point with 409 and changes nothing', async () => {
      const admin = await newOrg();
      const full = withPoints(SESSION_LIMITS.coachingPoints);
      await importVia(admin.token, [full]);
      await assertRefused(
        admin.orgId,
        () => addPoint(admin.token, [full._id]),
        new RegExp(`"${full._id}" would have 201 coaching points; a session can have at most 200`),
      );
    });

    it('refuses a point linked to several sessions when one of them is full, for all of them', async () => {
      const admin = await newOrg();
      const full = withPoints(SESSION_LIMITS.coachingPoints);
      const roomy = session();
      const onRoomy = point([roomy._id]);
      roomy.coachingPoints = [onRoomy];
      await importVia(admin.token, [full, roomy]);
      await assertRefused(
        admin.orgId,
        () => addPoint(admin.token, [roomy._id, full._id]),
        new RegExp(`"${full._id}" would have 201 coaching points`),
      );
      // Linking an existing point to the full session counts too.
      await assertRefused(
        admin.orgId,
        () => patch(admin.token, `/api/v1/coaching/points/${onRoomy._id}`, { coachingFormIds: [roomy._id, full._id] }),
        /would have 201 coaching points/,
      );
      // The same point goes to the session with room.
      const ok = await addPoint(admin.token, [roomy._id]);
      assert.equal(ok.status, 201, ok.text);
    });

    it('lets exactly one of two concurrent points take the last place', async () => {
      const admin = await newOrg();
      const almost = withPoints(SESSION_LIMITS.coachingPoints - 1);
      await importVia(admin.token, [almost]);
      const replies = await Promise.all([1, 2, 3].map(() => addPoint(admin.token, [almost._id])));
      assert.deepEqual(replies.map((r) => r.status).sort(), [201, 409, 409]);
      const stored = JSON.parse(await storedExport(server.store, admin.orgId)) as ExportSession[];
      assert.equal(stored[0]!.coachingPoints.length, SESSION_LIMITS.coachingPoints);
    });

    it('refuses a 201st to-do with 409 and changes nothing', async () => {
      const admin = await newOrg();
      const full = withTodos(SESSION_LIMITS.todos);
      await importVia(admin.token, [full]);
      await assertRefused(
        admin.orgId,
        () => addTodo(admin.token, [full._id]),
        new RegExp(`"${full._id}" would have 201 to-dos; a session can have at most 200`),
      );
    });

    it('refuses the 5,001st activity-log entry with 409 and changes nothing', async () => {
      const admin = await newOrg();
      const full = session({ activityLog: logOf(SESSION_LIMITS.activityLog) });
      await importVia(admin.token, [full]);
      await assertRefused(
        admin.orgId,
        () => patch(admin.token, `/api/v1/coaching/sessions/${full._id}`, { coachNotes: 'One more entry' }),
        new RegExp(`"${full._id}" would have 5,001 activity-log entries; a session can have at most 5,000`),
      );
    });

    it('refuses a PATCH that would take the document past 2 MB, of the session or of a point, and changes nothing', async () => {
      const admin = await newOrg();
      const big = sessionOfBytes(SESSION_LIMITS.documentBytes - 30_000);
      const onBig = point([big._id]);
      big.coachingPoints = [onBig];
      await importDirect(admin.orgId, [big]);
      const notes = '€'.repeat(20_000);
      await assertRefused(
        admin.orgId,
        () => patch(admin.token, `/api/v1/coaching/sessions/${big._id}`, { coachNotes: notes }),
        new RegExp(`"${big._id}" would be 2,0\\d\\d,\\d{3} bytes as an export document; a session's document can be at most 2,000,000`),
      );
      await assertRefused(
        admin.orgId,
        () => patch(admin.token, `/api/v1/coaching/points/${onBig._id}`, { coachNotes: notes }),
        /bytes as an export document/,
      );
      // A change that stays under the limit goes through.
      const small = await patch(admin.token, `/api/v1/coaching/sessions/${big._id}`, { coachNotes: 'A short note' });
      assert.equal(small.status, 200, small.text);
    });

    it('renames the coach and to-do creator of a session near 2 MB past the limit: a name is not its write', async () => {
      const admin = await newOrg();
      // coach-1 is the session's coach and its to-do's creator; the longer name takes the document past 2 MB.
      const todos = [todo(['near-limit'], { creatorId: 'coach-1', creatorName: 'Cora Coach' })];
      const near = sessionOfBytes(SESSION_LIMITS.documentBytes - 100, { _id: 'near-limit', coachId: 'coach-1', todos });
      await importDirect(admin.orgId, [near]);
      const renamed = await patch(admin.token, '/api/v1/users/coach-1', { name: 'C'.repeat(200) });
      assert.equal(renamed.status, 200, renamed.text);
      const stored = await storedExport(server.store, admin.orgId);
      assert.equal(stored, await portableExport(server.store, admin.orgId));
      const doc = (JSON.parse(stored) as ExportSession[])[0]!;
      assert.equal(doc.coachName, 'C'.repeat(200));
      assert.equal(doc.todos[0]!.creatorName, 'C'.repeat(200));
      assert.ok(Buffer.byteLength(JSON.stringify(doc)) > SESSION_LIMITS.documentBytes, 'past the limit');
    });

    it('counts the archived entries of a long log, and their bytes, against the limits', async () => {
      const admin = await newOrg();
      const entries = SESSION_LIMITS.activityLog - 4;
      const long = session({ activityLog: logOf(entries) });
      await importVia(admin.token, [long]);
      // The first change moves the older entries out of the document row (log-archive.ts); four more reach the limit.
      for (let i = 1; i <= 4; i++) {
        const reply = await patch(admin.token, `/api/v1/coaching/sessions/${long._id}`, { coachNotes: `Entry ${i}` });
        assert.equal(reply.status, 200, reply.text);
      }
      const [archive] = await direct.db.selectFrom('session_log_archive').select('entries').where('org_id', '=', admin.orgId).execute();
      assert.equal(Number(archive?.entries), entries, 'the older entries are archived');
      await assertRefused(
        admin.orgId,
        () => patch(admin.token, `/api/v1/coaching/sessions/${long._id}`, { coachNotes: 'One more entry' }),
        new RegExp(`"${long._id}" would have 5,001 activity-log entries`),
      );

      const wide = sessionOfBytes(SESSION_LIMITS.documentBytes - 30_000, {
        activityLog: logOf(900).map((e) => ({ ...e, descriptions: ['d'.repeat(2_000)] })),
      });
      await importVia(admin.token, [wide]);
      const small = await patch(admin.token, `/api/v1/coaching/sessions/${wide._id}`, { coachNotes: 'A short note' });
      assert.equal(small.status, 200, small.text);
      await assertRefused(
        admin.orgId,
        () => patch(admin.token, `/api/v1/coaching/sessions/${wide._id}`, { coachNotes: '€'.repeat(20_000) }),
        /would be 2,0\d\d,\d{3} bytes as an export document/,
      );
    });

    it('lets a session already over a limit change in ways that do not grow it there', async () => {
      const admin = await newOrg();
      const legacy = withPoints(SESSION_LIMITS.coachingPoints);
      await importVia(admin.token, [legacy]);
      // Rows written before the limits existed: ten more points, linked and rendered past the checks.
      await direct.db.transaction().execute(async (trx) => {
        const [sample] = await trx.selectFrom('coaching_points').selectAll().where('org_id', '=', admin.orgId).limit(1).execute();
        for (let i = 0; i < 10; i++) {
          const id = `legacy-point-${i}`;
          await trx
            .insertInto('coaching_points')
            .values({ ...sample!, id })
            .execute();
          const link = { org_id: admin.orgId, item_id: id, session_id: legacy._id, position: 0 };
          await trx.insertInto('coaching_point_sessions').values(link).execute();
        }
        await refreshSessionDocuments(trx, direct.adapter, admin.orgId, [legacy._id], { documents: true, stats: true });
      });
      const patched = await patch(admin.token, `/api/v1/coaching/sessions/${legacy._id}`, { coachNotes: 'Still editable' });
      assert.equal(patched.status, 200, patched.text);
      const removed = await server.request('DELETE', '/api/v1/coaching/points/legacy-point-0', { token: admin.token });
      assert.ok(removed.status < 300, removed.text);
      await assertRefused(admin.orgId, () => addPoint(admin.token, [legacy._id]), /would have 211 coaching points/);
    });

    it('refuses an import with a document beyond a limit, naming the document and the limit, and imports nothing', async () => {
      const admin = await newOrg();
      const fine = session();
      const cases: Array<[ExportSession, RegExp]> = [
        [withPoints(SESSION_LIMITS.coachingPoints + 1), /would have 201 coaching points; a session can have at most 200/],
        [withTodos(SESSION_LIMITS.todos + 1), /would have 201 to-dos/],
        [session({ activityLog: logOf(SESSION_LIMITS.activityLog + 1) }), /would have 5,001 activity-log entries/],
        [sessionOfBytes(SESSION_LIMITS.documentBytes + 1), /would be 2,000,001 bytes as an export document/],
      ];
      for (const [over, message] of cases) {
        const reply = await server.request('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: [fine, over] });
        assert.equal(reply.status, 400, reply.text);
        assert.match(reply.json.error, new RegExp(`^Element 1: Coaching session "${over._id}" ${message.source}`));
      }
      const nothing = await state(admin.orgId);
      assert.equal(nothing.documents, '[]');
      assert.deepEqual(nothing.feed, []);
      assert.equal((await rowCounts(admin.orgId)).coaching_sessions, 0);
    });

    it('refuses an import whose points would fill an existing session past the limit (409), importing nothing', async () => {
      const admin = await newOrg();
      const existing = withPoints(SESSION_LIMITS.coachingPoints);
      await importVia(admin.token, [existing]);
      // Each document is within the limits; the point it lists also joins the full session.
      const other = session();
      other.coachingPoints = [point([other._id, existing._id])];
      await assertRefused(
        admin.orgId,
        () => server.request('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: [other] }),
        new RegExp(`"${existing._id}" would have 201 coaching points`),
      );
    });

    it('ends a change-feed page at about 8 MB, and the cursor leads through every document exactly once', async () => {
      const admin = await newOrg();
      const docs = Array.from({ length: 30 }, () => sessionOfBytes(1_050_000));
      for (let i = 0; i < docs.length; i += 10) await importDirect(admin.orgId, docs.slice(i, i + 10));
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      for (;;) {
        const query = cursor === undefined ? '?limit=1000' : `?limit=1000&cursor=${encodeURIComponent(cursor)}`;
        const reply = await server.request('GET', `/api/v1/coaching-sessions/changes${query}`, { token: admin.token });
        assert.equal(reply.status, 200, reply.text.slice(0, 200));
        const page = reply.json as { sessions: ExportSession[]; cursor: string; hasMore: boolean };
        pages++;
        const bytes = page.sessions.reduce((sum, s) => sum + Buffer.byteLength(JSON.stringify(s)), 0);
        assert.ok(page.sessions.length >= 1, 'every page progresses');
        assert.ok(bytes <= FEED_PAGE_BYTES, `page ${pages} holds ${bytes} bytes of documents`);
        seen.push(...page.sessions.map((s) => s._id));
        cursor = page.cursor;
        if (!page.hasMore) break;
        assert.ok(pages < 30, 'the feed ends');
      }
      assert.equal(pages, 5, 'seven documents of 1.05 MB a page');
      assert.deepEqual([...seen].sort(), docs.map((d) => d._id).sort());
      assert.equal(new Set(seen).size, seen.length, 'no document twice');
      const empty = await server.request('GET', `/api/v1/coaching-sessions/changes?cursor=${encodeURIComponent(cursor!)}`, {
        token: admin.token,
      });
      assert.deepEqual(empty.json.sessions, []);
      assert.equal(empty.json.hasMore, false);

      // The store's answer for a bound: changes up to the one that crosses it, and always the first two.
      const bounded = await server.store.changesAfter(admin.orgId, null, 1001, 2_500_000);
      assert.equal(bounded.length, 3, 'two fit, the third crosses');
      const tight = await server.store.changesAfter(admin.orgId, null, 1001, 10);
      assert.equal(tight.length, 2);
      assert.equal((await server.store.changesAfter(admin.orgId, null, 1001)).length, 30);
    });
  });
}

describe('a feed page cut by bytes', () => {
  const change = (seq: number, bytes: number) => ({ position: { xid: '0', seq: String(seq) }, doc: 'x'.repeat(bytes) });

  it('holds at least one change, even one larger than the bound, and says more follow', () => {
    const page = feedPage([change(1, 50), change(2, 10)], 10, 20);
    assert.deepEqual(
      page.changes.map((c) => c.position.seq),
      ['1'],
    );
    assert.equal(page.hasMore, true);
  });

  it('stops before the change that would pass the bound, or at the limit', () => {
    const page = feedPage([change(1, 8), change(2, 8), change(3, 8)], 10, 20);
    assert.deepEqual(
      page.changes.map((c) => c.position.seq),
      ['1', '2'],
    );
    assert.equal(page.hasMore, true);
    const limited = feedPage([change(1, 1), change(2, 1), change(3, 1)], 2, 20);
    assert.deepEqual(
      limited.changes.map((c) => c.position.seq),
      ['1', '2'],
    );
    assert.equal(limited.hasMore, true);
    const all = feedPage([change(1, 1), change(2, 1)], 2, 20);
    assert.equal(all.hasMore, false);
  });
});

describe('coachport import and the size limits', () => {
  let cwd: string;
  before(() => {
    cwd = tempDir();
  });
  after(() => fs.rmSync(cwd, { recursive: true, force: true }));

  it('refuses a file with a session beyond a limit, names it, and imports nothing', async () => {
    const created = await runCli(['org', 'create', '--name', 'Acme', '--admin-email', 'a@acme.test', '--json'], { cwd });
    assert.equal(created.code, 0, created.stderr);
    const over = withTodos(SESSION_LIMITS.todos + 1);
    fs.writeFileSync(path.join(cwd, 'over.json'), JSON.stringify([session(), over]));
    const result = await runCli(['import', 'over.json'], { cwd });
    assert.notEqual(result.code, 0);
    const limit = 'a session can have at most 200';
    const expected = `Nothing was imported\\. Element 1: Coaching session "${over._id}" would have 201 to-dos; ${limit}`;
    assert.match(result.stderr, new RegExp(expected));
    const store = await openStore({ kind: 'sqlite', file: path.join(cwd, 'data', 'coachport.db') });
    try {
      const [org] = await store.listOrganizations();
      assert.equal(await storedExport(store, org!.id), '[]');
    } finally {
      await store.close();
    }
  });
});
