import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../src/logger.js';
import { MemoryRateLimiter } from '../src/ratelimit/memory.js';
import { RedisRateLimiter } from '../src/ratelimit/redis.js';
import { REDIS_TEST_URL, storeBackends } from './helpers/backends.js';
import { inviteSecret, PASSWORD, signIn, userWithPassword } from './helpers/browser.js';
import { ManualClock } from './helpers/clock.js';
import { deleteKeys, testRedisPrefix } from './helpers/limiters.js';
import { redisUnavailable } from './helpers/redis.js';
import { startTestServer } from './helpers/server.js';

for (const backend of await storeBackends()) {
  describe(`accounts under concurrent requests (${backend.name})`, () => {
    it('two admins demoting each other at once: exactly one succeeds, and an admin remains', async () => {
      const server = await startTestServer({ backend });
      try {
        const org = await server.createOrg('Pair');
        const other = await server.addUser(org.orgId, 'admin');
        const [a, b] = await Promise.all([
          server.request('PATCH', `/api/v1/users/${other.userId}`, { token: org.token, body: { active: false } }),
          server.request('PATCH', `/api/v1/users/${org.userId}`, { token: other.token, body: { role: 'agent' } }),
        ]);
        // The loser is refused as the last admin (409), or, when the winner committed before the
        // loser was even authenticated, as a deactivated caller (401); never do both succeed.
        const statuses = [a.status, b.status].sort();
        assert.equal(statuses[0], 200, `${a.text} ${b.text}`);
        assert.ok([401, 409].includes(statuses[1]!), `${a.text} ${b.text}`);
        const admins = (await server.store.listAccounts(org.orgId)).filter((u) => u.role === 'admin' && u.active);
        assert.equal(admins.length, 1);
      } finally {
        await server.close();
      }
    });

    it('one invite link used from two tabs at once sets one password', async () => {
      const server = await startTestServer({ backend });
      try {
        const org = await server.createOrg('Tabs');
        const created = await server.request('POST', '/api/v1/users', {
          token: org.token,
          body: { email: 'tabs@example.test', name: 'Tabs', role: 'coach' },
        });
        const secret = inviteSecret(created.json.inviteUrl);
        const passwords = ['first tab password', 'second tab password', 'third tab password'];
        const replies = await Promise.all(
          passwords.map((password) => server.request('POST', `/api/v1/auth/invites/${secret}`, { body: { password } })),
        );
        assert.deepEqual(replies.map((r) => r.status).sort(), [200, 404, 404]);
        const winner = passwords[replies.findIndex((r) => r.status === 200)]!;
        server.clock.advance(61_000);
        assert.equal(
          (await signIn(server, 'tabs@example.test', winner)).status,
          200,
          'the password set is the one whose request succeeded',
        );
      } finally {
        await server.close();
      }
    });
  });
}

const redisSkip = await redisUnavailable();

for (const kind of ['memory', 'redis'] as const) {
  describe(`parallel guesses at one account (${kind} limiter)`, { skip: kind === 'redis' ? (redisSkip ?? false) : false }, () => {
    it('checks exactly the limit of 20 parallel wrong passwords from 20 addresses, and refuses the rest before checking', async () => {
      const clock = new ManualClock(Date.now());
      const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
      const prefix = testRedisPrefix();
      const limiter =
        kind === 'memory'
          ? new MemoryRateLimiter(clock)
          : new RedisRateLimiter(REDIS_TEST_URL, new MemoryRateLimiter(clock), createLogger('warn', sink), prefix);
      if (limiter instanceof RedisRateLimiter) await limiter.connect();
      const server = await startTestServer({
        clock,
        limiter,
        configure: (c) => ({ ...c, trustProxy: true, limits: { ...c.limits, signInPerAccount: { perSecond: 100, perMinute: 5 } } }),
      });
      try {
        const org = await server.createOrg('Guessed');
        const { email } = await userWithPassword(server, org.token, 'coach');
        const replies = await Promise.all(
          Array.from({ length: 20 }, (_, i) => signIn(server, email, `wrong guess ${i}`, { 'x-forwarded-for': `198.51.100.${i + 1}` })),
        );
        const statuses = replies.map((r) => r.status);
        assert.equal(statuses.filter((s) => s === 401).length, 5, statuses.join(','));
        assert.equal(statuses.filter((s) => s === 429).length, 15);
        const failures = await server.store.readAudit(org.orgId, {
          fromMs: null,
          toMs: null,
          action: 'sign_in_failed',
          after: null,
          limit: 100,
        });
        assert.equal(failures.length, 5, 'only the admitted guesses were checked');
        assert.equal(
          (await signIn(server, email, PASSWORD, { 'x-forwarded-for': '203.0.113.1' })).status,
          429,
          'the right password waits too',
        );
      } finally {
        await server.close();
        if (kind === 'redis') await deleteKeys(prefix);
      }
    });
  });
}
