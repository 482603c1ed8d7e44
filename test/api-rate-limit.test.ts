import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from './helpers/clock.js';
import { testLimiters } from './helpers/limiters.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * SPEC §12: the api bucket counts per user, so one busy agent does not starve the admin's
 * integrations; the export and the change feed stay per organization (SPEC §2, §7). Per-second
 * limits out of reach, so the minute limits decide even on a slow machine (Redis runs on real time).
 */
const MINUTE_OF_THREE = { perSecond: 10_000, perMinute: 3 };
const MINUTE_OF_TWO = { perSecond: 10_000, perMinute: 2 };
const MINUTE_OF_ONE = { perSecond: 10_000, perMinute: 1 };
const WINDOW = { startDate: '2024-01-01', endDate: '2024-01-02', timeAxis: 'createdAt' };

for (const kind of await testLimiters()) {
  describe(`rate-limit buckets, ${kind.name} limiter`, { skip: kind.skip ?? false }, () => {
    let server: TestServer;
    let admin: { orgId: string; token: string };

    before(async () => {
      const clock = new ManualClock();
      server = await startTestServer({
        clock,
        limiter: await kind.make(clock),
        configure: (c) => ({ ...c, limits: { ...c.limits, api: MINUTE_OF_THREE, export: MINUTE_OF_TWO, feed: MINUTE_OF_ONE } }),
      });
      admin = await server.createOrg('Buckets');
    });
    after(() => server.close());

    it('counts the api bucket per user: one user at the limit, another of the same organization still served', async () => {
      const busy = await server.addUser(admin.orgId, 'agent', 'Busy Agent');
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await server.request('GET', '/api/v1/coaching-templates', { token: busy.token })).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const refused = await server.request('GET', '/api/v1/auth/me', { token: busy.token });
      assert.equal(refused.status, 429);
      assert.deepEqual(refused.json, { error: 'Too many requests in the past minute.' });

      const integration = await server.request('GET', '/api/v1/users', { token: admin.token });
      assert.equal(integration.status, 200, 'the admin of the same organization is not starved');
      assert.equal(integration.headers.get('ratelimit-remaining'), '2', 'and counts from their own full bucket');
      const sameUserOtherToken = await server.request('POST', '/api/v1/tokens', { token: admin.token, body: {} });
      assert.equal(sameUserOtherToken.status, 201, sameUserOtherToken.text);
      const viaSecondToken = () => server.request('GET', '/api/v1/coaching-templates', { token: sameUserOtherToken.json.token });
      assert.equal((await viaSecondToken()).headers.get('ratelimit-remaining'), '0');
      assert.equal((await viaSecondToken()).status, 429, "a user's tokens share the user's bucket");
    });

    it('keeps the export and the change feed per organization', async () => {
      const otherAdmin = await server.addUser(admin.orgId, 'admin', 'Second Admin');
      assert.equal((await server.exportSessions(admin.token, WINDOW)).status, 200);
      assert.equal((await server.exportSessions(otherAdmin.token, WINDOW)).status, 200);
      const exportRefused = await server.exportSessions(admin.token, WINDOW);
      assert.equal(exportRefused.status, 429, 'two admins share the export bucket');

      const feed = (token: string) => server.request('GET', '/api/v1/coaching-sessions/changes', { token });
      assert.equal((await feed(otherAdmin.token)).status, 200);
      assert.equal((await feed(admin.token)).status, 429, 'the feed bucket is shared too');
    });
  });
}
