import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeBackends } from './helpers/backends.js';
import { session } from './helpers/fixtures.js';
import { parsePrometheus, total, type Sample } from './helpers/prometheus.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const WINDOW = { startDate: '2024-01-01', endDate: '2024-01-31', timeAxis: 'meetingDate' };
const SESSION_ROUTE = '/api/v1/coaching/sessions/:id';

async function scrape(server: TestServer, headers: Record<string, string> = {}): Promise<Sample[]> {
  const reply = await server.request('GET', '/metrics', { headers });
  assert.equal(reply.status, 200, reply.text);
  assert.match(reply.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(reply.text);
}

for (const backend of await storeBackends()) {
  describe(`metrics on ${backend.name}`, () => {
    let server: TestServer;
    let org: { orgId: string; userId: string; token: string };
    let agent: { userId: string; email: string; token: string };
    const sessionIds: string[] = [];

    before(async () => {
      server = await startTestServer({
        backend,
        configure: (c) => ({ ...c, limits: { ...c.limits, export: { perSecond: 1, perMinute: 30 } } }),
      });
      org = await server.createOrg('Metrics Org');
      agent = await server.addUser(org.orgId, 'agent');
      const docs = [1, 2, 3].map((day) => session({ meetingDate: `2024-01-1${day}T10:00:00.000Z` }));
      sessionIds.push(...docs.map((d) => d._id));
      assert.equal((await server.request('POST', '/api/v1/coaching-sessions/import', { token: org.token, body: docs })).status, 200);
    });
    after(() => server.close());

    it("counts an export's sessions and bytes exactly, and leaves nothing in flight", async () => {
      const before = await scrape(server);
      server.clock.advance(2_000);
      const reply = await server.exportSessions(org.token, WINDOW);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.json.length, 3);
      const after = await scrape(server);
      assert.equal(total(after, 'coachport_export_sessions_total') - total(before, 'coachport_export_sessions_total'), 3);
      assert.equal(
        total(after, 'coachport_export_bytes_total') - total(before, 'coachport_export_bytes_total'),
        Buffer.byteLength(reply.text),
      );
      assert.equal(total(after, 'coachport_exports_in_flight'), 0);
    });

    it('counts a rate-limit rejection under its bucket', async () => {
      server.clock.advance(2_000);
      const before = await scrape(server);
      assert.equal((await server.exportSessions(org.token, WINDOW)).status, 200);
      const refused = await server.exportSessions(org.token, WINDOW);
      assert.equal(refused.status, 429);
      const after = await scrape(server);
      const rejections = (s: Sample[]) => total(s, 'coachport_rate_limit_rejections_total', { bucket: 'export' });
      assert.equal(rejections(after) - rejections(before), 1);
    });

    it('times requests by route template and status, and unknown paths under one constant', async () => {
      const count = (s: Sample[], route: string, status: string) =>
        total(s, 'http_request_duration_seconds_count', { method: 'GET', route, status_code: status });
      const before = await scrape(server);
      assert.equal((await server.request('GET', `/api/v1/coaching/sessions/${sessionIds[0]}`, { token: org.token })).status, 200);
      assert.equal((await server.request('GET', `/api/v1/coaching/sessions/${sessionIds[1]}`, { token: org.token })).status, 200);
      assert.equal((await server.request('GET', '/api/v1/coaching/sessions/no-such-session', { token: org.token })).status, 404);
      assert.equal((await server.request('GET', `/api/v1/no/such/path/${org.orgId}`)).status, 404);
      const after = await scrape(server);
      assert.equal(count(after, SESSION_ROUTE, '200') - count(before, SESSION_ROUTE, '200'), 2);
      assert.equal(count(after, SESSION_ROUTE, '404') - count(before, SESSION_ROUTE, '404'), 1);
      assert.equal(count(after, 'unmatched', '404') - count(before, 'unmatched', '404'), 1);
      assert.ok(total(after, 'process_cpu_user_seconds_total') > 0, 'default process metrics are there');
      assert.ok(total(after, 'nodejs_heap_size_used_bytes') > 0);
    });

    it('never carries an organization, user, session id, email, token or raw URL in a label', async () => {
      await server.request('GET', `/api/v1/coaching/sessions/${sessionIds[2]}?apiToken=${org.token}`, { token: agent.token });
      await server.request('GET', '/api/v1/users', { token: 'cp_not-a-real-token' });
      const labelValues = (await scrape(server)).flatMap((s) => Object.values(s.labels));
      const secrets = [
        org.orgId,
        org.userId,
        org.token,
        agent.userId,
        agent.email,
        agent.token,
        'cp_not-a-real-token',
        ...sessionIds,
        '/no/such/path',
      ];
      for (const value of labelValues) {
        for (const secret of secrets) assert.ok(!value.includes(secret), `label value ${value} contains ${secret}`);
        assert.ok(!value.includes('?'), `label value ${value} looks like a raw URL`);
      }
    });

    it(backend.name === 'postgres' ? 'shows the PostgreSQL pool' : 'shows no pool figures for SQLite, which has no pool', async () => {
      const samples = await scrape(server);
      const names = new Set(samples.map((s) => s.name));
      if (backend.name === 'postgres') {
        assert.ok(total(samples, 'coachport_store_pool_connections') >= 1);
        assert.ok(names.has('coachport_store_pool_idle_connections'));
        assert.equal(total(samples, 'coachport_store_pool_waiting_requests'), 0);
      } else {
        assert.ok(!names.has('coachport_store_pool_connections'));
      }
    });
  });
}

