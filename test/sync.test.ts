import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { TABLE_NAMES } from '../src/client/tables.js';
import { generateSeed } from '../src/seed/generate.js';
import { copyText } from '../src/sync/copy-text.js';
import { Mirror } from '../src/sync/mirror.js';
import { SyncError, syncOnce, type SyncOptions } from '../src/sync/sync.js';
import { exportedTables, mirrorTargets, mirroredTables, type Target } from './helpers/mirror.js';
import { startTestServer, type TestServer } from './helpers/server.js';

describe('the rows a PostgreSQL mirror is written with (COPY text format)', () => {
  it('escapes what COPY reads as separators or escapes, and writes null, booleans and numbers as its input functions read them', () => {
    const text = [...copyText([['a\tb', 'line\r\nnext', 'back\\slash \\N', null, true, false, 0, '', 'é 👋']])].join('');
    assert.equal(text, 'a\\tb\tline\\r\\nnext\tback\\\\slash \\\\N\t\\N\tt\tf\t0\t\té 👋\n');
  });

  it('splits long inputs into chunks of whole rows', () => {
    const rows = Array.from({ length: 100 }, (_, i) => [`row ${i}`, i]);
    const chunks = [...copyText(rows, 64)];
    assert.ok(chunks.length > 1);
    assert.ok(chunks.every((chunk) => chunk.endsWith('\n')));
    assert.equal(chunks.join(''), rows.map(([name, i]) => `${name}\t${i}\n`).join(''));
  });
});

