import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeBackends } from './helpers/backends.js';
import { startTestServer, type Reply, type TestServer } from './helpers/server.js';

const DAY_MS = 86_400_000;

function assertError(reply: Reply, status: number, pattern?: RegExp) {
  assert.equal(reply.status, status, reply.text);
  assert.deepEqual(Object.keys(reply.json), ['error']);
  if (pattern) assert.match(reply.json.error, pattern);
}

for (const backend of await storeBackends()) {
  describe(`coaching API rules (${backend.name})`, () => {
    let server: TestServer;
    let admin: { orgId: string; token: string; userId: string };
    let coach: { userId: string; token: string };
    let otherCoach: { userId: string; token: string };
    let agent: { userId: string; token: string };
    let otherAgent: { userId: string; token: string };
    let sessionId: string;
    let foreign: { token: string; sessionId: string; pointId: string; todoId: string; tokenId: string };

    const call = (method: string, path: string, token: string, body?: unknown) => server.request(method, path, { token, body });

    before(async () => {
      server = await startTestServer({ backend });
      admin = await server.createOrg();
      coach = await server.addUser(admin.orgId, 'coach');
      otherCoach = await server.addUser(admin.orgId, 'coach');
      agent = await server.addUser(admin.orgId, 'agent');
      otherAgent = await server.addUser(admin.orgId, 'agent');
      const created = await call('POST', '/api/v1/coaching/sessions', coach.token, { coachingFormName: 'Rules', agentId: agent.userId });
      assert.equal(created.status, 201, created.text);
      sessionId = created.json._id;

      const other = await server.createOrg('Elsewhere');
      const theirAgent = await server.addUser(other.orgId, 'agent');
      const theirSession = await call('POST', '/api/v1/coaching/sessions', other.token, {
        coachingFormName: 'Theirs',
        agentId: theirAgent.userId,
      });
      const theirPoint = await call('POST', '/api/v1/coaching/points', other.token, {
        coachingFormIds: [theirSession.json._id],
        type: 'strength',
        classification: 'qa',
      });
      const theirTodo = await call('POST', '/api/v1/coaching/todos', other.token, { coachingFormIds: [theirSession.json._id], title: 'x' });
      const [theirToken] = await server.store.listTokens(other.orgId);
      foreign = {
        token: other.token,
        sessionId: theirSession.json._id,
        pointId: theirPoint.json._id,
        todoId: theirTodo.json._id,
        tokenId: theirToken!.id,
      };
    });
    after(() => server.close());

    describe('users', () => {
      it('lets admins create and list users, and nobody else', async () => {
        const made = await call('POST', '/api/v1/users', admin.token, { email: 'New@Acme.test', name: 'New Person', role: 'coach' });
        assert.equal(made.status, 201, made.text);
        assert.equal(made.json.email, 'new@acme.test');
        const listed = await call('GET', '/api/v1/users', admin.token);
        assert.ok(listed.json.some((u: { id: string }) => u.id === made.json.id));
        assertError(
          await call('POST', '/api/v1/users', coach.token, { email: 'x@acme.test', name: 'X', role: 'coach' }),
          403,
          /admin role/,
        );
        assertError(await call('GET', '/api/v1/users', agent.token), 403);
      });

      it('keeps an email unique within an organization, but not across them', async () => {
        assertError(
          await call('POST', '/api/v1/users', admin.token, { email: 'new@acme.test', name: 'Twin', role: 'agent' }),
          409,
          /already exists/,
        );
        const elsewhere = await call('POST', '/api/v1/users', foreign.token, { email: 'new@acme.test', name: 'Twin', role: 'agent' });
        assert.equal(elsewhere.status, 201, elsewhere.text);
      });

      it('rejects an unknown role, listing the allowed ones', async () => {
        assertError(
          await call('POST', '/api/v1/users', admin.token, { email: 'r@acme.test', name: 'R', role: 'boss' }),
          400,
          /role must be one of admin, coach, agent/,
        );
      });
    });

    describe('tokens', () => {
      it('lets anyone make a token for themself, with 90 days by default or none', async () => {
        const mine = await call('POST', '/api/v1/tokens', agent.token, {});
        assert.equal(mine.status, 201, mine.text);
        assert.equal(mine.json.userId, agent.userId);
        assert.equal(Date.parse(mine.json.expiresAt) - Date.parse(mine.json.createdAt), 90 * DAY_MS);
        const forever = await call('POST', '/api/v1/tokens', agent.token, { expiresInDays: null });
        assert.equal(forever.json.expiresAt, null);
        assert.equal((await call('GET', '/api/v1/coaching-templates', forever.json.token)).status, 200);
        server.clock.advance(400 * DAY_MS);
        assert.equal(
          (await call('GET', '/api/v1/coaching-templates', forever.json.token)).status,
          200,
          'a token without expiry still works',
        );
        assertError(await call('GET', '/api/v1/coaching-templates', mine.json.token), 401, /expired/);
        server.clock.advance(-400 * DAY_MS);
      });

      it('lets only admins make tokens for others', async () => {
        assertError(await call('POST', '/api/v1/tokens', coach.token, { userId: agent.userId }), 403, /Only admins/);
        assert.equal((await call('POST', '/api/v1/tokens', admin.token, { userId: agent.userId })).status, 201);
        assertError(await call('POST', '/api/v1/tokens', admin.token, { userId: 'nobody' }), 404);
      });

      it('lists tokens without secrets: admins all, others their own', async () => {
        const all = await call('GET', '/api/v1/tokens', admin.token);
        const own = await call('GET', '/api/v1/tokens', coach.token);
        assert.ok(all.json.length > own.json.length);
        assert.ok(own.json.every((t: { userId: string }) => t.userId === coach.userId));
        assert.deepEqual(Object.keys(own.json[0]).sort(), ['active', 'createdAt', 'expiresAt', 'id', 'lastUsedAt', 'prefix', 'userId']);
        assert.ok(!all.text.includes(coach.token));
      });

      it('deactivates a token for the very next request', async () => {
        const spare = await call('POST', '/api/v1/tokens', coach.token, {});
        assertError(await call('DELETE', `/api/v1/tokens/${spare.json.id}`, otherCoach.token), 404);
        const revoked = await call('DELETE', `/api/v1/tokens/${spare.json.id}`, coach.token);
        assert.equal(revoked.status, 200, revoked.text);
        assert.equal(revoked.json.active, false);
        assertError(await call('GET', '/api/v1/tokens', spare.json.token), 401, /deactivated/);
      });
    });

    describe('sessions', () => {
      it('refuses agents creating sessions', async () => {
        assertError(await call('POST', '/api/v1/coaching/sessions', agent.token, { coachingFormName: 'x', agentId: agent.userId }), 403);
      });

      it('hides a session from a coach who neither coaches nor created it, and lets admins do anything', async () => {
        assertError(await call('GET', `/api/v1/coaching/sessions/${sessionId}`, otherCoach.token), 404);
        assertError(await call('PATCH', `/api/v1/coaching/sessions/${sessionId}`, otherCoach.token, { coachNotes: 'x' }), 404);
        assert.equal((await call('PATCH', `/api/v1/coaching/sessions/${sessionId}`, admin.token, { meetingFormat: 'phone' })).status, 200);
      });

      it('shows a session to its agent only once shared, and then only for notes and confirming', async () => {
        assertError(await call('GET', `/api/v1/coaching/sessions/${sessionId}`, agent.token), 404);
        assertError(await call('POST', `/api/v1/coaching/sessions/${sessionId}/share`, otherCoach.token), 404);
        assert.equal((await call('POST', `/api/v1/coaching/sessions/${sessionId}/share`, coach.token)).status, 200);
        assert.equal((await call('GET', `/api/v1/coaching/sessions/${sessionId}`, agent.token)).status, 200);
        assertError(await call('GET', `/api/v1/coaching/sessions/${sessionId}`, otherAgent.token), 404);
        assertError(
          await call('PATCH', `/api/v1/coaching/sessions/${sessionId}`, agent.token, { meetingFormat: 'x' }),
          403,
          /only agentNotes/,
        );
        assertError(await call('DELETE', `/api/v1/coaching/sessions/${sessionId}`, agent.token), 403);
        assertError(
          await call('POST', '/api/v1/coaching/points', agent.token, {
            coachingFormIds: [sessionId],
            type: 'strength',
            classification: 'qa',
          }),
          403,
        );
      });

      it('does not let an agent write to a point that is also on a session not shared with them', async () => {
        const other = await call('POST', '/api/v1/coaching/sessions', coach.token, {
          coachingFormName: 'Not theirs',
          agentId: otherAgent.userId,
        });
        const point = await call('POST', '/api/v1/coaching/points', coach.token, {
          coachingFormIds: [sessionId, other.json._id],
          type: 'strength',
          classification: 'qa',
        });
        assert.equal(point.status, 201, point.text);
        assertError(
          await call('PATCH', `/api/v1/coaching/points/${point.json._id}`, agent.token, { agentNotes: 'mine' }),
          403,
          /own shared sessions/,
        );
        const alone = await call('POST', '/api/v1/coaching/points', coach.token, {
          coachingFormIds: [sessionId],
          type: 'strength',
          classification: 'qa',
        });
        assert.equal((await call('PATCH', `/api/v1/coaching/points/${alone.json._id}`, agent.token, { agentNotes: 'mine' })).status, 200);
      });

      it("lets only the session's coach or agent confirm", async () => {
        assertError(await call('POST', `/api/v1/coaching/sessions/${sessionId}/confirm`, admin.token), 403, /coach or the agent/);
      });

      it('checks the people and template a session names', async () => {
        assertError(
          await call('POST', '/api/v1/coaching/sessions', coach.token, { coachingFormName: 'x', agentId: otherCoach.userId }),
          400,
          /agentId must name an agent/,
        );
        assertError(
          await call('POST', '/api/v1/coaching/sessions', coach.token, { coachingFormName: 'x', agentId: 'ghost' }),
          404,
          /user "ghost"/,
        );
        assertError(
          await call('POST', '/api/v1/coaching/sessions', coach.token, {
            coachingFormName: 'x',
            agentId: agent.userId,
            coachingTemplateId: 'none',
          }),
          404,
          /template/,
        );
      });

      it('refuses changes to a deleted session, and deleting twice changes nothing', async () => {
        const s = await call('POST', '/api/v1/coaching/sessions', coach.token, { coachingFormName: 'Doomed', agentId: agent.userId });
        const first = await call('DELETE', `/api/v1/coaching/sessions/${s.json._id}`, coach.token);
        const second = await call('DELETE', `/api/v1/coaching/sessions/${s.json._id}`, coach.token);
        assert.deepEqual(second.json, first.json);
        assertError(await call('PATCH', `/api/v1/coaching/sessions/${s.json._id}`, coach.token, { coachNotes: 'late' }), 409, /deleted/);
      });

      it('writes nothing and logs nothing when a change changes nothing', async () => {
        const before = await call('GET', `/api/v1/coaching/sessions/${sessionId}`, coach.token);
        const same = await call('PATCH', `/api/v1/coaching/sessions/${sessionId}`, coach.token, {
          coachingFormName: before.json.coachingFormName,
        });
        assert.deepEqual(same.json, before.json);
      });
    });

    describe("another organization's records are not found, whatever the route", () => {
      const routes: Array<[string, (f: typeof foreign) => string, unknown?]> = [
        ['GET', (f) => `/api/v1/coaching/sessions/${f.sessionId}`],
        ['PATCH', (f) => `/api/v1/coaching/sessions/${f.sessionId}`, { coachNotes: 'x' }],
        ['DELETE', (f) => `/api/v1/coaching/sessions/${f.sessionId}`],
        ['POST', (f) => `/api/v1/coaching/sessions/${f.sessionId}/share`],
        ['POST', (f) => `/api/v1/coaching/sessions/${f.sessionId}/confirm`],
        ['PATCH', (f) => `/api/v1/coaching/points/${f.pointId}`, { coachNotes: 'x' }],
        ['DELETE', (f) => `/api/v1/coaching/points/${f.pointId}`],
        ['PATCH', (f) => `/api/v1/coaching/todos/${f.todoId}`, { title: 'x' }],
        ['DELETE', (f) => `/api/v1/coaching/todos/${f.todoId}`],
        ['DELETE', (f) => `/api/v1/tokens/${f.tokenId}`],
      ];
      for (const [method, path, body] of routes) {
        it(`${method} ${path({ token: '', sessionId: ':session', pointId: ':point', todoId: ':todo', tokenId: ':token' })}`, async () => {
          const reply = await call(method, path(foreign), admin.token, body);
          assertError(reply, 404);
          assert.ok(!reply.text.includes('Theirs'));
        });
      }

      it('POST points and to-dos naming it', async () => {
        assertError(
          await call('POST', '/api/v1/coaching/points', admin.token, {
            coachingFormIds: [foreign.sessionId],
            type: 'strength',
            classification: 'qa',
          }),
          404,
        );
        assertError(await call('POST', '/api/v1/coaching/todos', admin.token, { coachingFormIds: [foreign.sessionId], title: 'x' }), 404);
      });
    });

    describe('enumerations and required fields', () => {
      const bad: Array<[string, string, string, unknown, RegExp]> = [
        [
          'a point type',
          'POST',
          '/api/v1/coaching/points',
          { coachingFormIds: ['s'], type: 'great', classification: 'qa' },
          /type must be one of strength, opportunity, n\/a, not "great"/,
        ],
        [
          'a point classification',
          'POST',
          '/api/v1/coaching/points',
          { coachingFormIds: ['s'], type: 'strength', classification: 'vibes' },
          /classification must be one of general, qa, csat, productivity/,
        ],
        [
          'a to-do status',
          'POST',
          '/api/v1/coaching/todos',
          { coachingFormIds: ['s'], title: 't', status: 'done' },
          /status must be one of incomplete, complete/,
        ],
        [
          'missing coachingFormIds',
          'POST',
          '/api/v1/coaching/points',
          { type: 'strength', classification: 'qa' },
          /coachingFormIds is required/,
        ],
        [
          'empty coachingFormIds',
          'POST',
          '/api/v1/coaching/todos',
          { coachingFormIds: [], title: 't' },
          /coachingFormIds must have at least 1 element/,
        ],
        ['missing title', 'POST', '/api/v1/coaching/todos', { coachingFormIds: ['s'] }, /title is required/],
        ['missing coachingFormName', 'POST', '/api/v1/coaching/sessions', { agentId: 'a' }, /coachingFormName is required/],
        [
          'a meetingDate that is not a date-time',
          'POST',
          '/api/v1/coaching/sessions',
          { coachingFormName: 'x', agentId: 'a', meetingDate: 'tomorrow' },
          /meetingDate must be an ISO 8601 date-time/,
        ],
        ['an empty change', 'PATCH', '/api/v1/coaching/sessions/whatever', {}, /at least one field/],
        [
          'an unknown field in a change',
          'PATCH',
          '/api/v1/coaching/sessions/whatever',
          { isDeleted: false },
          /isDeleted is not a known field/,
        ],
        ['an expiry of zero days', 'POST', '/api/v1/tokens', { expiresInDays: 0 }, /expiresInDays must be/],
      ];
      for (const [what, method, path, body, message] of bad) {
        it(`rejects ${what} with a 400 that says so`, async () => {
          assertError(await call(method, path, admin.token, body), 400, message);
        });
      }
    });

    it('rolls back the change when its log entry cannot be written, leaving neither', async () => {
      const before = await call('GET', `/api/v1/coaching/sessions/${sessionId}`, coach.token);
      const failing = await server.store
        .coaching(admin.orgId, async (tx) => {
          const session = (await tx.getSession(sessionId))!;
          await tx.saveSession({ ...session, coachNotes: 'half-written', updatedAt: session.updatedAt + 1 }, false);
          throw new Error('the log write failed');
        })
        .catch((error: Error) => error.message);
      assert.equal(failing, 'the log write failed');
      const afterwards = await call('GET', `/api/v1/coaching/sessions/${sessionId}`, coach.token);
      assert.deepEqual(afterwards.json, before.json);
    });
  });
}

describe('coaching API rate limits', () => {
  it('have their own bucket, with the same headers and messages as the export', async () => {
    const server = await startTestServer({
      configure: (c) => ({ ...c, limits: { ...c.limits, api: { perSecond: 2, perMinute: 100 }, export: { perSecond: 1, perMinute: 30 } } }),
    });
    try {
      const { token } = await server.createOrg();
      const first = await server.request('GET', '/api/v1/coaching-templates', { token });
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('ratelimit-policy'), '2;w=1, 100;w=60');
      assert.equal(first.headers.get('ratelimit-remaining'), '1');
      assert.equal((await server.request('GET', '/api/v1/users', { token })).status, 200);
      const refused = await server.request('GET', '/api/v1/coaching-templates', { token });
      assert.equal(refused.status, 429);
      assert.deepEqual(refused.json, { error: 'Too many requests in the past second.' });
      assert.equal(refused.headers.get('retry-after'), '1');
      const exported = await server.exportSessions(token, { startDate: '2024-01-01', endDate: '2024-01-02', timeAxis: 'createdAt' });
      assert.equal(exported.status, 200, 'the export bucket is separate');
    } finally {
      await server.close();
    }
  });
});
