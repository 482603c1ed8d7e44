import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeBackends } from './helpers/backends.js';
import { importHeldOpen } from './helpers/held-import.js';
import { inviteSecret, sessionOf } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

type Scim = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<{ status: number; json: any; text: string; type: string; retryAfter: string | null }>;

function scimClient(server: TestServer, token: string): Scim {
  return async (method, path, body, headers = {}) => {
    const response = await fetch(`${server.url}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      text,
      json: text ? JSON.parse(text) : undefined,
      type,
      retryAfter: response.headers.get('retry-after'),
    };
  };
}

function assertScimError(reply: { status: number; json: any; type: string }, status: number, scimType?: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.json));
  assert.deepEqual(reply.json.schemas, [ERROR]);
  assert.equal(reply.json.status, String(status));
  assert.equal(typeof reply.json.detail, 'string');
  if (scimType) assert.equal(reply.json.scimType, scimType);
  assert.match(reply.type, /application\/scim\+json/);
}

/** A browser session and an API token of the user, to see them end with a deactivation. */
async function credentialsOf(server: TestServer, adminToken: string, userId: string) {
  const token = await server.request('POST', '/api/v1/tokens', { token: adminToken, body: { userId } });
  assert.equal(token.status, 201, token.text);
  const invite = await server.request('POST', `/api/v1/users/${userId}/invite`, { token: adminToken });
  assert.equal(invite.status, 200, invite.text);
  const accepted = await server.request('POST', `/api/v1/auth/invites/${inviteSecret(invite.json.inviteUrl)}`, {
    body: { password: 'correct horse battery' },
  });
  assert.equal(accepted.status, 200, accepted.text);
  const session = sessionOf(accepted);
  return {
    tokenWorks: async () => (await server.request('GET', '/api/v1/directory', { token: token.json.token })).status,
    sessionWorks: async () => (await server.request('GET', '/api/v1/auth/me', { headers: { cookie: session.cookie } })).status,
  };
}

async function accountOf(server: TestServer, adminToken: string, userId: string) {
  const users = await server.request('GET', '/api/v1/users', { token: adminToken });
  return (users.json as Array<{ id: string; role: string; active: boolean; name: string; email: string }>).find((u) => u.id === userId)!;
}

for (const backend of await storeBackends()) {
  describe(`SCIM provisioning (${backend.name})`, () => {
    let server: TestServer;
    let admin: { orgId: string; userId: string; token: string };
    let scim: Scim;

    before(async () => {
      server = await startTestServer({ backend, configure: (c) => ({ ...c, publicUrl: 'https://coachport.example' }) });
      admin = await server.createOrg('Provisioned');
      scim = scimClient(server, admin.token);
      const mapping = await server.request('PUT', '/api/v1/identity/role-mapping', {
        token: admin.token,
        body: { admin: ['CP Admins'], coach: ['CP Coaches'] },
      });
      assert.equal(mapping.status, 200);
    });
    after(() => server.close());

    it('describes itself: ServiceProviderConfig, ResourceTypes and Schemas', async () => {
      const config = await scim('GET', '/ServiceProviderConfig');
      assert.equal(config.status, 200);
      assert.equal(config.json.patch.supported, true);
      assert.equal(config.json.filter.supported, true);
      const types = await scim('GET', '/ResourceTypes');
      assert.deepEqual(
        types.json.Resources.map((r: { id: string }) => r.id),
        ['User', 'Group'],
      );
      const schemas = await scim('GET', '/Schemas');
      assert.deepEqual(
        schemas.json.Resources.map((r: { id: string }) => r.id),
        [USER, GROUP],
      );
    });

    it('replays Okta: look up, create, read, replace, push a group, deactivate with a path-less replace', async () => {
      const email = 'okta.person@corp.example';
      const lookup = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${email}"`)}&startIndex=1&count=100`);
      assert.equal(lookup.status, 200);
      assert.equal(lookup.json.totalResults, 0);
      const created = await scim('POST', '/Users', {
        schemas: [USER],
        userName: email,
        name: { givenName: 'Okta', familyName: 'Person' },
        emails: [{ primary: true, value: email, type: 'work' }],
        displayName: 'Okta Person',
        locale: 'en-US',
        externalId: '00u1abcd',
        groups: [],
        password: 'never-used-1',
        active: true,
      });
      assert.equal(created.status, 201, created.text);
      const id = created.json.id as string;
      assert.equal(created.json.userName, email);
      assert.equal(created.json.name.formatted, 'Okta Person');
      assert.equal(created.json.externalId, '00u1abcd');
      assert.equal(created.json.active, true);
      assertScimError(await scim('POST', '/Users', { schemas: [USER], userName: email.toUpperCase() }), 409, 'uniqueness');

      const read = await scim('GET', `/Users/${id}`);
      assert.equal(read.status, 200);
      assert.equal(read.json.displayName, 'Okta Person');
      const found = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${email}"`)}`);
      assert.equal(found.json.totalResults, 1);
      assert.equal(found.json.Resources[0].id, id);

      const replaced = await scim('PUT', `/Users/${id}`, {
        schemas: [USER],
        id,
        userName: email,
        name: { givenName: 'Okta', familyName: 'Renamed' },
        emails: [{ primary: true, value: email, type: 'work' }],
        active: true,
      });
      assert.equal(replaced.status, 200, replaced.text);
      assert.equal((await accountOf(server, admin.token, id)).name, 'Okta Renamed');

      const group = await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'CP Coaches', members: [] });
      assert.equal(group.status, 201, group.text);
      const groupId = group.json.id as string;
      assert.equal((await accountOf(server, admin.token, id)).role, 'agent', 'no mapped group yet: the default role');
      const renamed = await scim('PATCH', `/Groups/${groupId}`, {
        schemas: [PATCH],
        Operations: [{ op: 'replace', value: { id: groupId, displayName: 'CP Coaches' } }],
      });
      assert.equal(renamed.status, 204, renamed.text);
      const added = await scim('PATCH', `/Groups/${groupId}`, {
        schemas: [PATCH],
        Operations: [{ op: 'add', path: 'members', value: [{ value: id, display: email }] }],
      });
      assert.equal(added.status, 204, added.text);
      assert.equal((await accountOf(server, admin.token, id)).role, 'coach', 'a mapped group sets the role at once');
      const listed = await scim('GET', `/Groups/${groupId}`);
      assert.deepEqual(
        listed.json.members.map((m: { value: string }) => m.value),
        [id],
      );
      const removed = await scim('PATCH', `/Groups/${groupId}`, {
        schemas: [PATCH],
        Operations: [{ op: 'remove', path: `members[value eq "${id}"]` }],
      });
      assert.equal(removed.status, 204);
      assert.deepEqual((await scim('GET', `/Groups/${groupId}`)).json.members, []);
      assert.equal((await accountOf(server, admin.token, id)).role, 'coach', 'in no mapped group: keeps the role they have');

      const credentials = await credentialsOf(server, admin.token, id);
      assert.equal(await credentials.tokenWorks(), 200);
      assert.equal(await credentials.sessionWorks(), 200);
      const off = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] });
      assert.equal(off.status, 200, off.text);
      assert.equal(off.json.active, false);
      assert.equal(await credentials.tokenWorks(), 401, 'the token fails at once');
      assert.equal(await credentials.sessionWorks(), 401, 'the browser session fails at once');
      assert.equal((await accountOf(server, admin.token, id)).active, false);

      assert.equal((await scim('DELETE', `/Groups/${groupId}`)).status, 204);
      assertScimError(await scim('GET', `/Groups/${groupId}`), 404);

      const audit = await server.request('GET', '/api/v1/audit-log?action=user_deactivated', { token: admin.token });
      const entry = audit.json.entries.find((e: { target: string }) => e.target === `user:${id}`);
      assert.deepEqual(entry.details, { via: 'scim' });
      assert.equal(entry.actorUserId, admin.userId);
      const created_ = await server.request('GET', '/api/v1/audit-log?action=user_created', { token: admin.token });
      assert.deepEqual(created_.json.entries.find((e: { target: string }) => e.target === `user:${id}`).details, {
        role: 'agent',
        via: 'scim',
      });
    });

    it('replays Entra ID: create with the enterprise extension, find by externalId, PATCH with paths and "False", groups', async () => {
      const email = 'entra.person@corp.example';
      assert.equal((await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${email}"`)}`)).json.totalResults, 0);
      assertScimError(await scim('GET', '/Users/no-such-user'), 404);
      const created = await scim('POST', '/Users', {
        schemas: [USER, ENTERPRISE],
        externalId: 'entra-object-1',
        userName: email,
        active: true,
        emails: [{ primary: true, type: 'work', value: email }],
        meta: { resourceType: 'User' },
        name: { formatted: 'Entra Person', familyName: 'Person', givenName: 'Entra' },
        roles: [],
        [ENTERPRISE]: { department: 'Support' },
      });
      assert.equal(created.status, 201, created.text);
      const id = created.json.id as string;
      const byExternal = await scim('GET', `/Users?filter=${encodeURIComponent('externalId eq "entra-object-1"')}`);
      assert.equal(byExternal.json.totalResults, 1);
      assert.equal(byExternal.json.Resources[0].userName, email);

      const patched = await scim('PATCH', `/Users/${id}`, {
        schemas: [PATCH],
        Operations: [
          { op: 'Replace', path: 'displayName', value: 'Entra Renamed' },
          { op: 'Add', path: 'emails[type eq "work"].value', value: email },
          { op: 'Replace', path: `${ENTERPRISE}:department`, value: 'Quality' },
        ],
      });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.json.displayName, 'Entra Renamed');

      const group = await scim('POST', '/Groups', { schemas: [GROUP], externalId: 'entra-group-1', displayName: 'CP Admins', members: [] });
      assert.equal(group.status, 201, group.text);
      const groupId = group.json.id as string;
      const byName = await scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "CP Admins"')}&excludedAttributes=members`);
      assert.equal(byName.json.totalResults, 1);
      assert.equal(byName.json.Resources[0].members, undefined);
      const add = await scim('PATCH', `/Groups/${groupId}`, {
        schemas: [PATCH],
        Operations: [{ op: 'Add', path: 'members', value: [{ value: id }] }],
      });
      assert.equal(add.status, 204, add.text);
      assert.equal((await accountOf(server, admin.token, id)).role, 'admin');
      const remove = await scim('PATCH', `/Groups/${groupId}`, {
        schemas: [PATCH],
        Operations: [{ op: 'Remove', path: 'members', value: [{ value: id }] }],
      });
      assert.equal(remove.status, 204);
      assert.deepEqual((await scim('GET', `/Groups/${groupId}`)).json.members, []);

      const credentials = await credentialsOf(server, admin.token, id);
      const off = await scim('PATCH', `/Users/${id}`, {
        schemas: [PATCH],
        Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
      });
      assert.equal(off.status, 200, off.text);
      assert.equal(off.json.active, false);
      assert.equal(await credentials.tokenWorks(), 401);
      assert.equal(await credentials.sessionWorks(), 401);
      const on = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: 'True' }] });
      assert.equal(on.json.active, true);
      assert.equal((await scim('DELETE', `/Users/${id}`)).status, 204);
      assert.equal((await scim('GET', `/Users/${id}`)).json.active, false, 'DELETE deactivates; the user stays');
    });

    it('answers bad input in the SCIM error shape, never a 500, and writes nothing', async () => {
      const before = (await scim('GET', '/Users')).json.totalResults;
      assertScimError(await scim('GET', `/Users?filter=${encodeURIComponent('userName sw "x"')}`), 400, 'invalidFilter');
      assertScimError(await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "unterminated')}`), 400, 'invalidFilter');
      assertScimError(await scim('GET', `/Users?filter=${encodeURIComponent('nickName eq "x"')}`), 400, 'invalidFilter');
      assertScimError(await scim('GET', '/Users?startIndex=0'), 400, 'invalidValue');
      assertScimError(
        await scim('POST', '/Users', { schemas: [USER], userName: 'new@corp.example', favouriteColour: 'blue' }),
        400,
        'invalidPath',
      );
      assertScimError(await scim('POST', '/Users', { hello: 'world' }), 400, 'invalidSyntax');
      assertScimError(await scim('POST', '/Users', { schemas: [USER], userName: 'not an email' }), 400, 'invalidValue');
      assertScimError(await scim('POST', '/Users', '{"schemas": ['), 400, 'invalidSyntax');
      assertScimError(await scim('POST', '/Users', 'userName=x', { 'content-type': 'text/plain' }), 400, 'invalidSyntax');
      const someone = (await scim('GET', '/Users')).json.Resources[0].id as string;
      assertScimError(await scim('PATCH', `/Users/${someone}`, { schemas: [PATCH] }), 400, 'invalidSyntax');
      assertScimError(
        await scim('PATCH', `/Users/${someone}`, { schemas: [PATCH], Operations: [{ op: 'frobnicate', path: 'active', value: true }] }),
        400,
        'invalidSyntax',
      );
      assertScimError(
        await scim('PATCH', `/Users/${someone}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: 'maybe' }] }),
        400,
        'invalidValue',
      );
      assertScimError(
        await scim('PATCH', `/Users/${someone}`, {
          schemas: [PATCH],
          Operations: [
            { op: 'replace', path: 'displayName', value: 'Half' },
            { op: 'replace', path: 'shoeSize', value: 9 },
          ],
        }),
        400,
        'invalidPath',
      );
      assert.notEqual((await scim('GET', `/Users/${someone}`)).json.displayName, 'Half', 'nothing half-written');
      assertScimError(
        await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Ghosts', members: [{ value: 'no-such-user' }] }),
        400,
        'invalidValue',
      );
      assert.equal(
        (await scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "Ghosts"')}`)).json.totalResults,
        0,
        'the group rolled back',
      );
      assertScimError(await scimClient(server, 'cp_wrong')('GET', '/Users'), 401);
      assertScimError(await scim('GET', '/Users', undefined, { authorization: 'Basic abc' }), 401);
      const coach = await server.addUser(admin.orgId, 'coach');
      assertScimError(await scimClient(server, coach.token)('GET', '/Users'), 403);
      assertScimError(await scim('GET', '/Nowhere'), 404);
      assert.equal((await scim('GET', '/Users')).json.totalResults, before + 1, 'only the coach added here');
    });

    if (backend.name === 'postgres') {
      it('answers a rename while an import writes with a 503 in the SCIM shape and Retry-After, and takes it after', async () => {
        const email = 'renamed.later@corp.example';
        const created = await scim('POST', '/Users', { schemas: [USER], userName: email, displayName: 'Before', active: true });
        assert.equal(created.status, 201, created.text);
        const rename = (displayName: string) =>
          scim('PUT', `/Users/${created.json.id}`, { schemas: [USER], userName: email, displayName, active: true });
        const held = await importHeldOpen(server.store, admin.orgId, Date.now());
        try {
          const refused = await rename('During the import');
          assertScimError(refused, 503);
          assert.equal(refused.retryAfter, '60');
          // The same name again is no rename: taken while the import writes.
          assert.equal((await rename('Before')).status, 200);
        } finally {
          await held.finish();
        }
        const taken = await rename('After the import');
        assert.equal(taken.status, 200, taken.text);
        assert.equal(taken.json.displayName, 'After the import');
      });
    }

    it('pages a list with startIndex and count', async () => {
      const all = await scim('GET', '/Users');
      assert.ok(all.json.totalResults >= 3);
      const page = await scim('GET', '/Users?startIndex=2&count=1');
      assert.equal(page.json.totalResults, all.json.totalResults);
      assert.equal(page.json.startIndex, 2);
      assert.equal(page.json.itemsPerPage, 1);
      assert.equal(page.json.Resources[0].id, all.json.Resources[1].id);
    });
  });
}