describe('metrics: METRICS_TOKEN', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ configure: (c) => ({ ...c, metricsToken: 'scrape-secret-123' }) });
  });
  after(() => server.close());

  it('refuses a scrape without the bearer token, or with another one', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong-secret' },
      { authorization: 'scrape-secret-123' },
      { authorization: 'Bearer scrape-secret-1234' },
    ]) {
      const reply = await server.request('GET', '/metrics', { headers });
      assert.equal(reply.status, 401, JSON.stringify(headers));
      assert.deepEqual(Object.keys(reply.json), ['error']);
    }
  });

  it('answers the scrape with the token', async () => {
    const samples = await scrape(server, { authorization: 'Bearer scrape-secret-123' });
    assert.ok(samples.some((s) => s.name === 'http_request_duration_seconds_bucket'));
  });

  it('counts a wrong token as a failed authentication of the address: guesses beyond the limit get 429', async () => {
    const guarded = await startTestServer({
      configure: (c) => ({
        ...c,
        trustProxy: true,
        metricsToken: 'scrape-secret-123',
        limits: { ...c.limits, authFailures: { perSecond: 10_000, perMinute: 3 } },
      }),
    });
    try {
      const from = (address: string, token?: string) => ({
        'x-forwarded-for': address,
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      });
      const scrapeFrom = (address: string, token?: string) => guarded.request('GET', '/metrics', { headers: from(address, token) });
      assert.equal((await scrapeFrom('203.0.113.41', 'scrape-secret-123')).status, 200, 'the scraper');
      const guesses = [];
      for (let i = 0; i < 6; i++) guesses.push(await scrapeFrom('198.51.100.40', `guess-${i}`));
      assert.deepEqual(
        guesses.map((g) => g.status),
        [401, 401, 401, 429, 429, 429],
      );
      assert.match(guesses[3]!.json.error, /^Too many requests in the past minute\.$/);
      assert.ok(Number(guesses[3]!.headers.get('retry-after')) >= 1);
      const badApiToken = await guarded.request('GET', '/api/v1/tokens', { token: 'cp_not-a-token', headers: from('198.51.100.40') });
      assert.equal(badApiToken.status, 429, 'the same bucket as bad API tokens');
      assert.equal((await scrapeFrom('198.51.100.40', 'scrape-secret-123')).status, 200, 'a token known good passes');
      assert.equal((await scrapeFrom('198.51.100.42', 'guess-x')).status, 401, 'another address guesses on');
      for (let i = 0; i < 5; i++) assert.equal((await scrapeFrom('198.51.100.43')).status, 401, 'no header is no guess');
      const samples = parsePrometheus((await scrapeFrom('203.0.113.41', 'scrape-secret-123')).text);
      assert.equal(total(samples, 'coachport_rate_limit_rejections_total', { bucket: 'auth_failures' }), 4);
    } finally {
      await guarded.close();
    }
  });

  it("keeps every app's series apart: a second app starts from zero", async () => {
    const other = await startTestServer();
    try {
      await server.request('GET', '/healthz');
      const samples = await scrape(other);
      assert.equal(total(samples, 'http_request_duration_seconds_count', { route: '/healthz' }), 0);
    } finally {
      await other.close();
    }
  });
});
