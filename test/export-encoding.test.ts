import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip } from '../src/http/accept-encoding.js';
import { session } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const WINDOW = { startDate: '2030-01-01', endDate: '2030-03-31', timeAxis: 'createdAt' };

/** A raw HTTP exchange (fetch would undo the gzip encoding this test looks at). */
function post(url: string, token: string, headers: Record<string, string> = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}/api/v1/coaching-sessions`, { method: 'POST', headers: { apiToken: token, 'content-type': 'application/json', ...headers } }, resolve);
    request.on('error', reject);
    request.end(JSON.stringify(WINDOW));
  });
}

async function bodyOf(response: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('Accept-Encoding', () => {
  it('allows gzip when named or covered by *, and not when refused or absent', () => {
    assert.equal(acceptsGzip('gzip, deflate, br'), true);
    assert.equal(acceptsGzip('br;q=1.0, GZIP;q=0.5'), true);
    assert.equal(acceptsGzip('*'), true);
    assert.equal(acceptsGzip('gzip;q=0'), false);
    assert.equal(acceptsGzip('*, gzip;q=0'), false);
    assert.equal(acceptsGzip('identity'), false);
    assert.equal(acceptsGzip(undefined), false);
  });
});

describe('the export on the wire', () => {
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startTestServer({ configure: (c) => ({ ...c, exportConcurrency: 1 }) });
    ({ token } = await server.createOrg());
    const notes = 'y'.repeat(4000);
    const docs = Array.from({ length: 3000 }, (_, i) => session({ createdAt: new Date(Date.UTC(2030, 0, 1) + i * 60_000).toISOString(), coachNotes: `${i} ${notes}` }));
    const reply = await server.request('POST', '/api/v1/coaching-sessions/import', { token, body: docs });
    assert.equal(reply.status, 200, reply.text);
  });
  after(() => server.close());

  it('is gzip-encoded when the client allows it, and the same bytes once decoded', async () => {
    const plain = await post(server.url, token);
    assert.equal(plain.headers['content-encoding'], undefined);
    const plainBytes = await bodyOf(plain);
    assert.equal((JSON.parse(plainBytes.toString('utf8')) as unknown[]).length, 3000);
    const zipped = await post(server.url, token, { 'accept-encoding': 'gzip, deflate' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.match(String(zipped.headers.vary), /Accept-Encoding/i);
    const zippedBytes = await bodyOf(zipped);
    assert.ok(zippedBytes.length * 5 < plainBytes.length, `compressed ${plainBytes.length} to ${zippedBytes.length}`);
    assert.ok(gunzipSync(zippedBytes).equals(plainBytes));
    const refused = await post(server.url, token, { 'accept-encoding': 'gzip;q=0' });
    assert.equal(refused.headers['content-encoding'], undefined);
    assert.ok((await bodyOf(refused)).equals(plainBytes));
  });

  it('answers 503 {"error"} with Retry-After beyond EXPORT_CONCURRENCY, and serves again once a slot frees', async () => {
    const first = await post(server.url, token);
    assert.equal(first.statusCode, 200);
    first.pause();
    const refused = await post(server.url, token);
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.deepEqual(Object.keys(JSON.parse((await bodyOf(refused)).toString('utf8')) as object), ['error']);
    first.destroy();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      const again = await post(server.url, token);
      status = again.statusCode ?? 0;
      await bodyOf(again);
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(status, 200);
  });
});
