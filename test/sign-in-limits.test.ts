import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { asBrowser, PASSWORD, sessionOf, sessionSetCookie, signIn, userWithPassword } from './helpers/browser.js';
import { ManualClock } from './helpers/clock.js';
import { testLimiters } from './helpers/limiters.js';
import { GENEROUS, startTestServer, type Reply, type TestServer } from './helpers/server.js';

/** Per-second limits out of reach, so the minute limits decide even on a slow machine (Redis runs on real time). */
const PER_ADDRESS = { perSecond: 10_000, perMinute: 6 };
const PER_TOKEN = { perSecond: 10_000, perMinute: 2 };
const REFUSED = { error: 'The email or password is not right.' };

const limiters = await testLimiters();

const countOf = (replies: Reply[], status: number) => replies.filter((r) => r.status === status).length;
const parallel = <T>(n: number, run: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_v, i) => run(i)));
const from = (address: string) => ({ 'x-forwarded-for': address });

for (const kind of limiters) {
  describe(`console sign-in and cookie limits, ${kind.name} limiter`, { skip: kind.skip ?? false }, () => {
    let server: TestServer;
    let admin: { orgId: string; token: string };
    /** Password checks really made: one look-up of the email's accounts per sign-in that got past the limits. */
    let checks = 0;

    before(async () => {
      const clock = new ManualClock();
      server = await startTestServer({
        clock,
        limiter: await kind.make(clock),
        configure: (c) => ({
          ...c,
          trustProxy: true,
          // The per-account limit out of reach: these cases are about the per-address one.
          limits: { ...c.limits, authFailures: PER_ADDRESS, authFailuresPerToken: PER_TOKEN, signInPerAccount: GENEROUS },
        }),
      });
      admin = await server.createOrg('Limits');
      const candidates = server.store.signInCandidates.bind(server.store);
      server.store.signInCandidates = (email) => {
        checks += 1;
        return candidates(email);
      };
    });
    after(() => server.close());

    it('30 parallel wrong passwords from one address over four accounts: exactly the per-address limit are checked', async () => {
      const people: Array<{ email: string }> = [];
      for (let i = 0; i < 4; i++) people.push(await userWithPassword(server, admin.token, 'coach'));
      const failedBefore = (
        await server.store.readAudit(admin.orgId, { fromMs: null, toMs: null, action: 'sign_in_failed', after: null, limit: 100 })
      ).length;
      checks = 0;
      const guesses = await parallel(30, (i) => signIn(server, people[i % 4]!.email, `wrong guess ${i}`, from('198.51.100.7')));
      assert.equal(checks, PER_ADDRESS.perMinute, 'only the admitted guesses were checked');
      assert.equal(countOf(guesses, 401), PER_ADDRESS.perMinute);
      assert.equal(countOf(guesses, 429), 30 - PER_ADDRESS.perMinute);
      const failed = await server.store.readAudit(admin.orgId, {
        fromMs: null,
        toMs: null,
        action: 'sign_in_failed',
        after: null,
        limit: 100,
      });
      assert.equal(failed.length - failedBefore, PER_ADDRESS.perMinute, 'one failure recorded per admitted guess');
      const limited = guesses.find((g) => g.status === 429)!;
      assert.match(limited.json.error, /^Too many failed sign-ins from this address; try again in \d+ seconds\.$/);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);

      checks = 0;
      assert.equal(
        (await signIn(server, people[0]!.email, PASSWORD, from('198.51.100.7'))).status,
        429,
        'the address stays limited, right password or not',
      );
      assert.equal(checks, 0);
      const elsewhere = await signIn(server, people[0]!.email, PASSWORD, from('203.0.113.9'));
      assert.equal(elsewhere.status, 200, 'the person signs in from another address');
      assert.equal((await asBrowser(server, sessionOf(elsewhere))('GET', '/api/v1/auth/me')).status, 200);
    });

    it('right passwords give their place back, and an unknown email gets the same answer and counts the same', async () => {
      const person = await userWithPassword(server, admin.token, 'agent');
      for (let i = 0; i < PER_ADDRESS.perMinute + 2; i++) {
        assert.equal((await signIn(server, person.email, PASSWORD, from('198.51.100.8'))).status, 200, `sign-in ${i + 1}`);
      }
      checks = 0;
      const guesses = await parallel(12, (i) =>
        signIn(server, i % 2 === 0 ? person.email : `nobody-${i}@example.test`, `wrong guess ${i}`, from('198.51.100.8')),
      );
      assert.equal(checks, PER_ADDRESS.perMinute, 'the whole allowance was left to failures');
      const refused = guesses.filter((g) => g.status === 401);
      assert.equal(refused.length, PER_ADDRESS.perMinute);
      for (const reply of refused) assert.deepEqual(reply.json, REFUSED);
      const unknown = await signIn(server, 'nobody-else@example.test', 'wrong guess', from('198.51.100.8'));
      const known = await signIn(server, person.email, 'wrong guess', from('198.51.100.8'));
      assert.deepEqual([unknown.status, unknown.json], [known.status, known.json], 'a full bucket answers alike for both');
    });

    const browserNotHeld =
      "a signed-in browser's parallel requests are never held by the failure limits; " + 'an ended cookie gets 401 and is cleared';
    it(browserNotHeld, async () => {
      const person = await userWithPassword(server, admin.token, 'coach');
      const invited = asBrowser(server, person.session);
      const signedIn = asBrowser(server, sessionOf(await signIn(server, person.email, PASSWORD, from('198.51.100.9'))));
      for (const browser of [invited, signedIn]) {
        // The console's first burst, right after signing in: more than the per-token and per-address allowances.
        const burst = await parallel(20, (i) =>
          browser('GET', i % 2 === 0 ? '/api/v1/auth/me' : '/api/v1/directory', undefined, from('198.51.100.9')),
        );
        assert.equal(countOf(burst, 200), 20, burst.map((r) => r.status).join(','));
      }
      server.clock.advance(60 * 60 * 1000);
      const later = await parallel(20, () => signedIn('GET', '/api/v1/auth/me', undefined, from('198.51.100.9')));
      assert.equal(countOf(later, 200), 20);

      server.clock.advance(13 * 60 * 60 * 1000);
      const ended = await signedIn('GET', '/api/v1/auth/me', undefined, from('198.51.100.9'));
      assert.equal(ended.status, 401);
      assert.match(sessionSetCookie(ended)!, /^coachport_session=;.*Expires=Thu, 01 Jan 1970/);
      const retries = await parallel(10, () => signedIn('GET', '/api/v1/auth/me', undefined, from('198.51.100.9')));
      assert.equal(countOf(retries, 200), 0, 'an ended cookie never works again');
      assert.equal(countOf(retries, 401), PER_TOKEN.perMinute - 1, 'and its retries are held to its own allowance');
      for (const reply of retries.filter((r) => r.status === 401)) assert.ok(sessionSetCookie(reply)?.startsWith('coachport_session=;'));
      const fresh = await signIn(server, person.email, PASSWORD, from('198.51.100.9'));
      assert.equal(fresh.status, 200, 'signing in again from the same address works');
    });
  });
}
