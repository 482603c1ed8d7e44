import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../src/accounts/tokens.js';
import { dumpDatabase } from './helpers/backends.js';
import { point, session } from './helpers/fixtures.js';
import { startTestServer, type Reply, type TestServer } from './helpers/server.js';

const VALID = { startDate: '2021-12-01', endDate: '2022-01-25', timeAxis: 'meetingDate' };
const DAY_MS = 86_400_000;

function assertError(reply: Reply, status: number, mentions?: RegExp): void {
  assert.equal(reply.status, status, reply.text);
  assert.deepEqual(Object.keys(reply.json ?? {}), ['error'], reply.text);
  assert.equal(typeof reply.json.error, 'string');
  assert.doesNotMatch(reply.text, /at .+\.js:\d+|SELECT|sqlite|stack/i);
  if (mentions) assert.match(reply.json.error, mentions);
}

describe('export requests: body rules', () => {
  let server: TestServer;
  let token: string;
  before(async () => {
    server = await startTestServer();
    ({ token } = await server.createOrg());
  });
  after(() => server.close());

  const cases: Array<[string, unknown, RegExp]> = [
    ['a missing startDate', { endDate: '2022-01-25', timeAxis: 'meetingDate' }, /startDate is required/],
    ['a missing endDate', { startDate: '2021-12-01', timeAxis: 'meetingDate' }, /endDate is required/],
    ['a missing timeAxis', { startDate: '2021-12-01', endDate: '2022-01-25' }, /timeAxis is required/],
    ['an unknown field', { ...VALID, limit: 10 }, /limit is not a known field/],
    ['a date not in YYYY-MM-DD form', { ...VALID, startDate: '2021/12/01' }, /startDate must be a date in YYYY-MM-DD form/],
    ['a date with a time', { ...VALID, endDate: '2022-01-25T00:00:00Z' }, /endDate must be a date in YYYY-MM-DD form/],
    ['a day that does not exist', { ...VALID, startDate: '2021-02-30' }, /startDate must be a real calendar day/],
    ['a non-leap 29 February', { ...VALID, startDate: '2022-02-29', endDate: '2022-03-01' }, /startDate must be a real calendar day/],
    ['a date that is not a string', { ...VALID, startDate: 20211201 }, /startDate must be a string/],
    [
      'endDate before startDate',
      { ...VALID, startDate: '2022-01-26', endDate: '2022-01-25' },
      /endDate 2022-01-25 is before startDate 2022-01-26/,
    ],
    ['a span of 91 days', { ...VALID, startDate: '2021-12-01', endDate: '2022-03-02' }, /at most 90 days.*91 days/],
    ['an unknown timeAxis', { ...VALID, timeAxis: 'updatedAt' }, /timeAxis must be one of meetingDate, createdAt/],
    ['a body that is an array', [VALID], /request body must be a JSON object/],
    ['a body that is null', null, /request body must be a JSON object/],
    ['a body that is a string', 'meetingDate', /request body must be a JSON object/],
  ];
  for (const [what, body, message] of cases) {
    it(`rejects ${what} with a 400 that names the field`, async () => {
      assertError(await server.exportSessions(token, body), 400, message);
    });
  }

  it('answers the days of the years 0000 to 0099 as any others (Date.UTC would read them as 19xx)', async () => {
    const reply = await server.exportSessions(token, { startDate: '0050-01-01', endDate: '0050-01-02', timeAxis: 'createdAt' });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, []);
    assertError(await server.exportSessions(token, { ...VALID, startDate: '0050-02-29', endDate: '0050-03-01' }), 400, /real calendar day/);
  });

  it('rejects a body that is not JSON', async () => {
    const reply = await server.request('POST', '/api/v1/coaching-sessions', {
      token,
      raw: '{"startDate":',
      headers: { 'content-type': 'application/json' },
    });
    assertError(reply, 400, /not valid JSON/);
  });

  it('rejects an empty body', async () => {
    const reply = await server.request('POST', '/api/v1/coaching-sessions', {
      token,
      raw: '',
      headers: { 'content-type': 'application/json' },
    });
    assertError(reply, 400, /request body must be a JSON object/);
  });

  it('rejects a body sent without a content type', async () => {
    assertError(await server.request('POST', '/api/v1/coaching-sessions', { token }), 400, /request body/);
  });

  it('answers 400, as the contract says of any body that is not JSON, for another content type', async () => {
    const reply = await server.request('POST', '/api/v1/coaching-sessions', {
      token,
      raw: '<x/>',
      headers: { 'content-type': 'application/xml' },
    });
    assertError(reply, 400, /application\/json/);
    const form = await server.request('POST', '/api/v1/coaching-sessions', {
      token,
      raw: 'startDate=2021-12-01',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assertError(form, 400, /must be JSON/);
  });

  it('answers 415 elsewhere in the API for a content type other than JSON', async () => {
    const reply = await server.request('POST', '/api/v1/coaching-templates', {
      token,
      raw: '<x/>',
      headers: { 'content-type': 'application/xml' },
    });
    assertError(reply, 415, /application\/json/);
  });

  it('answers headers too large for the HTTP parser in the error shape', async () => {
    const reply = await server.request('GET', '/healthz', { headers: { 'x-filler': 'x'.repeat(20_000) } });
    assertError(reply, 431, /headers are too large/);
  });

  it('answers 404 in the error shape for an unknown route', async () => {
    assertError(await server.request('GET', '/api/v1/nothing-here', { token }), 404, /GET \/api\/v1\/nothing-here/);
  });

  it('rejects __proto__ keys instead of merging them', async () => {
    const reply = await server.request('POST', '/api/v1/coaching-sessions', {
      token,
      raw: '{"startDate":"2021-12-01","endDate":"2022-01-25","timeAxis":"createdAt","__proto__":{"admin":true}}',
      headers: { 'content-type': 'application/json' },
    });
    assertError(reply, 400);
  });

  it('accepts a window of 0 days', async () => {
    const reply = await server.exportSessions(token, { ...VALID, startDate: '2022-01-25' });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, []);
  });

  it('accepts 2021-12-01 to 2022-03-01, exactly 90 days', async () => {
    const reply = await server.exportSessions(token, { ...VALID, endDate: '2022-03-01' });
    assert.equal(reply.status, 200, reply.text);
  });
});

