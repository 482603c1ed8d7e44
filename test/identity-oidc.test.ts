import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeBackends } from './helpers/backends.js';
import { asBrowser, signIn, userWithPassword, PASSWORD } from './helpers/browser.js';
import { CookieJar } from './helpers/cookie-jar.js';
import { startTestProvider, type ProviderAccount, type TestProvider } from './helpers/oidc-provider.js';
import { closedPort } from './helpers/ports.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const CALLBACK = '/api/v1/auth/oidc/callback';
const MAPPING = { admin: ['cp-admins'], coach: ['cp-coaches', 'team-leads'], agent: ['cp-agents'] };

function person(sub: string, groups: string[], overrides: Partial<ProviderAccount> = {}): ProviderAccount {
  return { sub, email: `${sub}@corp.example`, email_verified: true, name: `Person ${sub}`, groups, ...overrides };
}

/** From /start to the provider and back, stopping before the callback is fetched: the callback URL the provider sent the browser to. */
async function authorize(server: TestServer, orgId: string, jar: CookieJar, rewrite?: (providerUrl: URL) => URL): Promise<string> {
  const start = await jar.get1(`${server.url}/api/v1/auth/oidc/${orgId}/start`);
  assert.equal(start.status, 302, start.text);
  let url = start.location!;
  if (rewrite) url = rewrite(new URL(url)).href;
  for (let hop = 0; hop < 10; hop++) {
    if (url.startsWith(server.url + CALLBACK)) return url;
    const step = await jar.get1(url);
    assert.ok(step.status >= 300 && step.status < 400 && step.location, `hop ${hop} at ${url}: ${step.status} ${step.text.slice(0, 300)}`);
    url = step.location;
  }
  throw new Error('the provider never sent the browser back');
}

/** The callback as the browser fetches it: where it ends, and the session cookie if one was set. */
async function callback(jar: CookieJar, url: string): Promise<{ location: URL; session: string | undefined }> {
  const reply = await jar.get1(url);
  assert.equal(reply.status, 302, reply.text);
  return { location: new URL(reply.location!), session: jar.get(url, 'coachport_session') };
}

async function signInWithProvider(server: TestServer, orgId: string) {
  const jar = new CookieJar();
  return callback(jar, await authorize(server, orgId, jar));
}

function refusedWith(result: { location: URL; session: string | undefined }, reason: string, orgId: string | null): void {
  assert.equal(result.location.pathname, '/sign-in');
  assert.equal(result.location.searchParams.get('oidcError'), reason);
  if (orgId) assert.equal(result.location.searchParams.get('organization'), orgId);
  assert.equal(result.session, undefined, 'no session');
}

/** What the server logged about the last failed sign-in with the provider (the browser sees only its reason). */
function lastFailureDetail(server: TestServer): string {
  const line = server.logs.filter((l) => l.includes('single sign-on failed')).at(-1);
  return line ? (JSON.parse(line) as { detail: string }).detail : '';
}

async function me(server: TestServer, session: string) {
  const reply = await server.request('GET', '/api/v1/auth/me', { headers: { cookie: `coachport_session=${session}` } });
  assert.equal(reply.status, 200, reply.text);
  return reply.json.user as { id: string; email: string; role: string; name: string };
}

