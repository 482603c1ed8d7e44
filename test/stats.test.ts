import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { canRead, inReadScope, readScope } from '../src/coaching/permissions.js';
import type { UserRecord } from '../src/coaching/records.js';
import type { ExportSession } from '../src/contract/schemas.js';
import { storeBackends } from './helpers/backends.js';
import { startTestServer, type Reply, type TestServer } from './helpers/server.js';
import { medianHoursNaive, oracle, type OracleParameters, type Viewer } from './helpers/stats-oracle.js';
import { statsDocuments, type Person } from './helpers/stats-data.js';

const GROUPINGS = ['none', 'coach', 'agent', 'template', 'week', 'month'] as const;
const AXES = ['meetingDate', 'createdAt'] as const;
/** Windows on the edges the data is built around, a year-long one, a one-day one and an empty one. */
const WINDOWS: Array<[string, string]> = [
  ['2020-12-28', '2021-01-10'],
  ['2021-01-01', '2021-01-01'],
  ['2020-12-01', '2021-12-02'],
  ['2026-12-28', '2027-01-03'],
  ['2026-06-01', '2027-06-02'],
  ['2030-01-01', '2030-01-02'],
  ['1969-12-22', '1970-01-04'],
];

function statsPath(query: Record<string, string>): string {
  return `/api/v1/coaching/stats?${new URLSearchParams(query).toString()}`;
}

function assertError(reply: Reply, status: number, pattern: RegExp) {
  assert.equal(reply.status, status, reply.text);
  assert.deepEqual(Object.keys(reply.json), ['error']);
  assert.match(reply.json.error, pattern);
}

/** Every document of the organization, deleted ones too, straight from the export reader. */
async function allDocuments(server: TestServer, orgId: string): Promise<ExportSession[]> {
  const docs: ExportSession[] = [];
  const window = {
    axis: 'createdAt' as const,
    fromMs: Date.parse('1900-01-01T00:00:00.000Z'),
    toMs: Date.parse('2100-01-01T00:00:00.000Z'),
  };
  for await (const page of server.store.exportPages(orgId, window)) docs.push(...page);
  return docs;
}