for (const kind of await mirrorTargets()) {
  describe(`coachport sync keeps a ${kind.name} equal to the export`, () => {
    let server: TestServer;
    let target: Target;
    let mirror: Mirror;
    let admin: { orgId: string; token: string };
    let coach: { id: string; token: string };
    let agent: { id: string; token: string };
    let options: SyncOptions;

    before(async () => {
      target = await kind.make();
      server = await startTestServer();
      admin = await server.createOrg();
      // Two months of realistic sessions before "today" (the server clock's 2024-03-01).
      const now = server.clock.now();
      const seeded = generateSeed({ sessions: 300, days: 25, seed: 7, endMs: now - 86_400_000, nowMs: now });
      await server.store.applyImport(admin.orgId, seeded, now);
      const made: Record<string, { id: string; token: string }> = {};
      for (const role of ['coach', 'agent'] as const) {
        const user = await server.request('POST', '/api/v1/users', {
          token: admin.token,
          body: { email: `${role}@sync.test`, name: `${role} one`, role },
        });
        const token = await server.request('POST', '/api/v1/tokens', { token: admin.token, body: { userId: user.json.id } });
        made[role] = { id: user.json.id, token: token.json.token };
      }
      coach = made.coach!;
      agent = made.agent!;
      mirror = await Mirror.open(target.url);
      options = {
        url: server.url,
        token: admin.token,
        from: '2024-01-01',
        lookbackDays: 30,
        now: () => server.clock.now(),
        client: { perSecond: 10_000, perMinute: 1_000_000, feedPerSecond: 10_000, feedPerMinute: 1_000_000 },
      };
    });
    after(async () => {
      await mirror?.close();
      await server?.close();
      await target?.drop();
    });

    const assertMirrorEqualsExport = async () => {
      const [mirrored, exported] = await Promise.all([mirroredTables(mirror), exportedTables(server.url, admin.token)]);
      for (const table of TABLE_NAMES) assert.deepEqual(mirrored[table], exported[table], `table ${table}`);
      return exported;
    };

    it('fills a fresh mirror with every table of the CSV export', async () => {
      const summary = await syncOnce(mirror, { ...options, pageSize: 70 });
      assert.equal(summary.mode, 'feed');
      assert.deepEqual([summary.sessions, summary.written, summary.pages], [300, 300, 5]);
      const exported = await assertMirrorEqualsExport();
      assert.equal(exported.sessions.length, 300);
      assert.ok(exported.coaching_points.length > 0 && exported.todos.length > 0 && exported.activity_log.length > 0);
    });

    it('follows edits of every kind, deletions included', async () => {
      const coachAs = { token: coach.token };
      server.clock.advance(60_000);
      const template = await server.request('POST', '/api/v1/coaching-templates', { token: admin.token, body: { name: 'Sync review' } });
      const created = await server.request('POST', '/api/v1/coaching/sessions', {
        ...coachAs,
        body: {
          coachingFormName: 'Mirror me',
          agentId: agent.id,
          coachingTemplateId: template.json.id,
          meetingDate: '2024-03-04T10:00:00.000Z',
          coachNotes: 'a, "quoted"\r\nnote\twith a tab, a backslash \\ and \\N\n\\.\n',
        },
      });
      assert.equal(created.status, 201, created.text);
      const second = await server.request('POST', '/api/v1/coaching/sessions', {
        ...coachAs,
        body: { coachingFormName: 'Second', agentId: agent.id },
      });
      const id = created.json._id as string;
      const point = await server.request('POST', '/api/v1/coaching/points', {
        ...coachAs,
        body: { coachingFormIds: [id], type: 'strength', classification: 'qa', subject: 'Greeting\t\\ "é" 👋' },
      });
      assert.equal(point.status, 201, point.text);
      const gone = await server.request('POST', '/api/v1/coaching/points', {
        ...coachAs,
        body: { coachingFormIds: [id], type: 'n/a', classification: 'general' },
      });
      const todo = await server.request('POST', '/api/v1/coaching/todos', {
        ...coachAs,
        body: { coachingFormIds: [id, second.json._id], title: 'Listen again' },
      });
      assert.equal((await syncOnce(mirror, options)).written, 2);
      await assertMirrorEqualsExport();

      server.clock.advance(60_000);
      const edits: Array<[string, string, unknown, string]> = [
        ['PATCH', `/api/v1/coaching/sessions/${id}`, { coachNotes: 'changed' }, coach.token],
        ['POST', `/api/v1/coaching/sessions/${id}/share`, undefined, coach.token],
        ['PATCH', `/api/v1/coaching/sessions/${id}`, { agentNotes: 'seen' }, agent.token],
        ['POST', `/api/v1/coaching/sessions/${id}/confirm`, undefined, agent.token],
        ['POST', `/api/v1/coaching/sessions/${id}/confirm`, undefined, coach.token],
        // The point moves to the other session only: its link to the first one must go.
        ['PATCH', `/api/v1/coaching/points/${point.json._id}`, { coachingFormIds: [second.json._id], score: '4' }, coach.token],
        ['DELETE', `/api/v1/coaching/points/${gone.json._id}`, undefined, coach.token],
        ['PATCH', `/api/v1/coaching/todos/${todo.json._id}`, { status: 'complete' }, coach.token],
        ['DELETE', `/api/v1/coaching/sessions/${second.json._id}`, undefined, coach.token],
      ];
      for (const [method, url, body, token] of edits) {
        const reply = await server.request(method, url, { token, body });
        assert.ok(reply.status < 300, `${method} ${url}: ${reply.status} ${reply.text}`);
      }
      // An old, imported session edited today: its days are outside the lookback only if old enough.
      const summary = await syncOnce(mirror, options);
      assert.equal(summary.written, 2);
      const exported = await assertMirrorEqualsExport();
      const deleted = exported.sessions.find((r) => r.startsWith(`${second.json._id},`));
      assert.ok(deleted?.endsWith(',true'), 'the deleted session keeps its row, flagged');
      assert.equal(exported.coaching_point_sessions.filter((r) => r.startsWith(`${point.json._id},`)).length, 1);

      if (target.name === 'postgres') {
        // The query of docs/data-team.md, with "now" at the test clock's day.
        const page = fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/data-team.md'), 'utf8');
        const query = /```sql\n([\s\S]*?)```/.exec(page)![1]!.replace('now()', "timestamptz '2024-03-02'");
        const client = new pg.Client({ connectionString: target.url });
        await client.connect();
        try {
          const rows = (await client.query(query)).rows as Array<{ coachName: string; shared: string; acknowledged_pct: string }>;
          const mine = rows.find((r) => r.coachName === 'coach one');
          assert.deepEqual([mine?.shared, mine?.acknowledged_pct], ['1', '100.0']);
        } finally {
          await client.end();
        }
      }
    });

    it('follows a template rename into every session that shows it', async () => {
      const templates = await server.request('GET', '/api/v1/coaching-templates', { token: admin.token });
      const template = (templates.json as Array<{ id: string; name: string }>).find((t) => t.name === 'Sync review')!;
      const renamed = await server.request('PATCH', `/api/v1/coaching-templates/${template.id}`, {
        token: admin.token,
        body: { name: 'Sync review, renamed' },
      });
      assert.equal(renamed.status, 200, renamed.text);
      const summary = await syncOnce(mirror, options);
      assert.equal(summary.written, 1);
      const exported = await assertMirrorEqualsExport();
      assert.ok(exported.sessions.some((row) => row.includes(',"Sync review, renamed",')));
    });

    it('drops a point and a to-do that an import leaves listed by no session', async () => {
      server.clock.advance(60_000);
      const coachAs = { token: coach.token };
      const made = await server.request('POST', '/api/v1/coaching/sessions', {
        ...coachAs,
        body: { coachingFormName: 'Trim', agentId: agent.id },
      });
      const id = made.json._id as string;
      const point = await server.request('POST', '/api/v1/coaching/points', {
        ...coachAs,
        body: { coachingFormIds: [id], type: 'strength', classification: 'qa' },
      });
      const todo = await server.request('POST', '/api/v1/coaching/todos', {
        ...coachAs,
        body: { coachingFormIds: [id], title: 'Trim me' },
      });
      assert.equal((await syncOnce(mirror, options)).written, 1);
      const before = await assertMirrorEqualsExport();
      assert.ok(before.todos.some((r) => r.startsWith(`${todo.json._id},`)));

      server.clock.advance(60_000);
      const current = await server.request('GET', `/api/v1/coaching/sessions/${id}`, { token: admin.token });
      const trimmed = { ...current.json, coachingPoints: [], todos: [] };
      const imported = await server.request('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: [trimmed] });
      assert.equal(imported.status, 200, imported.text);
      assert.equal((await syncOnce(mirror, options)).written, 1);
      const after = await assertMirrorEqualsExport();
      assert.ok(!after.todos.some((r) => r.startsWith(`${todo.json._id},`)), 'the to-do is in no export, nor in the mirror');
      assert.ok(!after.coaching_points.some((r) => r.startsWith(`${point.json._id},`)), 'the point likewise');
    });

    it('writes nothing when nothing changed', async () => {
      const before = await target.fingerprint();
      const summary = await syncOnce(mirror, options);
      assert.equal(summary.mode, 'feed');
      assert.deepEqual([summary.sessions, summary.written, summary.pages], [0, 0, 1]);
      assert.equal(await target.fingerprint(), before);
    });

    it('stops a second sync whose position moved under it, writing nothing of its page', async () => {
      const second = await Mirror.open(target.url);
      try {
        const state = await second.readState();
        const sessionId = String((await mirror.rows('sessions')).find((row) => !row.isDeleted)!._id);
        const edited = await server.request('PATCH', `/api/v1/coaching/sessions/${sessionId}`, {
          token: admin.token,
          body: { coachNotes: 'Newer than the other sync knows' },
        });
        assert.equal(edited.status, 200, edited.text);
        const summary = await syncOnce(mirror, options);
        assert.equal(summary.written, 1);
        const stale = {
          ...(JSON.parse((await server.request('GET', `/api/v1/coaching/sessions/${sessionId}`, { token: admin.token })).text) as Record<
            string,
            unknown
          >),
          coachNotes: 'An older page',
        };
        const before = await target.fingerprint();
        await assert.rejects(
          second.apply([stale as never], { ...state, cursor: 'a cursor fetched before the other sync moved on' }),
          (error: Error) => {
            assert.ok(error instanceof SyncError);
            assert.match(
              error.message,
              /Another sync is writing to this mirror \(its cursor changed while this one ran\); nothing of this page was written/,
            );
            return true;
          },
        );
        assert.equal(await target.fingerprint(), before);
        await assertMirrorEqualsExport();
        // A run of its own reads the state again and goes on from there.
        assert.equal((await syncOnce(second, options)).written, 0);
      } finally {
        await second.close();
      }
    });

    it('makes a second sync wait for the page another is writing, then stop without writing', async () => {
      const second = await Mirror.open(target.url, { busyTimeoutMs: 200 });
      try {
        const original = await mirror.readState();
        await second.readState();
        const sessionId = String((await mirror.rows('sessions')).find((row) => !row.isDeleted)!._id);
        const current = JSON.parse(
          (await server.request('GET', `/api/v1/coaching/sessions/${sessionId}`, { token: admin.token })).text,
        ) as Record<string, unknown>;
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let entered!: () => void;
        const inside = new Promise<void>((resolve) => (entered = resolve));
        // The first sync's page stops halfway, inside its transaction, so it holds the lock.
        async function* halfway() {
          yield current as never;
          entered();
          await gate;
        }
        const first = mirror.apply(halfway(), { ...original, cursor: 'moved by the first sync' });
        let secondPage: Promise<number>;
        try {
          await inside;
          let settled = false;
          secondPage = second.apply([], { ...original, cursor: 'moved by the second sync' }).finally(() => (settled = true));
          secondPage.catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 300));
          if (kind.name.includes('PostgreSQL')) assert.equal(settled, false, 'the second sync waits for the page of the first');
        } finally {
          release();
          await first;
        }
        // PostgreSQL: it waited, then read the moved cursor. SQLite: better-sqlite3 waited for the
        // lock (synchronously, this process held it) and gave up after its busy timeout.
        await assert.rejects(secondPage, (error: Error) => {
          assert.ok(error instanceof SyncError);
          const why = kind.name.includes('PostgreSQL')
            ? 'its cursor changed while this one ran'
            : 'it has held the write lock for over 200 ms';
          assert.equal(error.message.split(';')[0], `Another sync is writing to this mirror (${why})`);
          return true;
        });
        assert.equal((await mirror.readState()).cursor, 'moved by the first sync');
        await mirror.apply([], original);
      } finally {
        await second.close();
      }
    });

    it('refuses to mix another organization into the mirror, saying how to start over', async () => {
      const other = await server.createOrg('Other');
      await assert.rejects(syncOnce(mirror, { ...options, token: other.token }), (error: Error) => {
        assert.ok(error instanceof SyncError);
        assert.match(error.message, /another organization[\s\S]*delete the row 'cursor'/);
        return true;
      });
    });
  });
}