for (const backend of await storeBackends()) {
  describe(`OIDC sign-in (${backend.name})`, () => {
    let server: TestServer;
    let provider: TestProvider;
    let shortLived: TestProvider;
    let admin: { orgId: string; userId: string; token: string };

    before(async () => {
      const port = await closedPort();
      const publicUrl = `http://127.0.0.1:${port}`;
      provider = await startTestProvider({ redirectUri: publicUrl + CALLBACK });
      shortLived = await startTestProvider({ redirectUri: publicUrl + CALLBACK, idTokenTtlSeconds: 60 });
      server = await startTestServer({ backend, port, configure: (c) => ({ ...c, publicUrl, oidcAllowHttp: true }) });
      server.clock.set(Date.now());
      admin = await server.createOrg('Corp');
      const mapping = await server.request('PUT', '/api/v1/identity/role-mapping', { token: admin.token, body: MAPPING });
      assert.equal(mapping.status, 200, mapping.text);
      const { clientId, clientSecret } = provider.clients[0]!;
      const saved = await server.request('PUT', '/api/v1/identity/oidc', {
        token: admin.token,
        body: { issuer: provider.issuer, clientId, clientSecret },
      });
      assert.equal(saved.status, 200, saved.text);
    });
    after(async () => {
      await server.close();
      await provider.close();
      await shortLived.close();
    });

    it('saves the provider after discovery, shows it without the secret, and refuses an issuer it cannot discover', async () => {
      const shown = await server.request('GET', '/api/v1/identity/oidc', { token: admin.token });
      assert.equal(shown.status, 200);
      assert.equal(shown.json.issuer, provider.issuer);
      assert.equal(shown.json.clientSecretSet, true);
      assert.equal(shown.json.defaultRole, null);
      assert.equal(shown.json.redirectUri, `${server.url}${CALLBACK}`);
      assert.equal(shown.json.signInUrl, `${server.url}/sign-in?organization=${admin.orgId}`);
      assert.ok(!shown.text.includes(provider.clients[0]!.clientSecret), 'the secret never leaves');
      const nowhere = await server.request('PUT', '/api/v1/identity/oidc', {
        token: admin.token,
        body: { issuer: `http://127.0.0.1:${await closedPort()}`, clientId: 'x', clientSecret: 'y' },
      });
      assert.equal(nowhere.status, 400);
      assert.match(nowhere.json.error, /openid-configuration/);
      assert.equal(
        (await server.request('GET', '/api/v1/identity/oidc', { token: admin.token })).json.issuer,
        provider.issuer,
        'nothing saved',
      );
      const audit = await server.request('GET', '/api/v1/audit-log?action=identity_configured', { token: admin.token });
      assert.deepEqual(
        audit.json.entries.map((e: { details: { part: string } }) => e.details.part),
        ['role_mapping', 'oidc'],
      );
      const mapping = await server.request('GET', '/api/v1/identity/role-mapping', { token: admin.token });
      assert.deepEqual(mapping.json, { admin: ['cp-admins'], coach: ['cp-coaches', 'team-leads'], agent: ['cp-agents'] });
    });

    it('creates a new person with the mapped role (the highest of their groups), and changes it at the next sign-in', async () => {
      provider.accounts.set('jit', person('jit', ['cp-agents', 'team-leads', 'unrelated']));
      provider.signInAs('jit');
      const first = await signInWithProvider(server, admin.orgId);
      assert.equal(first.location.pathname, '/sessions');
      assert.ok(first.session);
      const user = await me(server, first.session);
      assert.equal(user.role, 'coach');
      assert.equal(user.email, 'jit@corp.example');
      assert.equal(user.name, 'Person jit');

      provider.accounts.set('jit', person('jit', ['cp-agents']));
      const second = await signInWithProvider(server, admin.orgId);
      const again = await me(server, second.session!);
      assert.equal(again.id, user.id, 'linked by sub: the same person');
      assert.equal(again.role, 'agent');
      const audit = await server.request('GET', '/api/v1/audit-log?action=sign_in', { token: admin.token });
      const mine = audit.json.entries.filter((e: { target: string }) => e.target === `user:${user.id}`);
      assert.deepEqual(
        mine.map((e: { details: { method: string } }) => e.details.method),
        ['oidc', 'oidc'],
      );
    });

    it('links an unknown sub to the user with the same email only when the provider verified it', async () => {
      const existing = await server.addUser(admin.orgId, 'coach', 'Known Coach');
      provider.accounts.set(
        'unverified',
        person('unverified', ['cp-agents'], { email: existing.email.toUpperCase(), email_verified: false }),
      );
      provider.signInAs('unverified');
      refusedWith(await signInWithProvider(server, admin.orgId), 'email_not_verified', admin.orgId);

      provider.accounts.set('verified', person('verified', [], { email: existing.email }));
      provider.signInAs('verified');
      const linked = await signInWithProvider(server, admin.orgId);
      const user = await me(server, linked.session!);
      assert.equal(user.id, existing.userId);
      assert.equal(user.role, 'coach', 'no mapped group: the role they have');
      const failures = await server.request('GET', '/api/v1/audit-log?action=sign_in_failed', { token: admin.token });
      assert.ok(
        failures.json.entries.some(
          (e: { details: Record<string, string> }) => e.details.method === 'oidc' && e.details.reason === 'email_not_verified',
        ),
      );
    });

    it('refuses a new person in no mapped group while defaultRole is null', async () => {
      provider.accounts.set('stranger', person('stranger', ['marketing']));
      provider.signInAs('stranger');
      refusedWith(await signInWithProvider(server, admin.orgId), 'unmapped', admin.orgId);
      const users = await server.request('GET', '/api/v1/users', { token: admin.token });
      assert.ok(!users.json.some((u: { email: string }) => u.email === 'stranger@corp.example'), 'nobody created');
    });

    it('refuses a forged state, a state from another browser, and a state used twice', async () => {
      provider.accounts.set('state', person('state', ['cp-agents']));
      provider.signInAs('state');
      const jar = new CookieJar();
      const url = new URL(await authorize(server, admin.orgId, jar));
      const forged = new URL(url);
      forged.searchParams.set('state', 'forged-state-value');
      refusedWith(await callback(jar, forged.href), 'bad_state', null);

      const jar2 = new CookieJar();
      const honest = await authorize(server, admin.orgId, jar2);
      refusedWith(await callback(new CookieJar(), honest), 'bad_state', null);

      const jar3 = new CookieJar();
      const once = await authorize(server, admin.orgId, jar3);
      const cookie = jar3.get(server.url, 'coachport_oidc_state')!;
      assert.equal((await callback(jar3, once)).location.pathname, '/sessions');
      const replay = new CookieJar();
      await replay.get1(`${server.url}/api/v1/auth/oidc/${admin.orgId}/start`);
      // The same browser state again, as an attacker holding the old URL and cookie would send it.
      const replayed = await fetch(once, { redirect: 'manual', headers: { cookie: `coachport_oidc_state=${cookie}` } });
      assert.equal(new URL(replayed.headers.get('location')!, server.url).searchParams.get('oidcError'), 'bad_state');
      assert.ok(!replayed.headers.getSetCookie().some((c) => c.startsWith('coachport_session=') && !c.startsWith('coachport_session=;')));
    });

    it('refuses a replayed code and a code issued to another client (another audience)', async () => {
      provider.accounts.set('replay', person('replay', ['cp-agents']));
      provider.signInAs('replay');
      const first = new CookieJar();
      const used = new URL(await authorize(server, admin.orgId, first));
      assert.equal((await callback(first, used.href)).location.pathname, '/sessions');
      // A fresh sign-in's own state, carrying the code already exchanged.
      const second = new CookieJar();
      const fresh = new URL(await authorize(server, admin.orgId, second));
      fresh.searchParams.set('code', used.searchParams.get('code')!);
      refusedWith(await callback(second, fresh.href), 'provider_check_failed', admin.orgId);
      assert.match(lastFailureDetail(server), /invalid_grant/);

      const third = new CookieJar();
      const otherClient = await authorize(server, admin.orgId, third, (url) => {
        url.searchParams.set('client_id', provider.clients[1]!.clientId);
        return url;
      });
      refusedWith(await callback(third, otherClient), 'provider_check_failed', admin.orgId);
      assert.match(lastFailureDetail(server), /invalid_grant|client/);
    });

    it("refuses an expired ID token (judged by the server's clock); a defaultRole takes in a person in no mapped group", async () => {
      const org = await server.createOrg('Short');
      const { clientId, clientSecret } = shortLived.clients[0]!;
      const saved = await server.request('PUT', '/api/v1/identity/oidc', {
        token: org.token,
        body: { issuer: shortLived.issuer, clientId, clientSecret, defaultRole: 'agent' },
      });
      assert.equal(saved.status, 200, saved.text);
      shortLived.accounts.set('late', person('late', []));
      shortLived.signInAs('late');
      const jar = new CookieJar();
      const url = await authorize(server, org.orgId, jar);
      server.clock.advance(5 * 60_000);
      try {
        refusedWith(await callback(jar, url), 'provider_check_failed', org.orgId);
        assert.match(lastFailureDetail(server), /exp/i);
      } finally {
        server.clock.set(Date.now());
      }
      const jar2 = new CookieJar();
      assert.equal((await callback(jar2, await authorize(server, org.orgId, jar2))).location.pathname, '/sessions', 'in time it works');
    });

    it('refuses a deactivated person', async () => {
      provider.accounts.set('leaver', person('leaver', ['cp-agents']));
      provider.signInAs('leaver');
      const user = await me(server, (await signInWithProvider(server, admin.orgId)).session!);
      const off = await server.request('PATCH', `/api/v1/users/${user.id}`, { token: admin.token, body: { active: false } });
      assert.equal(off.status, 200);
      refusedWith(await signInWithProvider(server, admin.orgId), 'inactive', admin.orgId);
    });

    it("with passwordSignIn false, refuses a coach's password and lets an admin in (the break-glass way)", async () => {
      const coach = await userWithPassword(server, admin.token, 'coach');
      const secondAdmin = await userWithPassword(server, admin.token, 'admin');
      assert.equal((await signIn(server, coach.email, PASSWORD)).status, 200, 'allowed while passwordSignIn is true');
      const off = await server.request('PUT', '/api/v1/identity/oidc', {
        token: admin.token,
        body: { issuer: provider.issuer, clientId: provider.clients[0]!.clientId, passwordSignIn: false },
      });
      assert.equal(off.status, 200, off.text);
      assert.equal(off.json.passwordSignIn, false);
      assert.equal(off.json.clientSecretSet, true, 'the saved secret is kept');
      const refused = await signIn(server, coach.email, PASSWORD);
      assert.equal(refused.status, 403);
      assert.match(refused.json.error, /company account/);
      assert.equal(refused.headers.getSetCookie().length, 0);
      const allowed = await signIn(server, secondAdmin.email, PASSWORD);
      assert.equal(allowed.status, 200, allowed.text);
      assert.equal((await asBrowser(server, { cookie: '', csrfToken: '' })('GET', '/api/v1/auth/me')).status, 401);
      const failures = await server.request('GET', '/api/v1/audit-log?action=sign_in_failed', { token: admin.token });
      assert.ok(
        failures.json.entries.some(
          (e: { details: Record<string, string> }) => e.details.reason === 'password_sign_in_off' && e.details.method === 'password',
        ),
      );
    });

    it('sends a sign-in for an organization without a provider back to the sign-in page', async () => {
      const org = await server.createOrg('No SSO');
      const jar = new CookieJar();
      const start = await jar.get1(`${server.url}/api/v1/auth/oidc/${org.orgId}/start`);
      assert.equal(start.status, 302);
      const location = new URL(start.location!);
      assert.equal(location.pathname, '/sign-in');
      assert.equal(location.searchParams.get('oidcError'), 'not_configured');
    });
  });
}

describe('OIDC configuration without OIDC_ALLOW_HTTP', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('refuses an http:// issuer, and lets only admins configure', async () => {
    const admin = await server.createOrg();
    const body = { issuer: 'http://idp.example', clientId: 'c', clientSecret: 's' };
    const refused = await server.request('PUT', '/api/v1/identity/oidc', { token: admin.token, body });
    assert.equal(refused.status, 400);
    assert.match(refused.json.error, /OIDC_ALLOW_HTTP/);
    const coach = await server.addUser(admin.orgId, 'coach');
    assert.equal(
      (await server.request('PUT', '/api/v1/identity/role-mapping', { token: coach.token, body: { admin: ['x'] } })).status,
      403,
    );
    assert.equal((await server.request('GET', '/api/v1/identity/oidc', { token: coach.token })).status, 403);
    const firstTime = await server.request('PUT', '/api/v1/identity/oidc', {
      token: admin.token,
      body: { issuer: 'https://idp.example', clientId: 'c' },
    });
    assert.equal(firstTime.status, 400);
  });
});
