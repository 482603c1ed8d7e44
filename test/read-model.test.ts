import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import type { StoreAdapter } from '../src/store/adapter.js';
import { refreshDocumentsOfTemplate, refreshDocumentsShowingUser, refreshSessionDocuments } from '../src/store/documents/refresh.js';
import { postgresAdapter } from '../src/store/postgres/adapter.js';
import type { Database } from '../src/store/schema.js';
import type { FeedPosition } from '../src/store/store.js';
import { storeBackends } from './helpers/backends.js';
import { eventually } from './helpers/deadline.js';
import { portableExport, storedExport } from './helpers/documents.js';
import { point, session, todo } from './helpers/fixtures.js';
import { openKysely } from './helpers/kysely.js';
import { expectedStatsRows, storedStatsRows } from './helpers/stats-rows.js';
import { startTestServer, type TestServer } from './helpers/server.js';

class Rollback extends Error {}

for (const backend of await storeBackends()) {
  describe(`the read model (${backend.name})`, () => {
    let server: TestServer;
    let admin: { orgId: string; token: string; userId: string };
    let coach: { userId: string; token: string };
    let agent: { userId: string; token: string };
    let template: string;
    let direct: { db: Kysely<Database>; adapter: StoreAdapter };
    let position: FeedPosition | null = null;

    const call = async (method: string, path: string, body?: unknown, token = admin.token) => {
      const reply = await server.request(method, path, { token, body });
      assert.ok(reply.status < 300, `${method} ${path}: ${reply.status} ${reply.text}`);
      return reply.json;
    };
    const newSession = async (name: string) =>
      (
        await call('POST', '/api/v1/coaching/sessions', {
          coachingFormName: name,
          agentId: agent.userId,
          coachId: coach.userId,
          coachingTemplateId: template,
        })
      )._id as string;

    /**
     * The stored documents equal, byte for byte, what the portable path renders now, and every
     * session's stats row holds what its document now says.
     */
    async function assertCurrent(what: string): Promise<string> {
      const stored = await storedExport(server.store, admin.orgId);
      const portable = await portableExport(server.store, admin.orgId);
      if (stored !== portable) {
        let i = 0;
        while (stored[i] === portable[i]) i++;
        assert.fail(
          `after ${what}, the stored documents differ at ${i}:\n${stored.slice(i - 80, i + 80)}\n${portable.slice(i - 80, i + 80)}`,
        );
      }
      assert.deepEqual(await storedStatsRows(direct.db, admin.orgId), expectedStatsRows(JSON.parse(portable)), `stats rows after ${what}`);
      return stored;
    }

    /** The feed after the last position names exactly these sessions, each once, with their documents now. */
    async function assertFeed(what: string, sessions: string[]): Promise<void> {
      // A transaction still running elsewhere in this database (none here) would delay, never drop, a change.
      let changes = await server.store.changesAfter(admin.orgId, position, 1000);
      for (let i = 0; i < 50 && changes.length < new Set(sessions).size; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        changes = await server.store.changesAfter(admin.orgId, position, 1000);
      }
      const ids = changes.map((c) => (JSON.parse(c.doc) as { _id: string })._id);
      assert.deepEqual([...ids].sort(), [...new Set(sessions)].sort(), `feed after ${what}`);
      for (const change of changes) {
        const id = (JSON.parse(change.doc) as { _id: string })._id;
        assert.ok(change.doc === JSON.stringify((await server.store.readSession(admin.orgId, id))!), `${id} is current in the feed`);
      }
      for (let i = 1; i < changes.length; i++) {
        const [a, b] = [changes[i - 1]!.position, changes[i]!.position];
        assert.ok(BigInt(a.xid) < BigInt(b.xid) || (a.xid === b.xid && BigInt(a.seq) < BigInt(b.seq)), 'oldest change first');
      }
      if (changes.length > 0) position = changes.at(-1)!.position;
    }

    async function change(what: string, sessions: string[] | (() => string[]), run: () => Promise<unknown>): Promise<void> {
      server.clock.advance(1000);
      await run();
      await assertCurrent(what);
      await assertFeed(what, typeof sessions === 'function' ? sessions() : sessions);
    }

    before(async () => {
      server = await startTestServer({ backend });
      admin = await server.createOrg();
      coach = await server.addUser(admin.orgId, 'coach', 'Cora Coach');
      agent = await server.addUser(admin.orgId, 'agent', 'Aldo "the agent" Ågren');
      template = (await call('POST', '/api/v1/coaching-templates', { name: 'QA review' })).id;
      direct = openKysely(server.config.database);
    });
    after(async () => {
      await direct.db.destroy();
      await server.close();
    });

    it('rewrites, for every kind of change, each document it alters and moves each in the feed once', async () => {
      await assertFeed('nothing', []);
      let a = '';
      let b = '';
      let c = '';
      await change(
        'creating sessions',
        () => [a, b, c],
        async () => {
          [a, b, c] = [await newSession('A'), await newSession('B'), await newSession('C')];
        },
      );
      await change('a session patch', [a], () =>
        call('PATCH', `/api/v1/coaching/sessions/${a}`, { coachNotes: 'ü "quoted"\n', meetingDate: '2024-03-02T10:00:00.000Z' }),
      );
      await change('sharing', [a], () => call('POST', `/api/v1/coaching/sessions/${a}/share`));
      await change('the coach confirming', [a], () => call('POST', `/api/v1/coaching/sessions/${a}/confirm`, undefined, coach.token));
      await change('the agent confirming', [a], () => call('POST', `/api/v1/coaching/sessions/${a}/confirm`, undefined, agent.token));
      let p = '';
      await change('a point on two sessions', [a, b], async () => {
        p = (
          await call('POST', '/api/v1/coaching/points', {
            coachingFormIds: [a, b],
            type: 'strength',
            classification: 'qa',
            subject: 'Greeting',
          })
        )._id;
      });
      await change('a point changed', [a, b], () => call('PATCH', `/api/v1/coaching/points/${p}`, { score: '4', agentNotes: 'x' }));
      await change('a point relinked', [a, b, c], () => call('PATCH', `/api/v1/coaching/points/${p}`, { coachingFormIds: [c, a] }));
      let t = '';
      await change('a to-do on two sessions', [b, c], async () => {
        t = (await call('POST', '/api/v1/coaching/todos', { coachingFormIds: [b, c], title: 'Listen' }, coach.token))._id;
      });
      await change('a to-do completed', [b, c], () => call('PATCH', `/api/v1/coaching/todos/${t}`, { status: 'complete' }));
      await change('a to-do relinked', [a, b, c], () => call('PATCH', `/api/v1/coaching/todos/${t}`, { coachingFormIds: [a] }));
      await change('a to-do deleted', [a], () => call('DELETE', `/api/v1/coaching/todos/${t}`));
      await change('a point deleted', [a, c], () => call('DELETE', `/api/v1/coaching/points/${p}`));
      await change('a template renamed', [a, b, c], () =>
        call('PATCH', `/api/v1/coaching-templates/${template}`, { name: 'QA review — 2nd "edition","meetingFormat":"x' }),
      );
      // Through the users API, as an admin renames a person: the rename's transaction rewrites the documents.
      const rename = (userId: string, name: string) => call('PATCH', `/api/v1/users/${userId}`, { name });
      await change('the coach renamed (coach of all, creator of a to-do on a)', [a, b, c], () =>
        rename(coach.userId, 'Cora ","coachId":"x\\'),
      );
      await change('the coach renamed again', [a, b, c], () => rename(coach.userId, 'Cora Coachwell'));
      await change('the form creator renamed', [a, b, c], () => rename(admin.userId, 'Ada "Admin" Ünal'));
      await change('the agent renamed', [a, b, c], () => rename(agent.userId, 'Aldo ,"createdAt":'));
      await change('a session deleted', [b], () => call('DELETE', `/api/v1/coaching/sessions/${b}`));

      // An import replaces session a without its point, renames the agent and the template, and
      // adds a point on an imported session and on c: every session showing any of it changes.
      const stored = JSON.parse(await storedExport(server.store, admin.orgId)) as Array<ReturnType<typeof session>>;
      const imported = stored.find((s) => s._id === a)!;
      const d = session({
        _id: 'imported-d',
        agentId: agent.userId,
        agentName: 'Aldo Renamed',
        coachId: coach.userId,
        coachName: 'Cora Coachwell',
        formCreatorId: coach.userId,
        formCreatorName: 'Cora Coachwell',
        coachingTemplateId: template,
        coachingTemplateName: 'Imported name',
      });
      d.coachingPoints = [point([d._id, c], { subject: 'Imported' })];
      d.todos = [todo([d._id], { creatorId: coach.userId, creatorName: 'Cora Coachwell' })];
      const replaced = {
        ...imported,
        agentName: 'Aldo Renamed',
        coachingTemplateName: 'Imported name',
        coachingPoints: [],
        todos: [],
        coachNotes: 'replaced',
      };
      await change('an import', [a, b, c, d._id], () => call('POST', '/api/v1/coaching-sessions/import', [replaced, d]));
      assert.equal(
        (JSON.parse(await storedExport(server.store, admin.orgId)) as Array<{ agentName: string }>).filter(
          (s) => s.agentName === 'Aldo Renamed',
        ).length,
        4,
      );
    });

    it('leaves the old documents and the feed as they were when the transaction rolls back', async () => {
      const before = await assertCurrent('the changes so far');
      const statsBefore = await storedStatsRows(direct.db, admin.orgId);
      const sessions = (JSON.parse(before) as Array<{ _id: string }>).map((s) => s._id);
      // PostgreSQL's feed holds back what commits behind a transaction still open anywhere on the
      // server (another test file's, in another database): wait until it shows every session.
      const wholeFeed = (what: string) =>
        eventually(
          () => server.store.changesAfter(admin.orgId, null, 1000),
          (feed) => feed.length >= sessions.length,
          what,
        );
      const feedBefore = await wholeFeed('the feed to show every session');
      const attempts: Array<[string, (trx: Kysely<Database>) => Promise<void>]> = [
        [
          'a person renamed',
          async (trx) => {
            await trx
              .updateTable('users')
              .set({ name: 'Never' })
              .where('org_id', '=', admin.orgId)
              .where('id', '=', agent.userId)
              .execute();
            await refreshDocumentsShowingUser(trx, direct.adapter, admin.orgId, agent.userId);
          },
        ],
        [
          'a template renamed',
          async (trx) => {
            await trx
              .updateTable('coaching_templates')
              .set({ name: 'Never' })
              .where('org_id', '=', admin.orgId)
              .where('id', '=', template)
              .execute();
            await refreshDocumentsOfTemplate(trx, direct.adapter, admin.orgId, template);
          },
        ],
        [
          'sessions changed',
          async (trx) => {
            await trx
              .updateTable('coaching_sessions')
              .set({ coach_notes: 'Never', coach_confirmed: 1, is_deleted: 1 })
              .where('org_id', '=', admin.orgId)
              .execute();
            await refreshSessionDocuments(trx, direct.adapter, admin.orgId, sessions);
            const rows = await trx.selectFrom('session_stats').select('is_deleted').where('org_id', '=', admin.orgId).execute();
            assert.ok(
              rows.length > 0 && rows.every((row) => Boolean(row.is_deleted)),
              'the stats rows were rewritten inside the transaction',
            );
          },
        ],
      ];
      for (const [what, attempt] of attempts) {
        await assert.rejects(
          direct.db.transaction().execute(async (trx) => {
            await attempt(trx);
            // The rewrite happened inside the transaction...
            const inside = await trx.selectFrom('session_documents').select('doc').where('org_id', '=', admin.orgId).execute();
            assert.ok(
              inside.some((row) => String(row.doc).includes('Never')),
              `${what} rewrote documents inside the transaction`,
            );
            throw new Rollback(what);
          }),
          Rollback,
        );
        // ...and is gone with it.
        assert.equal(await storedExport(server.store, admin.orgId), before, `after ${what} rolled back`);
        const feedAfter = await wholeFeed(`the feed after ${what}`);
        assert.deepEqual(feedAfter, feedBefore, `the feed after ${what} rolled back`);
        assert.deepEqual(await storedStatsRows(direct.db, admin.orgId), statsBefore, `the stats rows after ${what} rolled back`);
      }
      // A coaching change that fails after writing leaves nothing either.
      await assert.rejects(
        server.store.coaching(admin.orgId, async (tx) => {
          const s = (await tx.getSession(sessions[0]!))!;
          await tx.saveSession({ ...s, coachNotes: 'Never', isDeleted: true }, false);
          throw new Rollback('coaching');
        }),
        Rollback,
      );
      assert.equal(await storedExport(server.store, admin.orgId), before);
      assert.deepEqual(await storedStatsRows(direct.db, admin.orgId), statsBefore);
    });

    // Only PostgreSQL runs writers at once; SQLite serializes them, so there commit order is start order.
    if (backend.name === 'postgres')
      it('never skips a change whose transaction took its position first but commits last', async () => {
        const [first, second] = [await newSession('Slow'), await newSession('Fast')];
        let reader = (await server.store.changesAfter(admin.orgId, null, 1000)).at(-1)!.position;
        const seen: string[] = [];
        const poll = async () => {
          const changes = await server.store.changesAfter(admin.orgId, reader, 1000);
          for (const c of changes) seen.push((JSON.parse(c.doc) as { _id: string })._id);
          if (changes.length > 0) reader = changes.at(-1)!.position;
        };
        // The slow transaction rewrites its session (taking its position) and stays open...
        const slow = await direct.db.startTransaction().execute();
        try {
          await slow
            .updateTable('coaching_sessions')
            .set({ coach_notes: 'slow' })
            .where('org_id', '=', admin.orgId)
            .where('id', '=', first)
            .execute();
          await refreshSessionDocuments(slow, postgresAdapter, admin.orgId, [first]);
          // ...while a later one commits a change to another session, and the reader polls.
          await call('PATCH', `/api/v1/coaching/sessions/${second}`, { coachNotes: 'fast' });
          await poll();
          await slow.commit().execute();
          for (let i = 0; i < 100 && seen.length < 2; i++) {
            await poll();
            if (seen.length < 2) await new Promise((resolve) => setTimeout(resolve, 100));
          }
        } finally {
          await slow
            .rollback()
            .execute()
            .catch(() => undefined);
        }
        assert.deepEqual(seen, [first, second], 'both changes, in the order their positions were taken');
      });

    it('leaves no stale document when many writers change points shared by the same sessions at once', async () => {
      const sessions = [await newSession('S1'), await newSession('S2'), await newSession('S3'), await newSession('S4')];
      const points: string[] = [];
      for (let i = 0; i < 4; i++) {
        points.push(
          (
            await call('POST', '/api/v1/coaching/points', {
              coachingFormIds: [sessions[i]!, sessions[(i + 1) % 4]!],
              type: 'strength',
              classification: 'qa',
            })
          )._id,
        );
      }
      const replies = await Promise.all(
        Array.from({ length: 32 }, (_, i) => {
          const id = points[i % 4]!;
          const body =
            i % 3 === 0 ? { coachingFormIds: [sessions[(i + 2) % 4]!, sessions[i % 4]!] } : { score: String(i), coachNotes: `n${i}` };
          return server.request('PATCH', `/api/v1/coaching/points/${id}`, { token: admin.token, body });
        }),
      );
      assert.ok(
        replies.every((r) => r.status === 200 || r.status === 503),
        replies.map((r) => `${r.status} ${r.text}`).join('\n'),
      );
      assert.ok(replies.filter((r) => r.status === 200).length >= 16);
      await assertCurrent('concurrent point changes');
    });
  });
}
