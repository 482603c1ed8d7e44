import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeBackends } from './helpers/backends.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** A body each route accepts, so that only the id decides the answer. */
const BODIES: Record<string, unknown> = {
  'PATCH /api/v1/coaching/sessions/{id}': { coachNotes: 'probe' },
  'PATCH /api/v1/coaching/points/{id}': { coachNotes: 'probe' },
  'PATCH /api/v1/coaching/todos/{id}': { title: 'probe' },
  'PATCH /api/v1/users/{id}': { name: 'probe' },
  'PATCH /api/v1/coaching-templates/{id}': { name: 'probe' },
  'PATCH /api/v1/webhooks/{id}': { active: false },
};

for (const backend of await storeBackends()) {
  describe(`tenancy matrix (${backend.name})`, () => {
    let server: TestServer;
    let token: string;
    let foreignIds: Record<string, string>;
    let routes: Array<{ method: string; path: string }>;

    before(async () => {
      server = await startTestServer({ backend });
      ({ token } = await server.createOrg('Prober'));
      const victim = await server.createOrg('Victim');
      const agent = await server.addUser(victim.orgId, 'agent');
      const call = (method: string, path: string, body?: unknown) => server.request(method, path, { token: victim.token, body });
      const s = (await call('POST', '/api/v1/coaching/sessions', { coachingFormName: 'Secret session', agentId: agent.userId })).json;
      const p = (
        await call('POST', '/api/v1/coaching/points', {
          coachingFormIds: [s._id],
          type: 'strength',
          classification: 'qa',
          subject: 'Secret point',
        })
      ).json;
      const t = (await call('POST', '/api/v1/coaching/todos', { coachingFormIds: [s._id], title: 'Secret to-do' })).json;
      const template = (await call('POST', '/api/v1/coaching-templates', { name: 'Secret template' })).json;
      const [victimToken] = await server.store.listTokens(victim.orgId);
      // Made after every change, so it has nothing to send (a public address literal needs no DNS).
      const webhook = (await call('POST', '/api/v1/webhooks', { url: 'https://93.184.216.34/Secret-hook', events: ['*'] })).json;
      foreignIds = {
        session: s._id,
        point: p._id,
        todo: t._id,
        token: victimToken!.id,
        user: agent.userId,
        template: template.id,
        webhook: webhook.id,
      };
      // The routes come from the server's own OpenAPI description: a new route joins the matrix by itself.
      const document = (await server.request('GET', '/openapi.json')).json as { paths: Record<string, Record<string, unknown>> };
      routes = Object.entries(document.paths)
        .filter(([path]) => path.includes('{id}'))
        .flatMap(([path, operations]) => Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path })));
    });
    after(() => server.close());

    it('answers 404 for every route with an id, for every id of another organization, and leaks nothing', async () => {
      assert.ok(routes.length >= 10, `found ${routes.length} routes with an id`);
      let cases = 0;
      for (const { method, path } of routes) {
        for (const [kind, id] of Object.entries(foreignIds)) {
          const reply = await server.request(method, path.replace('{id}', id), { token, body: BODIES[`${method} ${path}`] });
          cases++;
          assert.equal(reply.status, 404, `${method} ${path} with the other organization's ${kind} id: ${reply.status} ${reply.text}`);
          assert.deepEqual(Object.keys(reply.json), ['error']);
          assert.doesNotMatch(reply.text, /Secret/);
        }
      }
      process.stdout.write(`tenancy matrix: ${cases} cases\n`);
    });

    it("left the other organization's records as they were", async () => {
      const [victim] = (await server.store.listOrganizations()).filter((o) => o.name === 'Victim');
      const doc = await server.store.readSession(victim!.id, foreignIds.session!);
      assert.equal(doc!.coachNotes, null);
      assert.equal(doc!.isDeleted, false);
      assert.equal(doc!.coachingPoints[0]!.isDeleted, false);
      assert.equal(doc!.todos[0]!.title, 'Secret to-do');
      assert.equal(doc!.activityLog.length, 3);
      assert.ok((await server.store.getToken(victim!.id, foreignIds.token!))!.deactivatedAt === null);
      assert.deepEqual(
        (await server.store.listTemplates(victim!.id)).map((t) => t.name),
        ['Secret template'],
      );
      const [hook] = await server.store.webhooks(victim!.id, (tx) => tx.listEndpoints());
      assert.equal(hook!.active, true);
    });
  });
}
