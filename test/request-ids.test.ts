import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/server.js';

function logLinesWith(server: TestServer, reqId: string): Array<Record<string, unknown>> {
  return server.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.reqId === reqId);
}

describe('request ids without a trusted proxy', () => {
  let server: TestServer;
  let token: string;
  before(async () => {
    server = await startTestServer();
    ({ token } = await server.createOrg());
  });
  after(() => server.close());

  it('sends X-Request-Id on successes, errors and unknown paths, each different', async () => {
    const replies = [
      await server.request('GET', '/healthz'),
      await server.request('GET', '/api/v1/users', { token }),
      await server.request('GET', '/api/v1/users', { token: 'cp_wrong' }),
      await server.request('GET', '/api/v1/nothing-here'),
      await server.exportSessions(token, { startDate: 'x' }),
    ];
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 200, 401, 404, 400],
    );
    const ids = replies.map((r) => r.headers.get('x-request-id'));
    for (const id of ids) assert.match(id ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(new Set(ids).size, ids.length);
  });

  it("writes the id into the request's log lines, so a reported error can be found", async () => {
    const reply = await server.request('GET', '/api/v1/users', { token: 'cp_wrong' });
    const id = reply.headers.get('x-request-id')!;
    const lines = logLinesWith(server, id);
    assert.ok(
      lines.some((l) => l.msg === 'incoming request'),
      'the request line carries the id',
    );
    assert.ok(lines.some((l) => l.msg === 'request completed' && (l.res as { statusCode: number }).statusCode === 401));
  });

  it('ignores an X-Request-Id a client sends, since no proxy vouches for it', async () => {
    const reply = await server.request('GET', '/healthz', { headers: { 'x-request-id': 'client-chosen-id' } });
    assert.notEqual(reply.headers.get('x-request-id'), 'client-chosen-id');
    assert.equal(logLinesWith(server, 'client-chosen-id').length, 0);
  });
});

describe('request ids behind a trusted proxy (TRUST_PROXY set)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ configure: (c) => ({ ...c, trustProxy: '127.0.0.1' }) });
  });
  after(() => server.close());

  it("keeps the proxy's id in the header and the log", async () => {
    const reply = await server.request('GET', '/healthz', { headers: { 'x-request-id': 'edge-7f3a.42:1' } });
    assert.equal(reply.headers.get('x-request-id'), 'edge-7f3a.42:1');
    assert.ok(logLinesWith(server, 'edge-7f3a.42:1').length >= 2);
  });

  it('replaces an id that is too long or has unsafe characters', async () => {
    for (const bad of ['a'.repeat(65), 'has space', 'line\\nbreak', '<script>', 'quote"']) {
      const reply = await server.request('GET', '/healthz', { headers: { 'x-request-id': bad } });
      assert.match(reply.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, bad);
    }
  });
});