describe('export requests: authentication', () => {
  let server: TestServer;
  let admin: { orgId: string; token: string };
  before(async () => {
    server = await startTestServer();
    admin = await server.createOrg();
  });
  after(() => server.close());

  it('answers 401 without a token', async () => {
    assertError(await server.exportSessions(undefined as unknown as string, VALID), 401, /apiToken header/);
  });

  it('answers 401 for an unknown token', async () => {
    assertError(await server.exportSessions('cp_not-a-real-token', VALID), 401, /not valid/);
  });

  it('reads the header whatever its case', async () => {
    for (const name of ['apiToken', 'apitoken', 'APITOKEN']) {
      const reply = await server.request('POST', '/api/v1/coaching-sessions', { body: VALID, headers: { [name]: admin.token } });
      assert.equal(reply.status, 200, `${name}: ${reply.text}`);
    }
  });

  it('answers 403 for a valid token of a user who may not export', async () => {
    for (const role of ['coach', 'agent'] as const) {
      const user = await server.addUser(admin.orgId, role);
      assertError(await server.exportSessions(user.token, VALID), 403, /admin role/);
    }
  });

  it('answers 401 once a token has expired (90 days by default)', async () => {
    const user = await server.addUser(admin.orgId, 'admin');
    server.clock.advance(90 * DAY_MS - 1);
    assert.equal((await server.exportSessions(user.token, VALID)).status, 200);
    server.clock.advance(1);
    assertError(await server.exportSessions(user.token, VALID), 401, /expired/);
  });

  it('answers 401 for a deactivated token on the very next request', async () => {
    const user = await server.addUser(admin.orgId, 'admin');
    assert.equal((await server.exportSessions(user.token, VALID)).status, 200);
    const [listed] = await server.store.listTokens(admin.orgId, user.userId);
    assert.ok(await server.store.deactivateToken(admin.orgId, listed!.id, server.clock.now()));
    assertError(await server.exportSessions(user.token, VALID), 401, /deactivated/);
  });

  it('stores tokens only as hashes: no table and no log line holds one', async () => {
    const user = await server.addUser(admin.orgId, 'admin');
    assert.equal((await server.exportSessions(user.token, VALID)).status, 200);
    const dump = await dumpDatabase(server.config.database);
    assert.ok(dump.includes(hashToken(user.token)), 'the scan reads the table the hash is in');
    assert.ok(!dump.includes(user.token));
    assert.ok(!server.logs.join('\n').includes(user.token));
  });
});

