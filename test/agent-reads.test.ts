import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeBackends } from './helpers/backends.js';
import { session as sessionFixture, todo as todoFixture } from './helpers/fixtures.js';
import { startTestServer, type Reply, type TestServer } from './helpers/server.js';

/** SPEC §12: what an agent reads, giving a session to another agent, and a to-do's link. */

interface Doc {
  _id: string;
  agentId: string;
  sharedWithAgent: boolean;
  agentConfirmed: boolean;
  coachConfirmed: boolean;
  agentNotes: string | null;
  activityLog: Array<{ actionType: string; descriptions: string[]; ipAddress: string | null }>;
  coachingPoints: Array<{ _id: string; isDeleted: boolean }>;
  todos: Array<{ _id: string; isDeleted: boolean; link: string | null }>;
}

function assertError(reply: Reply, status: number, pattern: RegExp) {
  assert.equal(reply.status, status, reply.text);
  assert.deepEqual(Object.keys(reply.json), ['error']);
  assert.match(reply.json.error, pattern);
}

for (const backend of await storeBackends()) {
  describe(`what an agent reads, reassignment and links (${backend.name})`, () => {
    let server: TestServer;
    let admin: { orgId: string; token: string };
    let coach: { userId: string; token: string };
    let agent: { userId: string; token: string };
    let nextAgent: { userId: string; token: string };

    const call = (method: string, path: string, token: string, body?: unknown) => server.request(method, path, { token, body });
    const read = async (id: string, token: string): Promise<Doc> => {
      const reply = await call('GET', `/api/v1/coaching/sessions/${id}`, token);
      assert.equal(reply.status, 200, reply.text);
      return reply.json as Doc;
    };
    async function newSession(name: string, who = agent): Promise<string> {
      const created = await call('POST', '/api/v1/coaching/sessions', coach.token, { coachingFormName: name, agentId: who.userId });
      assert.equal(created.status, 201, created.text);
      return created.json._id as string;
    }
    async function addPoint(sessionId: string, subject: string): Promise<string> {
      const body = { coachingFormIds: [sessionId], type: 'strength', classification: 'qa', subject };
      const made = await call('POST', '/api/v1/coaching/points', coach.token, body);
      assert.equal(made.status, 201, made.text);
      return made.json._id as string;
    }
    async function addTodo(sessionId: string, title: string, link?: string): Promise<Reply> {
      const body = { coachingFormIds: [sessionId], title, ...(link === undefined ? {} : { link }) };
      return call('POST', '/api/v1/coaching/todos', coach.token, body);
    }
    async function share(sessionId: string): Promise<void> {
      assert.equal((await call('POST', `/api/v1/coaching/sessions/${sessionId}/share`, coach.token)).status, 200);
    }

    before(async () => {
      server = await startTestServer({ backend });
      admin = await server.createOrg();
      coach = await server.addUser(admin.orgId, 'coach');
      agent = await server.addUser(admin.orgId, 'agent');
      nextAgent = await server.addUser(admin.orgId, 'agent');
    });
    after(() => server.close());

    describe('what an agent reads', () => {
      let sessionId: string;
      let kept: { point: string; todo: string };
      let deleted: { point: string; todo: string };

      before(async () => {
        sessionId = await newSession('Read by its agent');
        kept = { point: await addPoint(sessionId, 'Kept'), todo: (await addTodo(sessionId, 'Kept')).json._id };
        deleted = { point: await addPoint(sessionId, 'Gone'), todo: (await addTodo(sessionId, 'Gone')).json._id };
        assert.equal((await call('DELETE', `/api/v1/coaching/points/${deleted.point}`, coach.token)).status, 200);
        assert.equal((await call('DELETE', `/api/v1/coaching/todos/${deleted.todo}`, coach.token)).status, 200);
        await share(sessionId);
      });

      it('gives the agent no IP address and nothing deleted, while the coach and the admin still see them', async () => {
        const seenByAgent = await read(sessionId, agent.token);
        assert.ok(seenByAgent.activityLog.length >= 6);
        assert.ok(
          seenByAgent.activityLog.every((entry) => entry.ipAddress === null),
          JSON.stringify(seenByAgent.activityLog),
        );
        assert.deepEqual(
          seenByAgent.coachingPoints.map((p) => p._id),
          [kept.point],
        );
        assert.deepEqual(
          seenByAgent.todos.map((t) => t._id),
          [kept.todo],
        );

        for (const token of [coach.token, admin.token]) {
          const full = await read(sessionId, token);
          assert.ok(
            full.activityLog.every((entry) => entry.ipAddress === '127.0.0.1'),
            JSON.stringify(full.activityLog),
          );
          // Made at the same instant, so ordered by their random ids.
          const flags = (items: Array<{ _id: string; isDeleted: boolean }>) =>
            Object.fromEntries(items.map((item) => [item._id, item.isDeleted]));
          assert.deepEqual(flags(full.coachingPoints), { [kept.point]: false, [deleted.point]: true });
          assert.deepEqual(flags(full.todos), { [kept.todo]: false, [deleted.todo]: true });
          const { activityLog: _log, coachingPoints: _points, todos: _todos, ...fields } = full;
          const { activityLog: _a, coachingPoints: _p, todos: _t, ...agentFields } = seenByAgent;
          assert.deepEqual(agentFields, fields, 'every other field is the same for both');
        }
      });

      it("answers the agent's own writes (notes, confirming) in the agent's view too", async () => {
        const noted = await call('PATCH', `/api/v1/coaching/sessions/${sessionId}`, agent.token, { agentNotes: 'Seen.' });
        assert.equal(noted.status, 200, noted.text);
        const confirmed = await call('POST', `/api/v1/coaching/sessions/${sessionId}/confirm`, agent.token);
        assert.equal(confirmed.status, 200, confirmed.text);
        for (const answer of [noted.json as Doc, confirmed.json as Doc]) {
          assert.ok(answer.activityLog.every((entry) => entry.ipAddress === null));
          assert.deepEqual(
            answer.coachingPoints.map((p) => p._id),
            [kept.point],
          );
          assert.deepEqual(
            answer.todos.map((t) => t._id),
            [kept.todo],
          );
        }
        assert.equal((await read(sessionId, coach.token)).activityLog.at(-1)!.ipAddress, '127.0.0.1', 'the address is still stored');
      });
    });

    describe('giving a session to another agent', () => {
      it('sets sharedWithAgent and agentConfirmed back to false in the same write, and says so in the log', async () => {
        const id = await newSession('Reassigned');
        await share(id);
        assert.equal((await call('POST', `/api/v1/coaching/sessions/${id}/confirm`, agent.token)).status, 200);
        assert.equal((await call('POST', `/api/v1/coaching/sessions/${id}/confirm`, coach.token)).status, 200);
        const logged = (await read(id, coach.token)).activityLog.length;

        const moved = await call('PATCH', `/api/v1/coaching/sessions/${id}`, coach.token, { agentId: nextAgent.userId });
        assert.equal(moved.status, 200, moved.text);
        const doc = moved.json as Doc;
        assert.deepEqual(
          [doc.agentId, doc.sharedWithAgent, doc.agentConfirmed, doc.coachConfirmed],
          [nextAgent.userId, false, false, true],
        );
        assert.equal(doc.activityLog.length, logged + 1, 'one entry for the one write');
        assert.deepEqual(doc.activityLog.at(-1)!.descriptions, [
          `agentId changed from ${agent.userId} to ${nextAgent.userId}`,
          'sharedWithAgent changed from true to false',
          'agentConfirmed changed from true to false',
        ]);
        const byNewAgent = await call('GET', `/api/v1/coaching/sessions/${id}`, nextAgent.token);
        assert.equal(byNewAgent.status, 404, 'not shared with the new agent yet');
        assert.equal((await call('GET', `/api/v1/coaching/sessions/${id}`, agent.token)).status, 404, 'gone for the previous agent');
      });

      it('is no reassignment when the agentId is the same', async () => {
        const id = await newSession('Same agent');
        await share(id);
        assert.equal((await call('POST', `/api/v1/coaching/sessions/${id}/confirm`, agent.token)).status, 200);
        const before = await read(id, coach.token);
        const same = await call('PATCH', `/api/v1/coaching/sessions/${id}`, coach.token, { agentId: agent.userId });
        assert.equal(same.status, 200, same.text);
        assert.deepEqual(same.json, before);
      });

      it('is refused with 409, changing nothing, while the session or a point on it holds agent notes', async () => {
        const withNotes = await newSession('Session notes');
        await share(withNotes);
        assert.equal((await call('PATCH', `/api/v1/coaching/sessions/${withNotes}`, agent.token, { agentNotes: 'Mine.' })).status, 200);
        const withPointNotes = await newSession('Point notes');
        const point = await addPoint(withPointNotes, 'Noted');
        await share(withPointNotes);
        assert.equal((await call('PATCH', `/api/v1/coaching/points/${point}`, agent.token, { agentNotes: 'Also mine.' })).status, 200);

        for (const id of [withNotes, withPointNotes]) {
          const before = await read(id, coach.token);
          const change = { agentId: nextAgent.userId, coachNotes: 'moved' };
          const refused = await call('PATCH', `/api/v1/coaching/sessions/${id}`, admin.token, change);
          assertError(refused, 409, /holds its agent's notes/);
          assert.deepEqual(await read(id, coach.token), before, 'nothing changed');
        }
      });

      it("counts neither a deleted point's notes nor notes cleared by the same write", async () => {
        const id = await newSession('Cleared first');
        const point = await addPoint(id, 'Will go');
        await share(id);
        assert.equal((await call('PATCH', `/api/v1/coaching/points/${point}`, agent.token, { agentNotes: 'On a point.' })).status, 200);
        assert.equal((await call('PATCH', `/api/v1/coaching/sessions/${id}`, agent.token, { agentNotes: 'On the session.' })).status, 200);
        assert.equal((await call('DELETE', `/api/v1/coaching/points/${point}`, coach.token)).status, 200);
        const moved = await call('PATCH', `/api/v1/coaching/sessions/${id}`, coach.token, { agentId: nextAgent.userId, agentNotes: null });
        assert.equal(moved.status, 200, moved.text);
        assert.deepEqual([moved.json.agentId, moved.json.agentNotes, moved.json.sharedWithAgent], [nextAgent.userId, null, false]);
      });
    });

    describe("a to-do's link", () => {
      const bad = [
        'javascript:alert(1)',
        ' JavaScript:alert(1)',
        'data:text/html,<script>alert(1)</script>',
        '/relative/path',
        'kb.example.com/a',
        'ftp://example.com/x',
      ];

      it('must be an absolute http: or https: URL when a to-do is made', async () => {
        const id = await newSession('Links');
        for (const link of bad) {
          assertError(await addTodo(id, 'Bad link', link), 400, /link must be an absolute http: or https: URL/);
        }
        for (const link of ['https://kb.example.com/a?b=1', 'http://intranet.example/x']) {
          const made = await addTodo(id, 'Good link', link);
          assert.equal(made.status, 201, made.text);
          assert.equal(made.json.link, link);
        }
        const links = (await read(id, coach.token)).todos.map((t) => t.link).sort();
        assert.deepEqual(links, ['http://intranet.example/x', 'https://kb.example.com/a?b=1']);
      });

      it('must be one when a to-do is changed, and a refused change changes nothing', async () => {
        const id = await newSession('Link changes');
        const made = await addTodo(id, 'Read this', 'https://kb.example.com/a');
        const path = `/api/v1/coaching/todos/${made.json._id}`;
        const before = await read(id, coach.token);
        for (const link of bad) {
          assertError(await call('PATCH', path, coach.token, { link }), 400, /link must be an absolute http: or https: URL/);
        }
        assert.deepEqual(await read(id, coach.token), before);
        const cleared = await call('PATCH', path, coach.token, { link: null });
        assert.equal(cleared.status, 200, cleared.text);
        assert.equal(cleared.json.link, null);
      });

      it('refuses an import holding a to-do with another link, naming the document, and imports nothing', async () => {
        const good = sessionFixture({ _id: 'import-good' });
        good.todos = [todoFixture([good._id], { link: 'https://kb.example.com/ok' })];
        const bad = sessionFixture({ _id: 'import-bad' });
        bad.todos = [todoFixture([bad._id], { _id: 'todo-ok' }), todoFixture([bad._id], { _id: 'todo-bad', link: 'javascript:alert(1)' })];
        const refused = await call('POST', '/api/v1/coaching-sessions/import', admin.token, [good, bad]);
        assertError(refused, 400, /^Element 1 \(_id "import-bad"\): todos\[1\]\.link must be an absolute http: or https: URL\.$/);
        assert.equal((await call('GET', '/api/v1/coaching/sessions/import-good', admin.token)).status, 404, 'all or nothing');
        const accepted = await call('POST', '/api/v1/coaching-sessions/import', admin.token, [good]);
        assert.equal(accepted.status, 200, accepted.text);
        assert.equal((await read('import-good', admin.token)).todos[0]!.link, 'https://kb.example.com/ok');
      });
    });
  });
}