describe('SCIM authentication limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      configure: (c) => ({
        ...c,
        limits: { ...c.limits, authFailures: { perSecond: 100, perMinute: 3 }, authFailuresPerToken: { perSecond: 100, perMinute: 100 } },
      }),
    });
  });
  after(() => server.close());

  it('counts wrong tokens like the API does: past the limit a 429 in the SCIM shape, with Retry-After', async () => {
    const guess = (n: number) => scimClient(server, `cp_guess_${n}`)('GET', '/Users');
    for (let n = 0; n < 3; n++) assertScimError(await guess(n), 401);
    const limited = await fetch(`${server.url}/scim/v2/Users`, { headers: { authorization: 'Bearer cp_guess_4' } });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.deepEqual(((await limited.json()) as { schemas: string[] }).schemas, [ERROR]);
  });
});

describe('SCIM filter and PATCH parsing', () => {
  it('takes attribute eq "value" in any letter case, with escaped quotes, and nothing else', async () => {
    const { parseEqualityFilter } = await import('../src/identity/scim/filter.js');
    assert.deepEqual(parseEqualityFilter('USERNAME EQ "a\\"b@x.test"', ['userName']), { attribute: 'userName', value: 'a"b@x.test' });
    for (const bad of ['userName eq x', 'userName co "x"', 'userName eq "x" and active eq true', '', 'eq "x"']) {
      assert.throws(() => parseEqualityFilter(bad, ['userName']), /not supported/, bad);
    }
  });

  it("reads Okta's and Entra's PATCH forms into the same change", async () => {
    const { patchOperations } = await import('../src/identity/scim/patch.js');
    const { userFromPatch } = await import('../src/identity/scim/user-attributes.js');
    const okta = userFromPatch(patchOperations({ schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] }));
    const entra = userFromPatch(patchOperations({ schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] }));
    assert.deepEqual(okta, { active: false });
    assert.deepEqual(entra, okta);
    assert.throws(() => patchOperations({ Operations: [{ op: 'move', path: 'active' }] }), /not add, remove or replace/);
  });
});