describe('export requests: rate limits (1/s and 30/min per organization)', () => {
  let server: TestServer;
  let admin: { orgId: string; token: string };
  before(async () => {
    server = await startTestServer({ configure: (c) => ({ ...c, limits: { ...c.limits, export: { perSecond: 1, perMinute: 30 } } }) });
    admin = await server.createOrg();
  });
  after(() => server.close());

  it('admits one request a second and refuses the next with the exact message and Retry-After', async () => {
    server.clock.advance(120_000);
    const first = await server.exportSessions(admin.token, VALID);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('ratelimit-limit'), '1');
    assert.equal(first.headers.get('ratelimit-remaining'), '0');
    assert.ok(first.headers.get('ratelimit-reset'));
    server.clock.advance(999);
    const second = await server.exportSessions(admin.token, VALID);
    assert.equal(second.status, 429);
    assert.deepEqual(second.json, { error: 'Too many requests in the past second.' });
    assert.equal(second.headers.get('retry-after'), '1');
    server.clock.advance(1);
    assert.equal((await server.exportSessions(admin.token, VALID)).status, 200);
  });

  it('checks the limit before the body: a malformed request counts, and a limited one is refused unread', async () => {
    server.clock.advance(120_000);
    const malformed = await server.exportSessions(admin.token, { ...VALID, startDate: 'not a day' });
    assert.equal(malformed.status, 400);
    const next = await server.exportSessions(admin.token, VALID);
    assert.equal(next.status, 429, 'the malformed request used the second');
    server.clock.advance(1_000);
    assert.equal((await server.exportSessions(admin.token, VALID)).status, 200);
    const limitedMalformed = await server.exportSessions(admin.token, { ...VALID, endDate: 'never' });
    assert.equal(limitedMalformed.status, 429, 'refused before its body was looked at');
  });

  it('does not count refused requests', async () => {
    server.clock.advance(120_000);
    assert.equal((await server.exportSessions(admin.token, VALID)).status, 200);
    for (let i = 0; i < 5; i++) {
      server.clock.advance(100);
      assert.equal((await server.exportSessions(admin.token, VALID)).status, 429);
    }
    server.clock.advance(500);
    assert.equal((await server.exportSessions(admin.token, VALID)).status, 200, 'the refusals did not push the window on');
  });

  it('admits 30 a minute, then answers with the minute message until the oldest leaves the window', async () => {
    server.clock.advance(120_000);
    const start = server.clock.now();
    for (let i = 0; i < 30; i++) {
      server.clock.set(start + i * 1000);
      assert.equal((await server.exportSessions(admin.token, VALID)).status, 200, `request ${i + 1}`);
    }
    server.clock.set(start + 30_000);
    const refused = await server.exportSessions(admin.token, VALID);
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.json, { error: 'Too many requests in the past minute.' });
    assert.equal(refused.headers.get('retry-after'), '30');
    server.clock.set(start + 59_999);
    assert.equal((await server.exportSessions(admin.token, VALID)).status, 429);
    server.clock.set(start + 60_000);
    assert.equal((await server.exportSessions(admin.token, VALID)).status, 200);
  });

  it('names the minute when both limits are exceeded', async () => {
    server.clock.advance(120_000);
    const start = server.clock.now();
    for (let i = 0; i < 30; i++) {
      server.clock.set(start + i * 1000);
      await server.exportSessions(admin.token, VALID);
    }
    server.clock.set(start + 29_500);
    const refused = await server.exportSessions(admin.token, VALID);
    assert.deepEqual(refused.json, { error: 'Too many requests in the past minute.' });
  });

  it('shares one bucket between the tokens of an organization, and not across organizations', async () => {
    server.clock.advance(120_000);
    const second = await server.addUser(admin.orgId, 'admin');
    const other = await server.createOrg('Other');
    assert.equal((await server.exportSessions(admin.token, VALID)).status, 200);
    assert.equal((await server.exportSessions(second.token, VALID)).status, 429);
    assert.equal((await server.exportSessions(other.token, VALID)).status, 200);
  });
});

