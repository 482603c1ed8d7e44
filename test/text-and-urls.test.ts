import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeBackends } from './helpers/backends.js';
import { session } from './helpers/fixtures.js';
import { startTestServer, type Reply, type TestServer } from './helpers/server.js';

function assertError(reply: Reply, status: number, mentions: RegExp): void {
  assert.equal(reply.status, status, reply.text);
  assert.deepEqual(Object.keys(reply.json ?? {}), ['error'], reply.text);
  assert.match(reply.json.error, mentions);
}

const NUL = /a text holds the NUL character \(\\u0000\), which Coachport does not store/;

for (const backend of await storeBackends()) {
  describe(`text the databases cannot hold, and URLs the router refuses (${backend.name})`, () => {
    let server: TestServer;
    let admin: { orgId: string; token: string };
    let sessionId: string;
    before(async () => {
      server = await startTestServer({ backend, configure: (c) => ({ ...c, events: { ...c.events, allowPrivate: true } }) });
      admin = await server.createOrg();
      const agent = await server.addUser(admin.orgId, 'agent', 'Aldo Agent');
      const made = await server.request('POST', '/api/v1/coaching/sessions', {
        token: admin.token,
        body: { coachingFormName: 'Plain', agentId: agent.userId },
      });
      sessionId = made.json._id;
    });
    after(() => server.close());

    it('refuses the NUL character in any JSON body with a 400 naming where, and stores nothing', async () => {
      const { token } = admin;
      const template = await server.request('POST', '/api/v1/coaching-templates', { token, body: { name: 't\u0000' } });
      assertError(template, 400, new RegExp(`^name: ${NUL.source}`));
      const notes = await server.request('PATCH', `/api/v1/coaching/sessions/${sessionId}`, { token, body: { coachNotes: 'a\u0000b' } });
      assertError(notes, 400, new RegExp(`^coachNotes: ${NUL.source}`));
      const point = await server.request('POST', '/api/v1/coaching/points', {
        token,
        body: { coachingFormIds: [sessionId], type: 'strength', classification: 'qa', subject: 'x', descriptions: ['ok', 'no\u0000'] },
      });
      assertError(point, 400, NUL);
      const imported = await server.request('POST', '/api/v1/coaching-sessions/import', {
        token,
        body: [session(), session({ agentNotes: 'x\u0000' })],
      });
      assertError(imported, 400, new RegExp(`^Element 1: ${NUL.source}`));
      // Text that merely shows a backslash and "u0000" is text like any other.
      const shown = await server.request('PATCH', `/api/v1/coaching/sessions/${sessionId}`, { token, body: { coachNotes: '\\u0000' } });
      assert.equal(shown.status, 200, shown.text);
      assert.equal(shown.json.coachNotes, '\\u0000');
      const templates = await server.request('GET', '/api/v1/coaching-templates', { token });
      assert.ok(!templates.text.includes('\\u0000'), 'no template was stored');
    });

    it('refuses %00 in a URL, and a URL that does not decode, in the error shape', async () => {
      assertError(await server.request('GET', '/api/v1/coaching/sessions/%00', { token: admin.token }), 400, /URL holds the NUL character/);
      assertError(await server.request('GET', '/api/v1/coaching/sessions/%zz', { token: admin.token }), 400, /URL is not valid/);
      assertError(await server.request('GET', '/api/v1/coaching/sessions/%E0%A4%A'), 400, /URL is not valid/);
    });

    it('routes ids as long as the contract allows (200 characters) to their endpoints', async () => {
      const doc = session({ _id: 'L'.repeat(200) });
      const imported = await server.request('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: [doc] });
      assert.equal(imported.status, 200, imported.text);
      const read = await server.request('GET', `/api/v1/coaching/sessions/${doc._id}`, { token: admin.token });
      assert.equal(read.status, 200, read.text);
      assert.equal(read.json._id, doc._id);
      const edited = await server.request('PATCH', `/api/v1/coaching/sessions/${doc._id}`, {
        token: admin.token,
        body: { coachNotes: 'x' },
      });
      assert.equal(edited.status, 200, edited.text);
      const tooLong = await server.request('GET', `/api/v1/coaching/sessions/${'L'.repeat(201)}`, { token: admin.token });
      assertError(tooLong, 400, /at most 200 characters/);
    });

    it('tells a text/plain body to come as JSON', async () => {
      const reply = await server.request('POST', '/api/v1/coaching-sessions/import', {
        token: admin.token,
        raw: JSON.stringify([session()]),
        headers: { 'content-type': 'text/plain' },
      });
      assertError(reply, 415, /send the body as application\/json/);
    });

    it('refuses a body sent to an action that takes none, and takes an empty object as none', async () => {
      const { token } = admin;
      const hook = await server.request('POST', '/api/v1/webhooks', {
        token,
        body: { url: 'http://127.0.0.1:9/in', events: ['*'] },
      });
      assert.equal(hook.status, 201, hook.text);
      const rotate = `/api/v1/webhooks/${hook.json.id}/rotate-secret`;
      const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
      assertError(
        await server.request('POST', rotate, { token, body: { secret } }),
        400,
        /^This request takes no body: secret is not a known field\.$/,
      );
      assertError(await server.request('POST', rotate, { token, body: ['x'] }), 400, /^This request takes no body\.$/);
      const share = `/api/v1/coaching/sessions/${sessionId}/share`;
      assertError(await server.request('POST', share, { token, body: { agentId: 'someone' } }), 400, /agentId is not a known field/);
      const unshared = await server.request('GET', `/api/v1/coaching/sessions/${sessionId}`, { token });
      assert.equal(unshared.json.sharedWithAgent, false, 'the refused share changed nothing');
      const rotated = await server.request('POST', rotate, { token, body: {} });
      assert.equal(rotated.status, 200, rotated.text);
      assert.notEqual(rotated.json.secret, secret);
      const shared = await server.request('POST', share, { token });
      assert.equal(shared.status, 200, shared.text);
      assert.equal((await server.request('DELETE', `/api/v1/webhooks/${hook.json.id}`, { token })).status, 204);
    });
  });
}
