import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { session } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** Raw bytes over a real socket, so invalid UTF-8 and odd headers reach the server as sent. */
function rawRequest(url: string, method: string, path: string, headers: Record<string, string>, body: Buffer | null) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const request = http.request(
      `${url}${path}`,
      { method, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    request.on('error', reject);
    if (body) request.write(body);
    request.end();
  });
}

const ENDPOINTS: Array<[string, string]> = [
  ['POST', '/api/v1/coaching-sessions'],
  ['POST', '/api/v1/coaching-sessions/import'],
  ['POST', '/api/v1/users'],
  ['GET', '/api/v1/users'],
  ['POST', '/api/v1/tokens'],
  ['GET', '/api/v1/tokens'],
  ['DELETE', '/api/v1/tokens/x'],
  ['POST', '/api/v1/coaching-templates'],
  ['POST', '/api/v1/coaching/sessions'],
  ['GET', '/api/v1/coaching/sessions/x'],
  ['PATCH', '/api/v1/coaching/sessions/x'],
  ['DELETE', '/api/v1/coaching/sessions/x'],
  ['POST', '/api/v1/coaching/sessions/x/share'],
  ['POST', '/api/v1/coaching/sessions/x/confirm'],
  ['POST', '/api/v1/coaching/points'],
  ['PATCH', '/api/v1/coaching/points/x'],
  ['POST', '/api/v1/coaching/todos'],
  ['PATCH', '/api/v1/coaching/todos/x'],
  ['PUT', '/api/v1/identity/role-mapping'],
];

const nastyKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'startDate',
  'endDate',
  'timeAxis',
  'coachingFormIds',
  'type',
  '',
  '\u0000',
  '💥',
);
const nastyValue = fc.oneof(
  fc.constantFrom(
    null,
    true,
    1e308,
    -0,
    2 ** 53 + 1,
    '',
    '2021-02-30',
    '2021-12-01',
    'meetingDate',
    'createdAt',
    '9999-99-99',
    'strength',
    'x'.repeat(5000),
  ),
  fc.string(),
  fc.integer(),
  fc.double(),
);
const body = fc.oneof(
  fc.jsonValue(),
  fc.dictionary(nastyKey, fc.oneof(nastyValue, fc.array(nastyValue, { maxLength: 3 }), fc.dictionary(nastyKey, nastyValue))),
  fc.record({ startDate: nastyValue, endDate: nastyValue, timeAxis: nastyValue }, { requiredKeys: [] }),
  fc.array(
    fc.record({ _id: nastyValue, coachingPoints: fc.array(fc.dictionary(nastyKey, nastyValue), { maxLength: 2 }) }, { requiredKeys: [] }),
    { maxLength: 3 },
  ),
);
const rawBody = fc.oneof(
  body.map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.integer({ min: 1, max: 5000 }).map((depth) => Buffer.from('['.repeat(depth) + ']'.repeat(depth))),
  fc.constantFrom(
    Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    Buffer.from('{"a":1e999999}'),
    Buffer.from('{"__proto__":{"x":1}}'),
    Buffer.from(''),
  ),
);
const tokenHeader = (valid: string) =>
  fc.oneof(
    { arbitrary: fc.constant(valid), weight: 6 },
    fc.string({ maxLength: 80 }).filter((s) => /^[\x21-\x7e]*$/.test(s)),
    fc.constant(`${valid}x`),
    fc.constant(' '),
  );
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/xml',
  'application/json; charset=latin1',
  'multipart/form-data',
);

describe('fuzzing every endpoint', () => {
  let server: TestServer;
  let token: string;
  let before_: string;

  before(async () => {
    server = await startTestServer();
    ({ token } = await server.createOrg());
    const reply = await server.request('POST', '/api/v1/coaching-sessions/import', {
      token,
      body: [session({ createdAt: '2031-01-01T00:00:00.000Z' })],
    });
    assert.equal(reply.status, 200);
    before_ = (await server.exportSessions(token, { startDate: '2031-01-01', endDate: '2031-01-01', timeAxis: 'createdAt' })).text;
  });
  after(() => server.close());

  it('never answers 5xx, always answers errors as {"error"}, and stays up', async () => {
    let cases = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ENDPOINTS),
        rawBody,
        tokenHeader(token),
        contentType,
        async ([method, path], payload, apiToken, type) => {
          cases++;
          const sendsBody = method !== 'GET';
          const reply = await rawRequest(
            server.url,
            method,
            path,
            { apitoken: apiToken, 'content-type': type },
            sendsBody ? payload : null,
          );
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
          assert.ok(reply.status < 500, `${method} ${path} answered ${reply.status}: ${reply.text.slice(0, 200)}`);
          if (reply.status >= 400) {
            const parsed = JSON.parse(reply.text) as Record<string, unknown>;
            assert.deepEqual(Object.keys(parsed), ['error']);
            assert.equal(typeof parsed.error, 'string');
            assert.doesNotMatch(reply.text, /\bat \S+:\d+:\d+|sqlite|select |insert /i);
          }
        },
      ),
      { numRuns: 2000 },
    );
    process.stdout.write(`fuzzing: ${cases} cases, statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    assert.equal((await server.request('GET', '/healthz')).status, 200);
  });

  it('left the data as it was', async () => {
    const exported = await server.exportSessions(token, { startDate: '2031-01-01', endDate: '2031-01-01', timeAxis: 'createdAt' });
    assert.equal(exported.text, before_);
    assert.equal(({} as Record<string, unknown>).x, undefined, 'no prototype was polluted');
  });
});