for (const backend of await storeBackends()) {
  describe(`coaching stats (${backend.name})`, () => {
    let server: TestServer;
    let admin: { orgId: string; token: string; userId: string };
    let coach: { userId: string; token: string };
    let agent: { userId: string; token: string };
    let docs: ExportSession[];

    before(async () => {
      server = await startTestServer({ backend });
      admin = await server.createOrg('Stats');
      coach = await server.addUser(admin.orgId, 'coach', 'Cora Coach');
      agent = await server.addUser(admin.orgId, 'agent', 'Aldo Agent');
      const coaches: Person[] = [
        { id: coach.userId, name: 'Cora Coach' },
        { id: 'coach-b', name: 'Bea Coach' },
        { id: 'coach-c', name: 'Cy Coach' },
      ];
      const agents: Person[] = [
        { id: agent.userId, name: 'Aldo Agent' },
        { id: 'agent-b', name: 'Bo Agent' },
        { id: 'agent-c', name: 'Cid Agent' },
      ];
      const imported = await server.request('POST', '/api/v1/coaching-sessions/import', {
        token: admin.token,
        body: statsDocuments({ coaches, agents }, 220, 13),
      });
      assert.equal(imported.status, 200, imported.text);

      // Another organization with the same ids and dates: none of it may be counted.
      const other = await server.createOrg('Elsewhere');
      const theirs = await server.request('POST', '/api/v1/coaching-sessions/import', {
        token: other.token,
        body: statsDocuments({ coaches, agents }, 40, 99).map((doc) => ({
          ...doc,
          _id: `other-${doc._id}`,
          coachingPoints: [],
          todos: [],
        })),
      });
      assert.equal(theirs.status, 200, theirs.text);
      docs = await allDocuments(server, admin.orgId);
    });
    after(() => server.close());

    it('equals the oracle for every grouping, axis, window and role, to the last bit', async () => {
      const viewers: Array<[string, Viewer]> = [
        [admin.token, { role: 'admin' }],
        [coach.token, { role: 'coach', id: coach.userId }],
        [agent.token, { role: 'agent', id: agent.userId }],
      ];
      let compared = 0;
      let evenMedians = 0;
      let oddMedians = 0;
      for (const [from, to] of WINDOWS) {
        for (const timeAxis of AXES) {
          for (const groupBy of GROUPINGS) {
            for (const [token, viewer] of viewers) {
              const parameters: OracleParameters = { from, to, timeAxis, groupBy };
              const reply = await server.request('GET', statsPath({ ...parameters }), { token });
              assert.equal(reply.status, 200, reply.text);
              const expected = oracle(docs, parameters, viewer);
              assert.deepEqual(reply.json, expected.answer, `${from}..${to} ${timeAxis} ${groupBy} as ${viewer.role}`);
              // The definition read literally (hours first, then the mean) differs from the exact
              // median only by the rounding of its three operations: a few units in the last place.
              const medians = [
                ...expected.durations.rows.map((d, i) => [d, reply.json.rows[i].medianHoursToAcknowledge] as const),
                [expected.durations.totals, reply.json.totals.medianHoursToAcknowledge] as const,
              ];
              for (const [durations, answered] of medians) {
                const naive = medianHoursNaive(durations);
                if (naive === null) assert.equal(answered, null);
                else assert.ok(Math.abs(answered - naive) <= 4 * Number.EPSILON * Math.max(1, Math.abs(naive)), `${answered} vs ${naive}`);
                if (durations.length > 0) durations.length % 2 === 0 ? evenMedians++ : oddMedians++;
              }
              compared++;
            }
          }
        }
      }
      assert.equal(compared, WINDOWS.length * AXES.length * GROUPINGS.length * viewers.length);
      assert.ok(evenMedians > 20 && oddMedians > 20, `medians of even (${evenMedians}) and odd (${oddMedians}) counts were both compared`);
    });

    it('counts what the data was built to show: edges, year-boundary weeks, links in two groups', async () => {
      const weeks = await server.request('GET', statsPath({ from: '2020-12-28', to: '2021-01-10', groupBy: 'week' }), {
        token: admin.token,
      });
      assert.deepEqual(
        weeks.json.rows.map((r: { key: string }) => r.key),
        ['2020-12-28', '2021-01-04'],
      );
      const lateWeek = await server.request(
        'GET',
        statsPath({ from: '2026-12-28', to: '2027-01-03', groupBy: 'week', timeAxis: 'createdAt' }),
        { token: admin.token },
      );
      assert.deepEqual(
        lateWeek.json.rows.map((r: { key: string }) => r.key),
        ['2026-12-28'],
      );
      const templates = await server.request('GET', statsPath({ from: '2020-12-01', to: '2021-12-02', groupBy: 'template' }), {
        token: admin.token,
      });
      assert.deepEqual(
        templates.json.rows.map((r: { key: string | null; label: string | null }) => [r.key, r.label]),
        [
          ['tpl-call', 'Call review'],
          ['tpl-chat', 'Chat QA'],
          [null, null],
        ],
      );
      const epoch = await server.request('GET', statsPath({ from: '1969-12-22', to: '1970-01-04', groupBy: 'week' }), {
        token: admin.token,
      });
      assert.deepEqual(
        epoch.json.rows.map((r: { key: string; sessions: number }) => [r.key, r.sessions]),
        [
          ['1969-12-22', 1],
          ['1969-12-29', 1],
        ],
      );
      const none = await server.request('GET', statsPath({ from: '2030-01-01', to: '2030-01-01' }), { token: admin.token });
      assert.equal(none.json.timeAxis, 'meetingDate');
      assert.equal(none.json.groupBy, 'none');
      assert.deepEqual(
        none.json.rows.map((r: { key: null; sessions: number; acknowledgementRate: null }) => [r.key, r.sessions, r.acknowledgementRate]),
        [[null, 0, null]],
      );
      assert.equal(none.json.totals.medianHoursToAcknowledge, null);
    });

    it('gives a coach and an agent exactly what canRead lets them read, and less than the organization', async () => {
      const query = statsPath({ from: '2020-12-01', to: '2021-12-02', timeAxis: 'createdAt' });
      const inWindow = (d: ExportSession) => !d.isDeleted && d.createdAt >= '2020-12-01' && d.createdAt < '2021-12-03';
      const totals = async (token: string) => (await server.request('GET', query, { token })).json.totals;
      const readable = (id: string, role: UserRecord['role']) =>
        docs.filter((d) => inWindow(d) && canRead({ id, email: null, name: '', role }, d)).length;
      const [all, mine, theirs] = [await totals(admin.token), await totals(coach.token), await totals(agent.token)];
      assert.equal(all.sessions, docs.filter(inWindow).length);
      assert.equal(mine.sessions, readable(coach.userId, 'coach'));
      assert.equal(theirs.sessions, readable(agent.userId, 'agent'));
      assert.ok(mine.sessions > 0 && mine.sessions < all.sessions);
      assert.ok(theirs.sessions > 0 && theirs.sessions < all.sessions);
      assert.equal(theirs.shared, theirs.sessions, 'an agent sees only shared sessions');
    });

    // After the tests that read the imported data as it was: this one changes it.
    it('follows every kind of change: sessions, log entries, points, to-dos, imports, renames', async () => {
      const call = async (method: string, path: string, body?: unknown, token = admin.token) => {
        const reply = await server.request(method, path, { token, body });
        assert.ok(reply.status < 300, `${method} ${path}: ${reply.status} ${reply.text}`);
        return reply.json;
      };
      let steps = 0;
      /** Every grouping on both axes over the year of the data equals the oracle over the export now. */
      const step = async (what: string, run: () => Promise<unknown>) => {
        server.clock.advance(3_600_000 + 17 * ++steps);
        await run();
        const now = await allDocuments(server, admin.orgId);
        for (const timeAxis of AXES) {
          for (const groupBy of GROUPINGS) {
            const parameters: OracleParameters = { from: '2020-12-01', to: '2021-12-02', timeAxis, groupBy };
            const reply = await server.request('GET', statsPath({ ...parameters }), { token: admin.token });
            assert.equal(reply.status, 200, reply.text);
            assert.deepEqual(reply.json, oracle(now, parameters, { role: 'admin' }).answer, `after ${what}: ${timeAxis} ${groupBy}`);
          }
        }
      };
      // Inside the data's first range, so that new sessions count on the createdAt axis too.
      server.clock.set(Date.parse('2021-01-05T09:00:00.000Z'));
      const newSession = async () =>
        (
          await call('POST', '/api/v1/coaching/sessions', {
            coachingFormName: 'Live',
            agentId: agent.userId,
            coachId: coach.userId,
            coachingTemplateId: 'tpl-call',
            meetingDate: '2021-01-06T10:00:00.000Z',
          })
        )._id as string;
      let [a, b] = ['', ''];
      await step('creating sessions', async () => {
        [a, b] = [await newSession(), await newSession()];
      });
      await step('a session moved to another coach, template and week', () =>
        call('PATCH', `/api/v1/coaching/sessions/${a}`, {
          coachId: 'coach-b',
          coachingTemplateId: 'tpl-chat',
          meetingDate: '2021-01-12T10:00:00.000Z',
        }),
      );
      await step('a session without a meeting date', () => call('PATCH', `/api/v1/coaching/sessions/${b}`, { meetingDate: null }));
      await step('sharing', () => call('POST', `/api/v1/coaching/sessions/${a}/share`));
      await step('the agent confirming', () => call('POST', `/api/v1/coaching/sessions/${a}/confirm`, undefined, agent.token));
      await step('the coach confirming', () => call('POST', `/api/v1/coaching/sessions/${b}/confirm`, undefined, coach.token));
      await step('sharing the other', () => call('POST', `/api/v1/coaching/sessions/${b}/share`));
      await step('sharing it again', () => call('POST', `/api/v1/coaching/sessions/${b}/share`));
      await step('the agent confirming the other', () => call('POST', `/api/v1/coaching/sessions/${b}/confirm`, undefined, agent.token));
      const imported = docs.find((d) => !d.isDeleted && d.meetingDate !== null && d.meetingDate.startsWith('2021-01'))!;
      let p = '';
      await step('a point on two sessions', async () => {
        p = (await call('POST', '/api/v1/coaching/points', { coachingFormIds: [a, b], type: 'strength', classification: 'qa' }))._id;
      });
      await step('a point changed', () => call('PATCH', `/api/v1/coaching/points/${p}`, { type: 'opportunity', classification: 'csat' }));
      await step('a point relinked', () => call('PATCH', `/api/v1/coaching/points/${p}`, { coachingFormIds: [imported._id, b] }));
      await step('a point deleted', () => call('DELETE', `/api/v1/coaching/points/${p}`));
      let t = '';
      await step('a to-do on two sessions', async () => {
        t = (await call('POST', '/api/v1/coaching/todos', { coachingFormIds: [a, b], title: 'Listen' }))._id;
      });
      await step('a to-do completed', () => call('PATCH', `/api/v1/coaching/todos/${t}`, { status: 'complete' }));
      await step('a to-do relinked', () => call('PATCH', `/api/v1/coaching/todos/${t}`, { coachingFormIds: [imported._id] }));
      await step('a to-do deleted', () => call('DELETE', `/api/v1/coaching/todos/${t}`));
      await step('a session edited', () =>
        call('PATCH', `/api/v1/coaching/sessions/${b}`, { meetingDate: '2021-02-01T00:00:00.000Z', agentId: 'agent-b' }),
      );
      await step('a session deleted', () => call('DELETE', `/api/v1/coaching/sessions/${a}`));
      await step('a template renamed', () => call('PATCH', '/api/v1/coaching-templates/tpl-call', { name: 'Call review, 2nd edition' }));
      await step('a coach renamed', () => call('PATCH', `/api/v1/users/${coach.userId}`, { name: 'Cora Coachwell' }));
      // An import replaces a session (other flags, log, points and to-dos) and adds one.
      const current = (await allDocuments(server, admin.orgId)).find((d) => d._id === imported._id)!;
      const replaced: ExportSession = {
        ...current,
        coachName: 'Cora Coachwell',
        sharedWithAgent: true,
        agentConfirmed: !current.agentConfirmed,
        coachConfirmed: !current.coachConfirmed,
        // Out of order, as an import may have it: acknowledged one hour after the share.
        activityLog: [
          {
            userId: agent.userId,
            userEmail: null,
            actionType: 'agent_confirmed',
            descriptions: [],
            timestamp: '2021-01-07T11:00:00.000Z',
            ipAddress: null,
          },
          {
            userId: admin.userId,
            userEmail: null,
            actionType: 'shared',
            descriptions: [],
            timestamp: '2021-01-07T10:00:00.000Z',
            ipAddress: null,
          },
        ],
        coachingPoints: current.coachingPoints.slice(1).map((point) => ({ ...point, type: 'strength' })),
        todos: current.todos.map((todo) => ({ ...todo, status: 'complete' })),
      };
      const added: ExportSession = {
        ...replaced,
        _id: 'imported-new',
        coachingPoints: [],
        todos: [],
        isDeleted: false,
        coachingTemplateId: null,
        coachingTemplateName: null,
      };
      await step('an import', () => call('POST', '/api/v1/coaching-sessions/import', [replaced, added]));
    });

    it('refuses every bad parameter with a sentence naming it', async () => {
      const bad: Array<[Record<string, string>, RegExp]> = [
        [{ to: '2021-01-01' }, /^from is required\.$/],
        [{ from: '2021-01-01' }, /^to is required\.$/],
        [{ from: '2021-1-1', to: '2021-01-02' }, /^from must be a date in YYYY-MM-DD form/],
        [{ from: '2021-02-30', to: '2021-03-02' }, /^from must be a real calendar day/],
        [{ from: '2021-01-01', to: 'tomorrow' }, /^to must be a date in YYYY-MM-DD form/],
        [{ from: '2021-01-02', to: '2021-01-01' }, /^to 2021-01-01 is before from 2021-01-02\.$/],
        [{ from: '2024-01-01', to: '2025-01-02' }, /^to must be at most 366 days after from, and 2024-01-01 to 2025-01-02 is 367 days\.$/],
        [{ from: '2021-01-01', to: '2021-01-02', timeAxis: 'updatedAt' }, /^timeAxis must be one of meetingDate, createdAt/],
        [{ from: '2021-01-01', to: '2021-01-02', groupBy: 'day' }, /^groupBy must be one of none, coach, agent, template, week, month/],
        [{ from: '2021-01-01', to: '2021-01-02', startDate: '2021-01-01' }, /^startDate is not a known field\.$/],
      ];
      for (const [query, pattern] of bad) assertError(await server.request('GET', statsPath(query), { token: admin.token }), 400, pattern);
      assertError(
        await server.request('GET', '/api/v1/coaching/stats?from=2021-01-01&from=2021-01-02&to=2021-01-03', { token: admin.token }),
        400,
        /^from must be a string/,
      );
      const year = await server.request('GET', statsPath({ from: '2024-01-01', to: '2025-01-01' }), { token: admin.token });
      assert.equal(year.status, 200, '366 days after from is allowed');
      assertError(await server.request('GET', statsPath({ from: '2021-01-01', to: '2021-01-02' })), 401, /apiToken/);
    });
  });
}

