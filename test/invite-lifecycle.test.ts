import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { INVITE_UNUSABLE } from '../src/accounts/sign-in.js';
import { storeBackends } from './helpers/backends.js';
import { inviteSecret, PASSWORD } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/server.js';

for (const backend of await storeBackends()) {
  describe(`invite links die with a deactivation or an email change (${backend.name})`, () => {
    let server: TestServer;
    let admin: { orgId: string; userId: string; token: string };

    before(async () => {
      server = await startTestServer({ backend });
      admin = await server.createOrg('Invites');
    });
    after(() => server.close());

    const invited = async (email: string) => {
      const body = { email, name: 'Invited Person', role: 'coach' };
      const created = await server.request('POST', '/api/v1/users', { token: admin.token, body });
      assert.equal(created.status, 201, created.text);
      return { id: created.json.id as string, secret: inviteSecret(created.json.inviteUrl) };
    };
    const patch = async (id: string, body: object) => {
      const reply = await server.request('PATCH', `/api/v1/users/${id}`, { token: admin.token, body });
      assert.equal(reply.status, 200, reply.text);
    };
    const refused = async (secret: string) => {
      const read = await server.request('GET', `/api/v1/auth/invites/${secret}`);
      assert.deepEqual([read.status, read.json], [404, { error: INVITE_UNUSABLE }]);
      const used = await server.request('POST', `/api/v1/auth/invites/${secret}`, { body: { password: PASSWORD } });
      assert.deepEqual([used.status, used.json], [404, { error: INVITE_UNUSABLE }]);
    };
    const reinvite = async (id: string) => {
      const reply = await server.request('POST', `/api/v1/users/${id}/invite`, { token: admin.token });
      assert.equal(reply.status, 200, reply.text);
      const secret = inviteSecret(reply.json.inviteUrl);
      const accepted = await server.request('POST', `/api/v1/auth/invites/${secret}`, { body: { password: PASSWORD } });
      assert.equal(accepted.status, 200, 'a new link works as usual');
    };

    it('an old link is refused after the person is deactivated and reactivated; a new one works', async () => {
      const person = await invited('deactivated@example.test');
      assert.equal((await server.request('GET', `/api/v1/auth/invites/${person.secret}`)).status, 200, 'the link works before');
      await patch(person.id, { active: false });
      await patch(person.id, { active: true });
      await refused(person.secret);
      await reinvite(person.id);
    });

    it("an old link is refused after the person's email changed; a new one works", async () => {
      const person = await invited('old.address@example.test');
      await patch(person.id, { email: 'new.address@example.test' });
      await refused(person.secret);
      await reinvite(person.id);
    });

    it('a rename or a role change leaves the link working', async () => {
      const person = await invited('renamed@example.test');
      await patch(person.id, { name: 'Someone Else', role: 'agent' });
      const accepted = await server.request('POST', `/api/v1/auth/invites/${person.secret}`, { body: { password: PASSWORD } });
      assert.equal(accepted.status, 200, accepted.text);
    });
  });
}