describe('SCIM fuzzing', () => {
  let server: TestServer;
  let scim: Scim;
  let userId: string;
  let groupId: string;
  before(async () => {
    server = await startTestServer();
    const admin = await server.createOrg();
    scim = scimClient(server, admin.token);
    userId = (await scim('POST', '/Users', { schemas: [USER], userName: 'fuzz@corp.example' })).json.id;
    groupId = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Fuzzers' })).json.id;
  });
  after(() => server.close());

  it('never answers 5xx, and answers every error in the SCIM shape', async () => {
    const fc = (await import('fast-check')).default;
    const key = fc.constantFrom(
      'schemas',
      'userName',
      'active',
      'name',
      'members',
      'displayName',
      'Operations',
      'op',
      'path',
      'value',
      '__proto__',
      '',
    );
    const value = fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(USER, GROUP, PATCH, 'False', 'replace', 'members[value eq "x"]', [{ value: 'x' }]),
    );
    const body = fc.oneof(fc.jsonValue(), fc.dictionary(key, fc.oneof(value, fc.array(fc.dictionary(key, value), { maxLength: 3 }))));
    const paths = () => [
      ['POST', '/Users'],
      ['PUT', `/Users/${userId}`],
      ['PATCH', `/Users/${userId}`],
      ['POST', '/Groups'],
      ['PUT', `/Groups/${groupId}`],
      ['PATCH', `/Groups/${groupId}`],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths()), body, fc.string({ maxLength: 60 }), async ([method, path], payload, filter) => {
        const written = await scim(method!, path!, JSON.stringify(payload));
        const listed = await scim('GET', `/Users?filter=${encodeURIComponent(filter)}`);
        for (const reply of [written, listed]) {
          assert.ok(reply.status < 500, `${reply.status} ${reply.text.slice(0, 200)}`);
          if (reply.status >= 400) assertScimError(reply, reply.status);
        }
      }),
      { numRuns: 300 },
    );
  });
});
