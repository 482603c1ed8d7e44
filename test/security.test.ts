import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { session } from './helpers/fixtures.js';
import { startTestServer } from './helpers/server.js';

describe('secrets and headers', () => {
  it('never writes a token to the log, whatever happens to the request', async () => {
    const server = await startTestServer({ configure: (c) => ({ ...c, logLevel: 'debug' }) });
    try {
      const { orgId, token } = await server.createOrg();
      const coach = await server.addUser(orgId, 'coach');
      const made = await server.request('POST', '/api/v1/tokens', { token, body: { userId: coach.userId } });
      const secrets = [token, coach.token, made.json.token as string];
      await server.exportSessions(token, { startDate: '2024-01-01', endDate: '2024-01-02', timeAxis: 'createdAt' });
      await server.exportSessions(coach.token, { startDate: 'bad', endDate: '2024-01-02', timeAxis: 'createdAt' });
      await server.request('POST', '/api/v1/coaching-sessions/import', { token, body: [session()] });
      await server.request('GET', `/api/v1/nothing?apiToken=${encodeURIComponent('cp_in_the_url')}`, { token });
      await server.exportSessions(`${token}tampered`, {});
      await server.request('GET', '/api/v1/tokens', { token: made.json.token });
      const log = server.logs.join('\n');
      assert.ok(server.logs.length > 5, 'the run was logged');
      for (const secret of secrets) assert.ok(!log.includes(secret), 'a token appears in the log');
      assert.ok(!log.includes('tampered'));
      assert.ok(!log.includes('cp_in_the_url'), 'query strings are not logged');
    } finally {
      await server.close();
    }
  });

  it('sends security headers and no CORS unless configured', async () => {
    const server = await startTestServer();
    try {
      const { token } = await server.createOrg();
      const reply = await server.exportSessions(token, { startDate: '2024-01-01', endDate: '2024-01-02', timeAxis: 'createdAt' });
      assert.equal(reply.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(reply.headers.get('x-frame-options'), 'DENY');
      assert.equal(reply.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(reply.headers.get('cache-control'), 'no-store');
      assert.equal(reply.headers.get('access-control-allow-origin'), null);
      const error = await server.request('GET', '/nope');
      assert.equal(error.headers.get('x-content-type-options'), 'nosniff');
    } finally {
      await server.close();
    }
    const open = await startTestServer({ configure: (c) => ({ ...c, corsOrigin: 'https://reports.example.com' }) });
    try {
      assert.equal((await open.request('GET', '/healthz')).headers.get('access-control-allow-origin'), 'https://reports.example.com');
    } finally {
      await open.close();
    }
  });

  it('refuses bodies over the limit with 413', async () => {
    const server = await startTestServer({ configure: (c) => ({ ...c, bodyLimitBytes: 512 }) });
    try {
      const { token } = await server.createOrg();
      const reply = await server.request('POST', '/api/v1/coaching-templates', { token, body: { name: 'x'.repeat(1000) } });
      assert.equal(reply.status, 413);
      assert.deepEqual(Object.keys(reply.json), ['error']);
    } finally {
      await server.close();
    }
  });
});