describe('coaching stats, the rest', () => {
  it('scopes reads exactly as canRead does, for every role and kind of session', () => {
    const users: UserRecord[] = (['admin', 'coach', 'agent'] as const).map((role) => ({ id: 'u', email: null, name: 'U', role }));
    for (const user of users) {
      for (const coachId of ['u', 'x']) {
        for (const formCreatorId of ['u', 'x']) {
          for (const agentId of ['u', 'x']) {
            for (const sharedWithAgent of [true, false]) {
              const session = { coachId, formCreatorId, agentId, sharedWithAgent };
              assert.equal(inReadScope(readScope(user), session), canRead(user, session), JSON.stringify({ role: user.role, ...session }));
            }
          }
        }
      }
    }
  });

  it('answers any query string with 200 or a 400 in the {error} shape, never a 5xx', async () => {
    const server = await startTestServer();
    try {
      const { token } = await server.createOrg();
      const key = fc.constantFrom('from', 'to', 'timeAxis', 'groupBy', 'startDate', '__proto__', '', '%00', 'from[]');
      const value = fc.oneof(
        fc.constantFrom(
          '2021-01-01',
          '2021-12-31',
          '2022-01-02',
          '2021-02-30',
          '0000-01-01',
          '0100-01-01',
          '9999-12-31',
          'meetingDate',
          'createdAt',
          'week',
          'none',
          '',
          '%ZZ',
          '\u0000',
        ),
        fc.string({ maxLength: 20 }),
      );
      let answered = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(key, value), { maxLength: 5 }), async (pairs) => {
          const query = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
          const reply = await server.request('GET', `/api/v1/coaching/stats?${query}`, { token });
          answered++;
          assert.ok(reply.status === 200 || reply.status === 400, `${query}: ${reply.status} ${reply.text}`);
          if (reply.status === 400) assert.deepEqual(Object.keys(reply.json), ['error']);
        }),
        { numRuns: 300, seed: 6 },
      );
      assert.equal(answered, 300);
    } finally {
      await server.close();
    }
  });

  it('is in the api rate-limit bucket', async () => {
    const server = await startTestServer({ configure: (c) => ({ ...c, limits: { ...c.limits, api: { perSecond: 1, perMinute: 100 } } }) });
    try {
      const { token } = await server.createOrg();
      const path = statsPath({ from: '2021-01-01', to: '2021-01-02' });
      const first = await server.request('GET', path, { token });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.headers.get('ratelimit-limit'), '1');
      assertError(await server.request('GET', path, { token }), 429, /^Too many requests in the past second\.$/);
      assertError(await server.request('GET', '/api/v1/coaching-templates', { token }), 429, /past second/);
      const exported = await server.exportSessions(token, { startDate: '2021-01-01', endDate: '2021-01-02', timeAxis: 'createdAt' });
      assert.equal(exported.status, 200, 'the export bucket is untouched');
    } finally {
      await server.close();
    }
  });

  it('is in /openapi.json with the query and a response schema that real answers satisfy', async () => {
    const server = await startTestServer();
    try {
      const { token } = await server.createOrg();
      const document = (await server.request('GET', '/openapi.json')).json;
      const operation = document.paths['/api/v1/coaching/stats'].get;
      assert.deepEqual(operation.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort(), [
        'query:from',
        'query:groupBy',
        'query:timeAxis',
        'query:to',
      ]);
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats.default(ajv);
      const validate = ajv.compile(operation.responses['200'].content['application/json'].schema);
      for (const groupBy of GROUPINGS) {
        const reply = await server.request('GET', statsPath({ from: '2021-01-01', to: '2021-01-02', groupBy }), { token });
        assert.ok(validate(reply.json), JSON.stringify(validate.errors));
      }
      const answer = (await server.request('GET', statsPath({ from: '2021-01-01', to: '2021-01-02' }), { token })).json;
      assert.ok(!validate({ ...answer, totals: { ...answer.totals, sessions: '0' } }), 'the schema is strict enough to catch a wrong type');
    } finally {
      await server.close();
    }
  });
});
