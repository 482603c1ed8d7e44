import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import addFormats from 'ajv-formats';
import type { ExportSession } from '../src/contract/schemas.js';
import fs from 'node:fs';
import path from 'node:path';
import { encodeCursor } from '../src/feed/cursor.js';
import { fileBatches } from '../src/importer/file-batches.js';
import { planImport } from '../src/importer/plan.js';
import { resolveFeedCursorSecret } from '../src/feed/cursor-secret.js';
import { refreshSessionDocuments } from '../src/store/documents/refresh.js';
import { postgresAdapter } from '../src/store/postgres/adapter.js';
import type { Database } from '../src/store/schema.js';
import { openStore } from '../src/store/open.js';
import { storeBackends, tempDir } from './helpers/backends.js';
import { openKysely } from './helpers/kysely.js';
import { session as fixtureSession } from './helpers/fixtures.js';
import { GENEROUS, startTestServer, type TestServer } from './helpers/server.js';

interface Page {
  sessions: ExportSession[];
  cursor: string;
  hasMore: boolean;
}

for (const backend of await storeBackends()) {
  describe(`the change feed over HTTP (${backend.name})`, () => {
    let server: TestServer;
    let admin: { orgId: string; token: string };
    let coach: { userId: string; token: string };
    let agent: { userId: string; token: string };
    let template: string;
    let cursor: string | null = null;

    const page = async (query: string, token = admin.token) =>
      server.request('GET', `/api/v1/coaching-sessions/changes${query}`, { token });

    /** Follows the cursor until hasMore is false: every page, and where it ends. */
    async function follow(from: string | null, limit: number, token = admin.token) {
      const pages: Page[] = [];
      let at = from;
      for (;;) {
        const reply = await page(`?limit=${limit}${at === null ? '' : `&cursor=${encodeURIComponent(at)}`}`, token);
        assert.equal(reply.status, 200, reply.text);
        const body = reply.json as Page;
        pages.push(body);
        at = body.cursor;
        if (!body.hasMore) return { pages, cursor: at, sessions: pages.flatMap((p) => p.sessions) };
      }
    }

    /**
     * Follows the cursor until every session in `expected` has arrived. On PostgreSQL a change is
     * held back while any older write transaction on the database server is still running (other
     * test runs share it), so the feed promises every change, not at once.
     */
    async function followUntil(from: string | null, expected: string[], limit = 500) {
      const latest = new Map<string, ExportSession>();
      let at = from;
      for (const deadline = Date.now() + 15_000; ; ) {
        const next = await follow(at, limit);
        for (const s of next.sessions) latest.set(s._id, s);
        at = next.cursor;
        if (expected.every((id) => latest.has(id)) || Date.now() > deadline) return { cursor: at, sessions: [...latest.values()] };
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    const call = async (method: string, path: string, body?: unknown, token = admin.token) => {
      const reply = await server.request(method, path, { token, body });
      assert.ok(reply.status < 300, `${method} ${path}: ${reply.status} ${reply.text}`);
      return reply.json;
    };

    before(async () => {
      server = await startTestServer({ backend });
      admin = await server.createOrg();
      coach = await server.addUser(admin.orgId, 'coach', 'Cora Coach');
      agent = await server.addUser(admin.orgId, 'agent', 'Aldo Agent');
      template = (await call('POST', '/api/v1/coaching-templates', { name: 'QA review' })).id;
    });
    after(() => server.close());

    it('answers an organization with no sessions with an empty page, and the same cursor again', async () => {
      const first = await page('');
      assert.equal(first.status, 200, first.text);
      assert.deepEqual([first.json.sessions, first.json.hasMore], [[], false]);
      const again = await page(`?cursor=${encodeURIComponent(first.json.cursor)}`);
      assert.deepEqual(again.json, first.json);
    });

    it("pages through every session once, in the export's own bytes, then only what changed", async () => {
      const docs = Array.from({ length: 23 }, (_, i) =>
        fixtureSession({ createdAt: `2024-02-${String(i + 1).padStart(2, '0')}T10:00:00.000Z`, coachNotes: `n${i} "q"\nü` }),
      );
      await call('POST', '/api/v1/coaching-sessions/import', docs);
      // Once one import is visible, all of it is: it was one transaction.
      await followUntil(null, [docs[0]!._id]);
      const all = await follow(null, 5);
      assert.deepEqual(
        all.pages.map((p) => [p.sessions.length, p.hasMore]),
        [
          [5, true],
          [5, true],
          [5, true],
          [5, true],
          [3, false],
        ],
      );
      const ids = all.sessions.map((s) => s._id);
      assert.equal(new Set(ids).size, 23);
      assert.deepEqual([...ids].sort(), docs.map((d) => d._id).sort());
      const exported = await server.exportSessions(admin.token, { startDate: '2024-02-01', endDate: '2024-02-28', timeAxis: 'createdAt' });
      const byId = new Map((exported.json as ExportSession[]).map((s) => [s._id, s]));
      for (const s of all.sessions) assert.deepEqual(s, byId.get(s._id));
      // The raw page holds the export's bytes for each document.
      const raw = await page(`?limit=1`);
      assert.ok(exported.text.includes(JSON.stringify(raw.json.sessions[0])));

      // Three sessions changed, one of them three times: each appears once, in its last state.
      for (const note of ['one', 'two', 'three']) await call('PATCH', `/api/v1/coaching/sessions/${ids[4]}`, { coachNotes: note });
      await call('DELETE', `/api/v1/coaching/sessions/${ids[9]}`);
      await call('POST', `/api/v1/coaching/sessions/${ids[0]}/share`);
      const changed = await followUntil(all.cursor, [ids[0]!, ids[4]!, ids[9]!], 2);
      assert.deepEqual(changed.sessions.map((s) => s._id).sort(), [ids[0], ids[4], ids[9]].sort());
      assert.equal(changed.sessions.find((s) => s._id === ids[4])!.coachNotes, 'three');
      assert.equal(changed.sessions.find((s) => s._id === ids[9])!.isDeleted, true);
      const nothing = await follow(changed.cursor, 500);
      assert.deepEqual([nothing.sessions, nothing.cursor], [[], changed.cursor]);
      cursor = changed.cursor;
    });

    it('brings a session back after every kind of change', async () => {
      const made = await call(
        'POST',
        '/api/v1/coaching/sessions',
        { coachingFormName: 'Kinds', agentId: agent.userId, coachId: coach.userId, coachingTemplateId: template },
        coach.token,
      );
      const other = await call('POST', '/api/v1/coaching/sessions', { coachingFormName: 'Other', agentId: agent.userId }, coach.token);
      const id = made._id as string;
      cursor = (await followUntil(cursor, [made._id, other._id])).cursor;
      const point = { id: '' };
      const todoRef = { id: '' };
      const kinds: Array<[string, () => Promise<unknown>, (s: ExportSession) => boolean, string[]?]> = [
        [
          'edit',
          () => call('PATCH', `/api/v1/coaching/sessions/${id}`, { coachNotes: 'edited' }, coach.token),
          (s) => s.coachNotes === 'edited',
        ],
        ['share', () => call('POST', `/api/v1/coaching/sessions/${id}/share`, undefined, coach.token), (s) => s.sharedWithAgent],
        ['agent confirms', () => call('POST', `/api/v1/coaching/sessions/${id}/confirm`, undefined, agent.token), (s) => s.agentConfirmed],
        ['coach confirms', () => call('POST', `/api/v1/coaching/sessions/${id}/confirm`, undefined, coach.token), (s) => s.coachConfirmed],
        [
          'point added',
          async () =>
            (point.id = (
              await call('POST', '/api/v1/coaching/points', { coachingFormIds: [id], type: 'strength', classification: 'qa' }, coach.token)
            )._id),
          (s) => s.coachingPoints.length === 1,
        ],
        [
          'point linked to another session',
          () => call('PATCH', `/api/v1/coaching/points/${point.id}`, { coachingFormIds: [id, other._id] }, coach.token),
          (s) => s.coachingPoints[0]!.coachingFormIds.length === 2,
          [id, other._id],
        ],
        [
          'point deleted',
          () => call('DELETE', `/api/v1/coaching/points/${point.id}`, undefined, coach.token),
          (s) => s.coachingPoints[0]!.isDeleted,
          [id, other._id],
        ],
        [
          'to-do added',
          async () =>
            (todoRef.id = (await call('POST', '/api/v1/coaching/todos', { coachingFormIds: [id], title: 'Do it' }, coach.token))._id),
          (s) => s.todos.length === 1,
        ],
        [
          'to-do completed',
          () => call('PATCH', `/api/v1/coaching/todos/${todoRef.id}`, { status: 'complete' }, coach.token),
          (s) => s.todos[0]!.completedAt !== null,
        ],
        [
          'to-do deleted',
          () => call('DELETE', `/api/v1/coaching/todos/${todoRef.id}`, undefined, coach.token),
          (s) => s.todos[0]!.isDeleted,
        ],
        [
          'template renamed',
          () => call('PATCH', `/api/v1/coaching-templates/${template}`, { name: 'QA review v2' }),
          (s) => s.coachingTemplateName === 'QA review v2',
        ],
        [
          're-imported',
          async () => {
            const current = (await call('GET', `/api/v1/coaching/sessions/${id}`)) as ExportSession;
            return call('POST', '/api/v1/coaching-sessions/import', [{ ...current, agentNotes: 'imported' }]);
            // The point it lists again is unchanged: the other session's document is too, and keeps its place.
          },
          (s) => s.agentNotes === 'imported',
        ],
        ['deleted', () => call('DELETE', `/api/v1/coaching/sessions/${id}`, undefined, coach.token), (s) => s.isDeleted],
      ];
      for (const [what, run, holds, expected = [id]] of kinds) {
        server.clock.advance(1000);
        await run();
        const next = await followUntil(cursor, expected);
        assert.deepEqual(next.sessions.map((s) => s._id).sort(), [...expected].sort(), `after "${what}" exactly the sessions it shows in`);
        assert.ok(holds(next.sessions.find((s) => s._id === id)!), `after "${what}" the document is current`);
        cursor = next.cursor;
      }
    });

    it('leaves a session holding half a surrogate pair in its place when it is imported again unchanged', async () => {
      const doc = fixtureSession({ createdAt: '2024-02-11T10:00:00.000Z', agentNotes: 'lone \ud83d half' });
      const file = path.join(tempDir(), 'half.ndjson');
      fs.writeFileSync(file, `${JSON.stringify(doc)}\n`);
      const planned = planImport([doc]);
      assert.ok(planned.ok);
      await server.store.applyImport(admin.orgId, planned.plan, server.clock.now());
      const first = await followUntil(cursor, [doc._id]);
      assert.equal(first.sessions.find((s) => s._id === doc._id)!.agentNotes, 'lone \ufffd half', 'stored as the databases keep it');
      // Again as one plan, and streamed from a file (documents encoded on the reading thread).
      await server.store.applyImport(admin.orgId, planned.plan, server.clock.now());
      await server.store.importBatches(admin.orgId, fileBatches(file).batches, server.clock.now());
      const again = await follow(first.cursor, 500);
      assert.deepEqual(again.sessions, [], 'nothing changed, so nothing moves');
      cursor = again.cursor;
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    });

    it('refuses cursors it did not issue or of another organization, limits outside 1..1000, and non-admins', async () => {
      const other = await server.createOrg('Other');
      const theirs = (await page('', other.token)).json.cursor as string;
      const ours = (await page('')).json.cursor as string;
      const [payload, mac] = ours.split('.');
      const edited = `${Buffer.from(
        Buffer.from(payload!, 'base64url')
          .toString('utf8')
          .replace(/\n\d+$/, '\n1'),
      ).toString('base64url')}.${mac}`;
      for (const [query, message] of [
        [`?cursor=${encodeURIComponent(theirs)}`, /another organization|not issued/],
        ['?cursor=bm90LWEtY3Vyc29y', /not issued by this server/],
        [`?cursor=${encodeURIComponent(edited)}`, /not issued by this server/],
        [`?cursor=${encodeURIComponent(`${ours}x`)}`, /not issued by this server/],
        ['?limit=0', /limit must be a whole number from 1 to 1000/],
        ['?limit=1001', /limit must be a whole number from 1 to 1000/],
        ['?limit=ten', /limit must be a whole number/],
        ['?limit=1.5', /limit must be a whole number/],
      ] as const) {
        const reply = await page(query);
        assert.equal(reply.status, 400, `${query}: ${reply.text}`);
        assert.deepEqual(Object.keys(reply.json), ['error']);
        assert.match(reply.json.error, message, query);
      }
      // Even a cursor made with the key (the one kept in the database) never reaches the database
      // with a position it cannot hold.
      const secret = await resolveFeedCursorSecret(server.config, server.store, 0);
      const huge = encodeCursor(secret, admin.orgId, { xid: '99999999999999999999', seq: '1' });
      assert.equal((await page(`?cursor=${encodeURIComponent(huge)}`)).status, 400);
      const far = await page(
        `?cursor=${encodeURIComponent(encodeCursor(secret, admin.orgId, { xid: '9223372036854775807', seq: '9223372036854775807' }))}`,
      );
      // Beyond any position this database handed out (a database restored from an older backup):
      // read from there, what changed since the restore would be skipped for good.
      assert.equal(far.status, 400);
      assert.match(far.json.error, /ahead of this server's change feed: its database was restored from an older backup/);
      const last = await page('?limit=1000');
      assert.equal(last.status, 200);
      const next = await page(`?cursor=${encodeURIComponent(last.json.cursor)}`);
      assert.deepEqual([next.status, next.json.sessions], [200, []], 'the last cursor handed out is not ahead');
      assert.equal((await page('?limit=1000')).status, 200);
      assert.equal((await page('?limit=1')).status, 200);
      const refused = await page('', coach.token);
      assert.equal(refused.status, 403);
      assert.equal((await server.request('GET', '/api/v1/coaching-sessions/changes')).status, 401);
    });

    if (backend.name === 'postgres') {
      it('hands out again, from the start, documents whose positions are of another cluster (restored into a new one)', async () => {
        const made = await server.request('POST', '/api/v1/coaching/sessions', {
          token: admin.token,
          body: { coachingFormName: 'Restored elsewhere', agentId: agent.userId },
        });
        assert.equal(made.status, 201, made.text);
        const { db } = openKysely(server.config.database);
        try {
          // What pg_restore into a new cluster leaves: transaction ids beyond any the new one has handed out.
          await sql`update session_documents set xid = '9000000000000000000'::xid8 where org_id = ${admin.orgId}`.execute(db);
          const held = await follow(null, 1000);
          assert.ok(!held.sessions.some((s) => s._id === made.json._id), 'held back while its xid lies ahead');
          // The store opened on the database again, as a server starting on the restored one.
          await (await openStore(server.config.database)).close();
          const ids = (await followUntil(null, [made.json._id])).sessions.map((s) => s._id);
          assert.ok(ids.includes(made.json._id), 'handed out again once the store was opened on it');
        } finally {
          await db.destroy();
        }
      });
    }

    it('is documented in OpenAPI with the schema real pages satisfy', async () => {
      const document = (await server.request('GET', '/openapi.json')).json;
      const operation = document.paths['/api/v1/coaching-sessions/changes'].get;
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats.default(ajv);
      const validate = ajv.compile(operation.responses['200'].content['application/json'].schema);
      const reply = await page('?limit=50');
      assert.ok(reply.json.sessions.length > 0, 'sessions made by the tests above');
      assert.ok(validate(reply.json), JSON.stringify(validate.errors));
      assert.ok(!validate({ ...(reply.json as object), hasMore: 'no' }));
      assert.ok(operation.parameters.some((p: { name: string }) => p.name === 'cursor'));
    });
  });
}

describe("the change feed's rate limits", () => {
  let server: TestServer;
  let token: string;
  before(async () => {
    server = await startTestServer({
      configure: (c) => ({ ...c, limits: { ...c.limits, feed: { perSecond: 2, perMinute: 3 }, export: GENEROUS } }),
    });
    ({ token } = await server.createOrg());
  });
  after(() => server.close());

  it('has its own bucket: its 429s leave the export and the rest of the API alone', async () => {
    const feed = () => server.request('GET', '/api/v1/coaching-sessions/changes', { token });
    assert.equal((await feed()).status, 200);
    const second = await feed();
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('ratelimit-limit'), '2');
    const third = await feed();
    assert.equal(third.status, 429);
    assert.deepEqual(third.json, { error: 'Too many requests in the past second.' });
    assert.equal(third.headers.get('retry-after'), '1');
    assert.equal(
      (await server.exportSessions(token, { startDate: '2024-01-01', endDate: '2024-01-01', timeAxis: 'createdAt' })).status,
      200,
    );
    assert.equal((await server.request('GET', '/api/v1/coaching-templates', { token })).status, 200);
    server.clock.advance(1000);
    assert.equal((await feed()).status, 200);
    const perMinute = await feed();
    assert.equal(perMinute.status, 429);
    assert.deepEqual(perMinute.json, { error: 'Too many requests in the past minute.' });
  });
});

const postgres = (await storeBackends()).find((b) => b.name === 'postgres');
describe('the change feed when transactions commit in another order than they started (postgres)', {
  skip: postgres ? false : 'PostgreSQL is not reachable',
}, () => {
  let server: TestServer;
  let admin: { orgId: string; token: string };
  let direct: { db: Kysely<Database> };
  before(async () => {
    server = await startTestServer({ backend: postgres! });
    admin = await server.createOrg();
    // A connection of its own, beside the server's, as another feature's code would hold; a
    // connection ended by the database's drop after the test must not crash the run.
    const pool = new pg.Pool({
      connectionString: (server.config.database as { url: string }).url,
      max: 2,
      // As the store reads them: bigint instants as numbers.
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
      },
    });
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    direct = { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }) };
  });
  after(async () => {
    await direct.db.destroy();
    await server.close();
  });

  it("hands a slow transaction's change to a reader that polled past later commits meanwhile", async () => {
    const [a, b] = [fixtureSession(), fixtureSession()];
    assert.equal((await server.request('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: [a, b] })).status, 200);
    const read = async (cursor: string | null) => {
      const reply = await server.request(
        'GET',
        `/api/v1/coaching-sessions/changes${cursor === null ? '' : `?cursor=${encodeURIComponent(cursor)}`}`,
        { token: admin.token },
      );
      assert.equal(reply.status, 200, reply.text);
      return reply.json as Page;
    };
    let cursor = (await read(null)).cursor;
    const seen: ExportSession[] = [];

    // The slow transaction changes A and takes its feed position first (rewriting the document, as
    // every change does), then waits before committing.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const hasWritten = new Promise<void>((resolve) => (started = resolve));
    const slow = direct.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('coaching_sessions')
        .set({ coach_notes: 'slow' })
        .where('org_id', '=', admin.orgId)
        .where('id', '=', a._id)
        .execute();
      await refreshSessionDocuments(trx, postgresAdapter, admin.orgId, [a._id]);
      started();
      await gate;
    });
    await hasWritten;
    // A later transaction changes B and commits first; a reader polls meanwhile.
    const fast = await server.request('PATCH', `/api/v1/coaching/sessions/${b._id}`, { token: admin.token, body: { coachNotes: 'fast' } });
    assert.equal(fast.status, 200, fast.text);
    for (let poll = 0; poll < 3; poll++) {
      const page = await read(cursor);
      seen.push(...page.sessions);
      cursor = page.cursor;
    }
    release();
    await slow;
    const arrived = () =>
      seen.some((s) => s._id === a._id && s.coachNotes === 'slow') && seen.some((s) => s._id === b._id && s.coachNotes === 'fast');
    for (const deadline = Date.now() + 15_000; !arrived() && Date.now() < deadline; ) {
      const page = await read(cursor);
      seen.push(...page.sessions);
      cursor = page.cursor;
      if (!page.hasMore) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(
      seen.some((s) => s._id === b._id && s.coachNotes === 'fast'),
      'the fast change arrives',
    );
    assert.ok(
      seen.some((s) => s._id === a._id && s.coachNotes === 'slow'),
      'the slow change arrives although a later one committed first',
    );
  });
});
