import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ExportSession } from '../src/contract/schemas.js';
import { storeBackends } from './helpers/backends.js';
import { startTestServer, type TestServer } from './helpers/server.js';

for (const backend of await storeBackends()) {
  describe(`a coaching session's whole life through HTTP (${backend.name})`, () => {
    let server: TestServer;
    let admin: { orgId: string; token: string; userId: string };
    let coach: { id: string; email: string; token: string };
    let agent: { id: string; email: string; token: string };
    const coachIp = '203.0.113.7';
    const agentIp = '198.51.100.9';

    before(async () => {
      server = await startTestServer({ backend, configure: (c) => ({ ...c, trustProxy: true }) });
      admin = await server.createOrg();
    });
    after(() => server.close());

    const as = (token: string, ip: string) => ({ token, headers: { 'x-forwarded-for': ip } });

    it('tells the story in the export, in order, with the right user, email and address on each entry', async () => {
      // The admin creates a coach and an agent and gives each a token.
      const made: Record<string, { id: string; email: string; token: string }> = {};
      for (const [role, name] of [
        ['coach', 'Cora Coach'],
        ['agent', 'Aldo Agent'],
      ] as const) {
        const user = await server.request('POST', '/api/v1/users', {
          token: admin.token,
          body: { email: `${role}@acme.test`, name, role },
        });
        assert.equal(user.status, 201, user.text);
        const token = await server.request('POST', '/api/v1/tokens', { token: admin.token, body: { userId: user.json.id } });
        assert.equal(token.status, 201, token.text);
        made[role] = { id: user.json.id, email: user.json.email, token: token.json.token };
      }
      coach = made.coach!;
      agent = made.agent!;

      const template = await server.request('POST', '/api/v1/coaching-templates', {
        ...as(coach.token, coachIp),
        body: { name: 'QA review' },
      });
      assert.equal(template.status, 201, template.text);

      // The coach creates the session, adds a point and a to-do, and shares it.
      server.clock.advance(1000);
      const created = await server.request('POST', '/api/v1/coaching/sessions', {
        ...as(coach.token, coachIp),
        body: {
          coachingFormName: 'March review',
          agentId: agent.id,
          coachingTemplateId: template.json.id,
          meetingFormat: 'video',
          meetingDate: '2024-03-01T10:00:00.000Z',
        },
      });
      assert.equal(created.status, 201, created.text);
      const id = created.json._id as string;
      assert.equal(created.json.coachId, coach.id);
      assert.equal(created.json.formCreatorName, 'Cora Coach');
      assert.equal(created.json.coachingTemplateName, 'QA review');

      server.clock.advance(1000);
      const point = await server.request('POST', '/api/v1/coaching/points', {
        ...as(coach.token, coachIp),
        body: {
          coachingFormIds: [id],
          type: 'opportunity',
          classification: 'qa',
          ticketId: 'T-1',
          subject: 'Greeting',
          rubricName: 'Call quality',
          criteriaName: 'Opening',
          score: '3',
        },
      });
      assert.equal(point.status, 201, point.text);

      server.clock.advance(1000);
      const todo = await server.request('POST', '/api/v1/coaching/todos', {
        ...as(coach.token, coachIp),
        body: { coachingFormIds: [id], title: 'Listen to call T-1' },
      });
      assert.equal(todo.status, 201, todo.text);
      assert.equal(todo.json.completedAt, null);

      server.clock.advance(1000);
      const moved = await server.request('PATCH', `/api/v1/coaching/sessions/${id}`, {
        ...as(coach.token, coachIp),
        body: { meetingDate: '2024-03-02T10:00:00.000Z', coachNotes: 'Good call overall' },
      });
      assert.equal(moved.status, 200, moved.text);

      // Before it is shared the agent cannot see it at all.
      assert.equal((await server.request('GET', `/api/v1/coaching/sessions/${id}`, as(agent.token, agentIp))).status, 404);

      server.clock.advance(1000);
      assert.equal((await server.request('POST', `/api/v1/coaching/sessions/${id}/share`, as(coach.token, coachIp))).status, 200);

      // The agent writes notes and confirms; anything else is refused.
      server.clock.advance(1000);
      const notes = await server.request('PATCH', `/api/v1/coaching/sessions/${id}`, {
        ...as(agent.token, agentIp),
        body: { agentNotes: 'Will work on it' },
      });
      assert.equal(notes.status, 200, notes.text);
      const refused = await server.request('PATCH', `/api/v1/coaching/sessions/${id}`, {
        ...as(agent.token, agentIp),
        body: { coachNotes: 'mine now' },
      });
      assert.equal(refused.status, 403);
      assert.match(refused.json.error, /only agentNotes, not coachNotes/);
      server.clock.advance(1000);
      const agentConfirm = await server.request('POST', `/api/v1/coaching/sessions/${id}/confirm`, as(agent.token, agentIp));
      assert.equal(agentConfirm.json.agentConfirmed, true);
      assert.equal(agentConfirm.json.coachConfirmed, false);

      // The coach completes the to-do and confirms.
      server.clock.advance(1000);
      const completedAt = server.clock.now();
      const done = await server.request('PATCH', `/api/v1/coaching/todos/${todo.json._id}`, {
        ...as(coach.token, coachIp),
        body: { status: 'complete' },
      });
      assert.equal(done.status, 200, done.text);
      assert.equal(done.json.completedAt, new Date(completedAt).toISOString());
      server.clock.advance(1000);
      assert.equal(
        (await server.request('POST', `/api/v1/coaching/sessions/${id}/confirm`, as(coach.token, coachIp))).json.coachConfirmed,
        true,
      );

      // An admin deletes it.
      server.clock.advance(1000);
      const deletedAt = server.clock.now();
      const deleted = await server.request('DELETE', `/api/v1/coaching/sessions/${id}`, {
        token: admin.token,
        headers: { 'x-forwarded-for': '192.0.2.1' },
      });
      assert.equal(deleted.status, 200, deleted.text);

      const exported = await server.exportSessions(admin.token, { startDate: '2024-03-01', endDate: '2024-03-01', timeAxis: 'createdAt' });
      assert.equal(exported.status, 200, exported.text);
      const [doc] = exported.json as ExportSession[];
      assert.equal(doc!._id, id);
      assert.equal(doc!.isDeleted, true);
      assert.equal(doc!.updatedAt, new Date(deletedAt).toISOString());
      assert.equal(doc!.meetingDate, '2024-03-02T10:00:00.000Z');
      assert.equal(doc!.agentNotes, 'Will work on it');
      assert.equal(doc!.coachNotes, 'Good call overall');
      assert.deepEqual([doc!.sharedWithAgent, doc!.agentConfirmed, doc!.coachConfirmed], [true, true, true]);
      assert.equal(doc!.coachingPoints.length, 1);
      assert.equal(doc!.coachingPoints[0]!.subject, 'Greeting');
      assert.equal(doc!.todos[0]!.status, 'complete');
      assert.equal(doc!.todos[0]!.creatorName, 'Cora Coach');

      const story = doc!.activityLog.map((e) => [e.actionType, e.userId, e.userEmail, e.ipAddress]);
      assert.deepEqual(story, [
        ['created', coach.id, coach.email, coachIp],
        ['coaching_point_added', coach.id, coach.email, coachIp],
        ['todo_added', coach.id, coach.email, coachIp],
        ['updated', coach.id, coach.email, coachIp],
        ['shared', coach.id, coach.email, coachIp],
        ['updated', agent.id, agent.email, agentIp],
        ['agent_confirmed', agent.id, agent.email, agentIp],
        ['todo_completed', coach.id, coach.email, coachIp],
        ['coach_confirmed', coach.id, coach.email, coachIp],
        ['deleted', admin.userId, (await server.store.getUser(admin.orgId, admin.userId))!.email, '192.0.2.1'],
      ]);
      const update = doc!.activityLog[3]!;
      assert.deepEqual(update.descriptions, [
        'meetingDate changed from 2024-03-01T10:00:00.000Z to 2024-03-02T10:00:00.000Z',
        'coachNotes changed',
      ]);
      const times = doc!.activityLog.map((e) => Date.parse(e.timestamp));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
      );
    });

    it('reopening a to-do clears completedAt', async () => {
      const s = await server.request('POST', '/api/v1/coaching/sessions', {
        token: coach.token,
        body: { coachingFormName: 'Reopen', agentId: agent.id },
      });
      const todo = await server.request('POST', '/api/v1/coaching/todos', {
        token: coach.token,
        body: { coachingFormIds: [s.json._id], title: 'x', status: 'complete' },
      });
      assert.notEqual(todo.json.completedAt, null);
      const reopened = await server.request('PATCH', `/api/v1/coaching/todos/${todo.json._id}`, {
        token: coach.token,
        body: { status: 'incomplete' },
      });
      assert.equal(reopened.json.completedAt, null);
      const read = await server.request('GET', `/api/v1/coaching/sessions/${s.json._id}`, { token: coach.token });
      assert.deepEqual(
        read.json.activityLog.map((e: { actionType: string }) => e.actionType),
        ['created', 'todo_added', 'todo_reopened'],
      );
    });

    it('lists a point linked to two sessions under both, and logs the link on both', async () => {
      const one = await server.request('POST', '/api/v1/coaching/sessions', {
        token: coach.token,
        body: { coachingFormName: 'One', agentId: agent.id },
      });
      const two = await server.request('POST', '/api/v1/coaching/sessions', {
        token: coach.token,
        body: { coachingFormName: 'Two', agentId: agent.id },
      });
      const point = await server.request('POST', '/api/v1/coaching/points', {
        token: coach.token,
        body: { coachingFormIds: [one.json._id, two.json._id], type: 'strength', classification: 'csat' },
      });
      assert.equal(point.status, 201, point.text);
      for (const s of [one, two]) {
        const read = await server.request('GET', `/api/v1/coaching/sessions/${s.json._id}`, { token: coach.token });
        assert.deepEqual(
          read.json.coachingPoints.map((p: { _id: string }) => p._id),
          [point.json._id],
        );
        assert.equal(read.json.activityLog.at(-1).actionType, 'coaching_point_added');
      }
    });
  });
}
