import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../src/accounts/tokens.js';
import { dumpDatabase, storeBackends } from './helpers/backends.js';
import { eventually } from './helpers/deadline.js';
import {
  asBrowser,
  type BrowserSession,
  inviteSecret,
  PASSWORD,
  sessionOf,
  sessionSetCookie,
  signIn,
  userWithPassword,
} from './helpers/browser.js';
import { startTestServer, TEST_PASSWORD_COST, type TestServer } from './helpers/server.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REFUSED = { error: 'The email or password is not right.' };

for (const backend of await storeBackends()) {
  describe(`accounts and signing in (${backend.name})`, () => {
    let server: TestServer;
    let admin: { orgId: string; userId: string; token: string };

    before(async () => {
      server = await startTestServer({ backend });
      admin = await server.createOrg('Accounts');
    });
    after(() => server.close());

    it('creates a user with a one-time invite link that sets a password and signs in', async () => {
      const created = await server.request('POST', '/api/v1/users', {
        token: admin.token,
        body: { email: 'New.Person@Example.test', name: 'New Person', role: 'coach' },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json.email, 'new.person@example.test');
      assert.equal(created.json.active, true);
      assert.match(created.json.inviteUrl, /^http:\/\/127\.0\.0\.1:\d+\/invite\/[A-Za-z0-9_-]{43}$/);
      const secret = inviteSecret(created.json.inviteUrl);

      const info = await server.request('GET', `/api/v1/auth/invites/${secret}`);
      assert.deepEqual(info.json, { email: 'new.person@example.test', name: 'New Person' });

      const short = await server.request('POST', `/api/v1/auth/invites/${secret}`, { body: { password: '123456789' } });
      assert.equal(short.status, 400);
      assert.match(short.json.error, /at least 10 characters/);

      const accepted = await server.request('POST', `/api/v1/auth/invites/${secret}`, { body: { password: PASSWORD } });
      assert.equal(accepted.status, 200, accepted.text);
      assert.equal(accepted.json.user.id, created.json.id);
      assert.equal(typeof accepted.json.csrfToken, 'string');
      const me = await asBrowser(server, sessionOf(accepted))('GET', '/api/v1/auth/me');
      assert.equal(me.status, 200);
      assert.equal(me.json.user.email, 'new.person@example.test');
      assert.deepEqual(me.json.organization, { id: admin.orgId, name: 'Accounts' });
      assert.equal(me.json.csrfToken, accepted.json.csrfToken);

      for (const again of [
        await server.request('POST', `/api/v1/auth/invites/${secret}`, { body: { password: 'another password' } }),
        await server.request('GET', `/api/v1/auth/invites/${secret}`),
      ]) {
        assert.equal(again.status, 404, 'a used link does not work again');
        assert.match(again.json.error, /already used or expired/);
      }
      assert.equal((await signIn(server, 'new.person@example.test', PASSWORD)).status, 200);
      assert.equal((await signIn(server, 'new.person@example.test', 'another password')).status, 401, 'the second use set nothing');
    });

    it('lets an invite link expire after 7 days, and a newer link replace an older one', async () => {
      const created = await server.request('POST', '/api/v1/users', {
        token: admin.token,
        body: { email: 'late@example.test', name: 'Late', role: 'agent' },
      });
      const first = inviteSecret(created.json.inviteUrl);
      server.clock.advance(7 * DAY - 1);
      assert.equal((await server.request('GET', `/api/v1/auth/invites/${first}`)).status, 200, 'still good a millisecond before 7 days');
      server.clock.advance(1);
      assert.equal((await server.request('POST', `/api/v1/auth/invites/${first}`, { body: { password: PASSWORD } })).status, 404);

      await server.store.applyImport(
        admin.orgId,
        { users: [{ id: 'imported-1', name: 'Imported', role: 'agent' }], templates: [], sessions: [], points: [], todos: [] },
        server.clock.now(),
      );
      const noEmail = await server.request('POST', '/api/v1/users/imported-1/invite', { token: admin.token });
      assert.equal(noEmail.status, 409);
      assert.match(noEmail.json.error, /no email/);
      const reissued = await server.request('POST', `/api/v1/users/${created.json.id}/invite`, { token: admin.token });
      assert.equal(reissued.status, 200, reissued.text);
      const second = inviteSecret(reissued.json.inviteUrl);
      const third = inviteSecret(
        (await server.request('POST', `/api/v1/users/${created.json.id}/invite`, { token: admin.token })).json.inviteUrl,
      );
      assert.equal((await server.request('GET', `/api/v1/auth/invites/${second}`)).status, 404, 'the newer link voids the older');
      assert.equal((await server.request('POST', `/api/v1/auth/invites/${third}`, { body: { password: PASSWORD } })).status, 200);
    });

    it('resets a password through a new link: the old password and the other sessions end', async () => {
      const person = await userWithPassword(server, admin.token, 'coach');
      const link = await server.request('POST', `/api/v1/users/${person.userId}/invite`, { token: admin.token });
      const reset = await server.request('POST', `/api/v1/auth/invites/${inviteSecret(link.json.inviteUrl)}`, {
        body: { password: 'a brand new password' },
      });
      assert.equal(reset.status, 200);
      assert.equal(
        (await asBrowser(server, person.session)('GET', '/api/v1/auth/me')).status,
        401,
        'the session from before the reset ended',
      );
      assert.equal((await asBrowser(server, sessionOf(reset))('GET', '/api/v1/auth/me')).status, 200);
      assert.deepEqual((await signIn(server, person.email, PASSWORD)).json, REFUSED);
      server.clock.advance(61_000);
      assert.equal((await signIn(server, person.email, 'a brand new password')).status, 200);
    });

    it('signs an email known in two organizations in to the one whose password matches', async () => {
      const other = await server.createOrg('Elsewhere');
      const email = 'twice@example.test';
      const links = [];
      for (const token of [admin.token, other.token]) {
        links.push(
          (await server.request('POST', '/api/v1/users', { token, body: { email, name: 'Twice', role: 'coach' } })).json.inviteUrl,
        );
      }
      await server.request('POST', `/api/v1/auth/invites/${inviteSecret(links[0])}`, { body: { password: 'password in the first' } });
      await server.request('POST', `/api/v1/auth/invites/${inviteSecret(links[1])}`, { body: { password: 'password in the second' } });
      server.clock.advance(61_000);
      const second = await signIn(server, email, 'password in the second');
      assert.equal((await asBrowser(server, sessionOf(second))('GET', '/api/v1/auth/me')).json.organization.id, other.orgId);
      server.clock.advance(61_000);
      const first = await signIn(server, email, 'password in the first');
      assert.equal((await asBrowser(server, sessionOf(first))('GET', '/api/v1/auth/me')).json.organization.id, admin.orgId);
    });

    it('stores neither passwords nor link secrets in clear', async () => {
      const created = await server.request('POST', '/api/v1/users', {
        token: admin.token,
        body: { email: 'hash@example.test', name: 'Hash', role: 'agent' },
      });
      const secret = inviteSecret(created.json.inviteUrl);
      const accepted = await server.request('POST', `/api/v1/auth/invites/${secret}`, { body: { password: 'a very secret phrase' } });
      const cookieValue = sessionOf(accepted).cookie.split('=')[1]!;
      const candidates = await server.store.signInCandidates('hash@example.test');
      // Test servers hash at TEST_PASSWORD_COST; production's N = 2^17 is test/passwords.test.ts's.
      const stored = new RegExp(`^scrypt\\$${TEST_PASSWORD_COST.N}\\$8\\$1\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`);
      assert.match(candidates[0]!.passwordHash!, stored);
      const dump = await dumpDatabase(server.config.database);
      assert.ok(dump.includes('hash@example.test'), 'the dump holds the tables');
      const logs = server.logs.join('\n');
      assert.match(logs, /\/api\/v1\/auth\/invites\/\[redacted\]/, 'the request was logged, without the link secret');
      for (const secretValue of ['a very secret phrase', secret, cookieValue, accepted.json.csrfToken]) {
        assert.ok(!dump.includes(secretValue), `a secret is stored in clear (${secretValue.slice(0, 4)}…)`);
        assert.ok(!logs.includes(secretValue), `a secret reached the log (${secretValue.slice(0, 4)}…)`);
      }
    });

    it('gives the same answer for an unknown email and a wrong password', async () => {
      // That both cost one scrypt check at the same cost is measured by `BENCH_ONLY=sign-in npm run bench`, not timed here.
      const { email } = await userWithPassword(server, admin.token, 'coach');
      const wrong = await signIn(server, email, 'not the password');
      server.clock.advance(61_000);
      const unknown = await signIn(server, 'nobody@example.test', 'not the password');
      assert.equal(wrong.status, 401);
      assert.equal(unknown.status, 401);
      assert.deepEqual(wrong.json, REFUSED);
      assert.deepEqual(unknown.json, REFUSED);
      assert.equal(sessionSetCookie(wrong), null);
      assert.equal(sessionSetCookie(unknown), null);
    });

    it('sets the session cookie HttpOnly, SameSite=Lax, Path=/, without Secure on http, and a new id at every sign-in', async () => {
      const { email, session } = await userWithPassword(server, admin.token, 'coach');
      const planted = 'coachport_session=planted-by-an-attacker';
      const reply = await signIn(server, email, PASSWORD, { cookie: planted });
      assert.equal(reply.status, 200);
      const header = sessionSetCookie(reply)!;
      assert.match(header, /; HttpOnly/);
      assert.match(header, /; SameSite=Lax/);
      assert.match(header, /; Path=\//);
      assert.doesNotMatch(header, /Secure/);
      const fresh = sessionOf(reply);
      assert.notEqual(fresh.cookie, planted);
      assert.notEqual(fresh.cookie, session.cookie, 'each sign-in makes a new id');
      assert.ok(fresh.cookie.split('=')[1]!.length >= 43, '256 bits of id');
      assert.equal((await server.request('GET', '/api/v1/auth/me', { headers: { cookie: planted } })).status, 401);
      assert.equal((await asBrowser(server, fresh)('GET', '/api/v1/auth/me')).status, 200);
      assert.equal((await asBrowser(server, session)('GET', '/api/v1/auth/me')).status, 200, 'an earlier session of the same person stays');
      assert.equal((await server.request('GET', '/api/v1/auth/me')).status, 401);
    });

    it('refuses cookie-authenticated writes without the CSRF token or from another site, and leaves apiToken requests alone', async () => {
      const { session } = await userWithPassword(server, admin.token, 'coach');
      const browser = asBrowser(server, session);
      const body = { name: 'Template by cookie' };
      const noToken = await server.request('POST', '/api/v1/coaching-templates', { body, headers: { cookie: session.cookie } });
      assert.equal(noToken.status, 403);
      assert.match(noToken.json.error, /X-CSRF-Token/);
      const wrongToken = await browser('POST', '/api/v1/coaching-templates', body, { 'x-csrf-token': 'guess' });
      assert.equal(wrongToken.status, 403);
      const crossSite = await browser('POST', '/api/v1/coaching-templates', body, { origin: 'https://evil.example' });
      assert.equal(crossSite.status, 403);
      assert.match(crossSite.json.error, /another site/);
      assert.equal(
        (await browser('POST', '/api/v1/coaching-templates', body, { origin: server.url })).status,
        201,
        'the own origin passes',
      );
      assert.equal(
        (await browser('POST', '/api/v1/coaching-templates', body)).status,
        201,
        'no Origin (not a browser form) passes with the token',
      );
      assert.equal(
        (await browser('GET', '/api/v1/coaching-templates', undefined, { origin: 'https://evil.example' })).status,
        200,
        'reads change nothing',
      );
      const withApiToken = await server.request('POST', '/api/v1/coaching-templates', {
        token: admin.token,
        body,
        headers: { origin: 'https://evil.example' },
      });
      assert.equal(withApiToken.status, 201, 'apiToken requests are unchanged');
      const crossSiteSignIn = await signIn(server, 'x@example.test', PASSWORD, { origin: 'https://evil.example' });
      assert.equal(crossSiteSignIn.status, 403, 'another site cannot sign someone in');
    });

    /**
     * A request as the console sends it, once the last use it marks has landed: no request waits for
     * the mark (browser-sessions.ts), and the test's clock jumps hours at once right after it.
     */
    async function seen(session: BrowserSession) {
      const reply = await asBrowser(server, session)('GET', '/api/v1/auth/me');
      if (reply.status !== 200) return reply;
      const idHash = hashToken(session.cookie.slice('coachport_session='.length));
      const lastSeen = async () => (await server.store.findBrowserSession(idHash))?.session.lastSeenAt;
      const now = server.clock.now();
      assert.equal(await eventually(lastSeen, (at) => at === now, 'the request to mark the session seen'), now);
      return reply;
    }

    it("never moves a token's or a browser session's last use back, as marks landing out of order would", async () => {
      const { email } = await userWithPassword(server, admin.token, 'agent');
      const session = sessionOf(await signIn(server, email, PASSWORD));
      const idHash = hashToken(session.cookie.slice('coachport_session='.length));
      const token = (await server.store.findToken(hashToken(admin.token)))!.token;
      const later = server.clock.now() + 10 * HOUR;
      await server.store.markTokenUsed(token.id, later);
      await server.store.markTokenUsed(token.id, later - HOUR);
      assert.equal((await server.store.findToken(hashToken(admin.token)))!.token.lastUsedAt, later);
      await server.store.touchBrowserSession(idHash, later);
      await server.store.touchBrowserSession(idHash, later - HOUR);
      assert.equal((await server.store.findBrowserSession(idHash))!.session.lastSeenAt, later);
    });

    it('ends a session after 12 idle hours, and after 7 days however busy', async () => {
      const { email } = await userWithPassword(server, admin.token, 'agent');
      const idle = sessionOf(await signIn(server, email, PASSWORD));
      server.clock.advance(12 * HOUR - 60_000);
      assert.equal((await seen(idle)).status, 200);
      server.clock.advance(12 * HOUR - 60_000);
      assert.equal((await seen(idle)).status, 200, 'activity moves the idle deadline');
      server.clock.advance(12 * HOUR);
      const ended = await asBrowser(server, idle)('GET', '/api/v1/auth/me');
      assert.equal(ended.status, 401);
      assert.match(sessionSetCookie(ended)!, /coachport_session=;/, 'the ended cookie is cleared');

      server.clock.advance(61_000);
      const busy = sessionOf(await signIn(server, email, PASSWORD));
      for (let hours = 0; hours < 7 * 24 - 11; hours += 11) {
        server.clock.advance(11 * HOUR);
        assert.equal((await seen(busy)).status, 200, `at ${hours + 11} hours`);
      }
      server.clock.advance(11 * HOUR);
      const unseen = sessionOf(await signIn(server, email, PASSWORD));
      server.clock.advance(12 * HOUR);
      assert.equal((await asBrowser(server, busy)('GET', '/api/v1/auth/me')).status, 401, 'past 7 days');
      server.clock.advance(61_000);
      assert.equal((await signIn(server, email, PASSWORD)).status, 200);
      const rows = JSON.parse(await dumpDatabase(server.config.database)) as Array<[string, Array<{ user_id: string }>]>;
      const userId = (await server.store.signInCandidates(email))[0]!.user.id;
      const left = rows.find(([table]) => table === 'browser_sessions')![1].filter((row) => row.user_id === userId);
      assert.equal(left.length, 1, 'sessions that ended unseen are removed at the next sign-in');
      assert.equal((await asBrowser(server, unseen)('GET', '/api/v1/auth/me')).status, 401);
    });

    it('signs out: 204, the cookie cleared, and the old cookie refused', async () => {
      const { session } = await userWithPassword(server, admin.token, 'coach');
      const browser = asBrowser(server, session);
      assert.equal(
        (await server.request('POST', '/api/v1/auth/sign-out', { headers: { cookie: session.cookie } })).status,
        403,
        'sign-out needs the CSRF token too',
      );
      const out = await browser('POST', '/api/v1/auth/sign-out');
      assert.equal(out.status, 204);
      assert.match(sessionSetCookie(out)!, /coachport_session=;.*Expires=Thu, 01 Jan 1970/);
      assert.equal((await browser('GET', '/api/v1/auth/me')).status, 401);
      assert.equal(
        (await server.request('POST', '/api/v1/auth/sign-out', { token: admin.token })).status,
        400,
        'a token has no browser session to end',
      );
    });

    it("deactivation makes the user's tokens and cookies fail at once; reactivation restores the tokens", async () => {
      const coach = await userWithPassword(server, admin.token, 'coach');
      const token = (await asBrowser(server, coach.session)('POST', '/api/v1/tokens', {})).json.token as string;
      const agent = await server.addUser(admin.orgId, 'agent');
      const held = await server.request('POST', '/api/v1/coaching/sessions', {
        token,
        body: { coachingFormName: 'Kept', agentId: agent.userId },
      });
      assert.equal(held.status, 201);
      assert.equal((await server.request('GET', '/api/v1/tokens', { token })).status, 200);
      const off = await server.request('PATCH', `/api/v1/users/${coach.userId}`, { token: admin.token, body: { active: false } });
      assert.equal(off.status, 200, off.text);
      assert.equal(off.json.active, false);
      assert.equal((await server.request('GET', '/api/v1/tokens', { token })).status, 401);
      assert.equal((await asBrowser(server, coach.session)('GET', '/api/v1/auth/me')).status, 401);
      const kept = await server.request('GET', `/api/v1/coaching/sessions/${held.json._id}`, { token: admin.token });
      assert.equal(kept.json.coachId, coach.userId, 'their sessions stay');
      assert.equal(kept.json.activityLog[0].userId, coach.userId, 'and their log entries');
      assert.equal(
        (await server.request('GET', '/api/v1/auth/me', { token: admin.token })).status,
        401,
        '/me answers for browser sessions only',
      );
      assert.deepEqual((await signIn(server, coach.email, PASSWORD)).json, REFUSED, 'inactive users cannot sign in');
      const link = await server.request('POST', `/api/v1/users/${coach.userId}/invite`, { token: admin.token });
      assert.equal(link.status, 409);
      const on = await server.request('PATCH', `/api/v1/users/${coach.userId}`, { token: admin.token, body: { active: true } });
      assert.equal(on.json.active, true);
      assert.equal((await server.request('GET', '/api/v1/tokens', { token })).status, 200);
      assert.equal((await asBrowser(server, coach.session)('GET', '/api/v1/auth/me')).status, 401, 'ended browser sessions stay ended');
    });

    it('keeps the last active admin, and emails unique', async () => {
      const org = await server.createOrg('Lonely');
      const demote = await server.request('PATCH', `/api/v1/users/${org.userId}`, { token: org.token, body: { role: 'coach' } });
      assert.equal(demote.status, 409);
      assert.match(demote.json.error, /last active admin/);
      assert.equal(
        (await server.request('PATCH', `/api/v1/users/${org.userId}`, { token: org.token, body: { active: false } })).status,
        409,
      );
      const second = await server.request('POST', '/api/v1/users', {
        token: org.token,
        body: { email: 'second@example.test', name: 'Second', role: 'admin' },
      });
      const taken = await server.request('PATCH', `/api/v1/users/${second.json.id}`, {
        token: org.token,
        body: { email: (await server.store.getUser(org.orgId, org.userId))!.email },
      });
      assert.equal(taken.status, 409);
      assert.match(taken.json.error, /already exists/);
      const renamed = await server.request('PATCH', `/api/v1/users/${second.json.id}`, {
        token: org.token,
        body: { name: 'Renamed', role: 'coach' },
      });
      assert.deepEqual(renamed.json, { id: second.json.id, email: 'second@example.test', name: 'Renamed', role: 'coach', active: true });
      const promoted = await server.request('PATCH', `/api/v1/users/${second.json.id}`, { token: org.token, body: { role: 'admin' } });
      assert.equal(promoted.status, 200);
      assert.equal(
        (await server.request('PATCH', `/api/v1/users/${org.userId}`, { token: org.token, body: { active: false } })).status,
        200,
        'with another admin, the first may go',
      );
      const listed = await server.request('GET', '/api/v1/users', { token: (await server.addUser(org.orgId, 'admin')).token });
      const active = Object.fromEntries(listed.json.map((u: { id: string; active: boolean }) => [u.id, u.active]));
      assert.equal(active[org.userId], false);
      assert.equal(active[second.json.id], true);
    });
  });
}

describe('signing in with https and limits', () => {
  it('marks the cookie Secure when PUBLIC_URL is https, and accepts that origin', async () => {
    const server = await startTestServer({ configure: (c) => ({ ...c, publicUrl: 'https://coach.example.com' }) });
    try {
      const admin = await server.createOrg();
      const created = await server.request('POST', '/api/v1/users', {
        token: admin.token,
        body: { email: 's@example.test', name: 'S', role: 'coach' },
      });
      assert.match(created.json.inviteUrl, /^https:\/\/coach\.example\.com\/invite\//);
      const accepted = await server.request('POST', `/api/v1/auth/invites/${inviteSecret(created.json.inviteUrl)}`, {
        body: { password: PASSWORD },
        headers: { origin: 'https://coach.example.com' },
      });
      assert.equal(accepted.status, 200);
      assert.match(sessionSetCookie(accepted)!, /; Secure/);
      const write = await asBrowser(server, sessionOf(accepted))(
        'POST',
        '/api/v1/coaching-templates',
        { name: 'T' },
        { origin: 'https://coach.example.com' },
      );
      assert.equal(write.status, 201);
    } finally {
      await server.close();
    }
  });

  it('refuses sign-in before checking the password: per account from unknown addresses, and per address for any account', async () => {
    const server = await startTestServer({
      configure: (c) => ({
        ...c,
        trustProxy: true,
        limits: { ...c.limits, signInPerAccount: { perSecond: 100, perMinute: 3 }, authFailures: { perSecond: 100, perMinute: 3 } },
      }),
    });
    try {
      const admin = await server.createOrg();
      const { email } = await userWithPassword(server, admin.token, 'coach');
      const from = (address: string) => ({ 'x-forwarded-for': address });
      const usual = await signIn(server, email, PASSWORD, from('198.51.100.5'));
      assert.equal(usual.status, 200, "the person's own address, known from now on");
      assert.equal((await signIn(server, email, 'wrong one', from('198.51.100.1'))).status, 401);
      assert.equal((await signIn(server, email, 'wrong two', from('198.51.100.2'))).status, 401);
      assert.equal((await signIn(server, email, PASSWORD, from('198.51.100.3'))).status, 200, 'a right password counts no failure');
      assert.equal((await signIn(server, email, 'wrong three', from('198.51.100.6'))).status, 401);
      const limited = await signIn(server, email, PASSWORD, from('198.51.100.4'));
      assert.equal(limited.status, 429, 'three failures from addresses new to the account: a new address is refused, right password too');
      assert.match(limited.json.error, /Too many sign-in attempts for this account/);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      assert.equal((await signIn(server, email, PASSWORD, from('198.51.100.5'))).status, 200, 'the known address is not');
      const unknown = async () => signIn(server, 'ghost@example.test', 'whatever it is', from('198.51.100.9'));
      const ghost = [await unknown(), await unknown(), await unknown(), await unknown()].map((r) => r.status);
      assert.deepEqual(ghost, [401, 401, 401, 429], 'an unknown email is limited the same way: the limit reveals nothing');

      server.clock.advance(61_000);
      const other = await userWithPassword(server, admin.token, 'agent');
      for (const guess of ['g1 wrong', 'g2 wrong'])
        assert.equal((await signIn(server, `a-${guess.slice(0, 2)}@example.test`, guess, from('203.0.113.7'))).status, 401);
      assert.equal((await signIn(server, email, 'g3 wrong', from('203.0.113.7'))).status, 401);
      const blocked = await signIn(server, other.email, PASSWORD, from('203.0.113.7'));
      assert.equal(blocked.status, 429, 'three failures from one address block it for every account');
      assert.match(blocked.json.error, /from this address/);
      assert.equal((await signIn(server, other.email, PASSWORD, from('203.0.113.8'))).status, 200, 'another address is not affected');
      const badToken = await server.request('GET', '/api/v1/tokens', { token: 'cp_not-a-token', headers: from('203.0.113.7') });
      assert.equal(badToken.status, 429, 'sign-in failures count in the same per-address bucket as bad tokens');
    } finally {
      await server.close();
    }
  });
});
