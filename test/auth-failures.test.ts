import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from './helpers/clock.js';
import { testLimiters } from './helpers/limiters.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** Per-second limits out of reach, so the minute limits decide even on a slow machine (Redis runs on real time). */
const PER_ADDRESS = { perSecond: 10_000, perMinute: 7 };
const PER_TOKEN = { perSecond: 10_000, perMinute: 3 };

const limiters = await testLimiters();

for (const kind of limiters) {
  describe(`failed authentication, ${kind.name} limiter`, { skip: kind.skip ?? false }, () => {
    let server: TestServer;
    let checks = 0;
    let admin: { orgId: string; token: string };

    before(async () => {
      const clock = new ManualClock();
      server = await startTestServer({
        clock,
        limiter: await kind.make(clock),
        configure: (c) => ({ ...c, trustProxy: true, limits: { ...c.limits, authFailures: PER_ADDRESS, authFailuresPerToken: PER_TOKEN } }),
      });
      admin = await server.createOrg();
      // Count the credential checks the guard really makes, on the real store.
      const findToken = server.store.findToken.bind(server.store);
      server.store.findToken = (hash) => {
        checks += 1;
        return findToken(hash);
      };
    });
    after(() => server.close());

    /** Each case comes from its own address (through a trusted proxy), so no case sees another's failures. */
    let address = '';
    const users = (token: string) => server.request('GET', '/api/v1/users', { token, headers: { 'x-forwarded-for': address } });
    const countOf = (replies: Array<{ status: number }>, status: number) => replies.filter((r) => r.status === status).length;
    const parallel = <T>(n: number, run: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_v, i) => run(i)));

    it('100 parallel guesses from one address: exactly the per-address limit are checked, the rest refused before checking', async () => {
      address = '10.0.0.1';
      const colleague = await server.addUser(admin.orgId, 'admin');
      assert.equal((await users(colleague.token)).status, 200);
      checks = 0;
      const guesses = await parallel(100, (i) => users(`cp_guess-${i}-${randomBytes(8).toString('hex')}`));
      assert.equal(checks, PER_ADDRESS.perMinute);
      assert.equal(countOf(guesses, 401), PER_ADDRESS.perMinute);
      assert.equal(countOf(guesses, 429), 100 - PER_ADDRESS.perMinute);
      const refused = guesses.find((g) => g.status === 429)!;
      assert.deepEqual(refused.json, { error: 'Too many requests in the past minute.' });
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);

      assert.equal((await users(colleague.token)).status, 200, 'a colleague whose token worked is still served');
      checks = 0;
      assert.equal((await users('cp_one-more-guess')).status, 429, 'the address stays limited for unknown tokens');
      assert.equal(checks, 0);
    });

    it('a NAT neighbour retrying a revoked token spends only its own allowance: colleagues, old and new, are served', async () => {
      address = '10.0.0.2';
      const colleague = await server.addUser(admin.orgId, 'admin');
      const newcomer = await server.addUser(admin.orgId, 'admin');
      const revoked = await server.addUser(admin.orgId, 'admin');
      assert.equal((await users(colleague.token)).status, 200);
      assert.equal((await users(revoked.token)).status, 200);
      const listed = await server.request('GET', '/api/v1/tokens', { token: revoked.token });
      const tokenId = (listed.json as Array<{ id: string; userId: string }>).find((t) => t.userId === revoked.userId)!.id;
      assert.equal((await server.request('DELETE', `/api/v1/tokens/${tokenId}`, { token: admin.token })).status, 200);

      checks = 0;
      const retries = [];
      for (let i = 0; i < 10; i++) retries.push(await users(revoked.token));
      // The first failure also ends its "known good" standing; then only its own allowance is left.
      assert.equal(checks, PER_TOKEN.perMinute);
      assert.equal(countOf(retries, 401), PER_TOKEN.perMinute);
      assert.equal(countOf(retries, 429), 10 - PER_TOKEN.perMinute);
      checks = 0;
      const later = await parallel(100, () => users(revoked.token));
      assert.equal(countOf(later, 429), 100, 'once its allowance is spent, every retry is refused');
      assert.equal(checks, 0, 'and none is looked up');

      assert.equal((await users(colleague.token)).status, 200, 'a colleague whose token worked is served');
      assert.equal((await users(newcomer.token)).status, 200, 'a colleague using a token for the first time is served too');
    });

    it('a client retrying an unknown token in parallel is held to exactly its own allowance', async () => {
      address = '10.0.0.3';
      checks = 0;
      const retries = await parallel(100, () => users('cp_never-existed'));
      assert.equal(checks, PER_TOKEN.perMinute);
      assert.equal(countOf(retries, 401), PER_TOKEN.perMinute);
      const newcomer = await server.addUser(admin.orgId, 'admin');
      assert.equal((await users(newcomer.token)).status, 200, 'the address ceiling still has room');
    });

    it('requests with no credential at all are answered 401 without using up the address allowance', async () => {
      address = '10.0.0.5';
      const anonymous = await parallel(50, () => server.request('GET', '/api/v1/users', { headers: { 'x-forwarded-for': address } }));
      assert.equal(countOf(anonymous, 401), 50, 'anonymous requests are no guesses');
      checks = 0;
      const guesses = await parallel(20, (i) => users(`cp_anon-${i}`));
      assert.equal(checks, PER_ADDRESS.perMinute, 'the whole allowance is left for real attempts');
      assert.equal(countOf(guesses, 401), PER_ADDRESS.perMinute);
    });

    it('valid tokens give their places back: many parallel requests leave the whole allowance to failures', async () => {
      address = '10.0.0.4';
      const colleague = await server.addUser(admin.orgId, 'admin');
      assert.equal((await users(colleague.token)).status, 200);
      const served = await parallel(50, () => users(colleague.token));
      assert.equal(countOf(served, 200), 50);
      checks = 0;
      const guesses = await parallel(20, (i) => users(`cp_other-${i}`));
      assert.equal(checks, PER_ADDRESS.perMinute);
      assert.equal(countOf(guesses, 401), PER_ADDRESS.perMinute);
    });
  });
}