describe('failed authentication is limited per client address', () => {
  it('refuses further attempts, even with a valid token not yet seen working, once too many have failed', async () => {
    const server = await startTestServer({
      configure: (c) => ({ ...c, limits: { ...c.limits, authFailures: { perSecond: 5, perMinute: 20 } } }),
    });
    try {
      const { token } = await server.createOrg();
      for (let i = 0; i < 5; i++) assert.equal((await server.exportSessions(`cp_guess${i}`, VALID)).status, 401);
      const blocked = await server.exportSessions(token, VALID);
      assert.equal(blocked.status, 429);
      assert.deepEqual(blocked.json, { error: 'Too many requests in the past second.' });
      assert.ok(blocked.headers.get('retry-after'));
      server.clock.advance(1000);
      assert.equal((await server.exportSessions(token, VALID)).status, 200);
    } finally {
      await server.close();
    }
  });
});

describe('import requests', () => {
  let server: TestServer;
  let admin: { orgId: string; token: string };
  before(async () => {
    server = await startTestServer();
    admin = await server.createOrg();
  });
  after(() => server.close());

  const importDocs = (docs: unknown, token = admin.token) =>
    server.request('POST', '/api/v1/coaching-sessions/import', { token, body: docs });

  it('rejects a malformed element with a 400 naming the element and field, and writes nothing', async () => {
    const good = session({ createdAt: '2025-05-05T00:00:00.000Z' });
    const bad = session({ createdAt: '2025-05-05T00:00:00.000Z' });
    (bad as unknown as { coachingPoints: unknown[] }).coachingPoints = [{ ...session(), type: 'great' }];
    const reply = await importDocs([good, bad]);
    assertError(reply, 400, /^Element 1: coachingPoints\[0\]/);
    const exported = await server.exportSessions(admin.token, { startDate: '2025-05-05', endDate: '2025-05-05', timeAxis: 'createdAt' });
    assert.deepEqual(exported.json, []);
  });

  const invalid: Array<[string, (doc: Record<string, unknown>) => unknown, RegExp]> = [
    [
      'an unknown point type',
      (d) => ({ ...d, coachingPoints: [{ ...point([d._id as string]), type: 'great' }] }),
      /Element 0: coachingPoints\[0\]\.type must be one of strength, opportunity, n\/a/,
    ],
    [
      'an unknown classification',
      (d) => ({ ...d, coachingPoints: [{ ...point([d._id as string]), classification: 'x' }] }),
      /classification must be one of general, qa, csat, productivity/,
    ],
    [
      'a missing field',
      (d) => {
        const { agentName: _drop, ...rest } = d;
        return rest;
      },
      /Element 0: agentName is required/,
    ],
    ['an unknown field', (d) => ({ ...d, extra: 1 }), /Element 0: extra is not a known field/],
    ['a malformed date', (d) => ({ ...d, createdAt: '2024-13-01T00:00:00.000Z' }), /Element 0: createdAt must be an ISO 8601 date-time/],
    ['a null array', (d) => ({ ...d, todos: null }), /Element 0: todos must be an array/],
    ['a point that does not name its session', (d) => ({ ...d, coachingPoints: [point(['someone-else'])] }), /does not name the session/],
  ];
  for (const [what, mutate, message] of invalid) {
    it(`rejects ${what}`, async () => {
      assertError(await importDocs([mutate(session() as unknown as Record<string, unknown>)]), 400, message);
    });
  }

  it('rejects two documents that disagree about a user name', async () => {
    const a = session({ coachId: 'same-coach', coachName: 'Ann' });
    const b = session({ coachId: 'same-coach', coachName: 'Anne' });
    assertError(await importDocs([a, b]), 400, /Element 1: coachName disagrees with coachName of element 0 about user "same-coach"/);
  });

  it('rejects a body that is not an array', async () => {
    assertError(await importDocs({ sessions: [] }), 400, /JSON array/);
  });

  it('is for admins only', async () => {
    const coach = await server.addUser(admin.orgId, 'coach');
    assertError(await importDocs([session()], coach.token), 403);
  });

  it('answers 413 for a body over the limit', async () => {
    const small = await startTestServer({ configure: (c) => ({ ...c, importBodyLimitBytes: 1024 }) });
    try {
      const { token } = await small.createOrg();
      const reply = await small.request('POST', '/api/v1/coaching-sessions/import', {
        token,
        body: Array.from({ length: 10 }, () => session()),
      });
      assertError(reply, 413, /larger than/);
    } finally {
      await small.close();
    }
  });
});
