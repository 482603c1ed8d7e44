import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ExportSession } from '../src/contract/schemas.js';
import { storeBackends } from './helpers/backends.js';
import { point, session, todo } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const SESSION_FIELDS = [
  '_id',
  'coachingFormName',
  'coachingTemplateId',
  'coachingTemplateName',
  'meetingFormat',
  'formCreatorId',
  'formCreatorName',
  'coachName',
  'coachId',
  'agentId',
  'agentName',
  'createdAt',
  'updatedAt',
  'sharedWithAgent',
  'meetingDate',
  'agentConfirmed',
  'coachConfirmed',
  'coachNotes',
  'agentNotes',
  'isDeleted',
  'activityLog',
  'coachingPoints',
  'todos',
];
const POINT_FIELDS = [
  '_id',
  'coachingFormIds',
  'type',
  'classification',
  'ticketId',
  'subject',
  'rubricName',
  'criteriaName',
  'kpiName',
  'score',
  'agentNotes',
  'coachNotes',
  'createdAt',
  'updatedAt',
  'isDeleted',
];
const TODO_FIELDS = [
  '_id',
  'actionString',
  'coachingFormIds',
  'completedAt',
  'createdAt',
  'creatorId',
  'creatorName',
  'description',
  'link',
  'status',
  'title',
  'type',
  'updatedAt',
  'isDeleted',
];
const LOG_FIELDS = ['userId', 'userEmail', 'actionType', 'descriptions', 'timestamp', 'ipAddress'];

for (const backend of await storeBackends()) {
  describe(`Coaching Export API contract (${backend.name})`, () => {
    let server: TestServer;
    let token: string;

    async function load(docs: ExportSession[], as = token): Promise<void> {
      const reply = await server.request('POST', '/api/v1/coaching-sessions/import', { token: as, body: docs });
      assert.equal(reply.status, 200, reply.text);
    }

    async function exported(body: { startDate: string; endDate: string; timeAxis: string }, as = token): Promise<ExportSession[]> {
      const reply = await server.exportSessions(as, body);
      assert.equal(reply.status, 200, reply.text);
      return reply.json as ExportSession[];
    }

    const ids = (docs: ExportSession[]) => docs.map((d) => d._id);

    before(async () => {
      server = await startTestServer({ backend });
      ({ token } = await server.createOrg());
    });
    after(() => server.close());

    it('includes both ends of the window to the millisecond on the createdAt axis', async () => {
      const inside = [
        session({ createdAt: '2030-01-01T00:00:00.000Z', meetingDate: null }),
        session({ createdAt: '2030-01-31T23:59:59.999Z', meetingDate: null }),
      ];
      const outside = [
        session({ createdAt: '2029-12-31T23:59:59.999Z', meetingDate: null }),
        session({ createdAt: '2030-02-01T00:00:00.000Z', meetingDate: null }),
      ];
      await load([...inside, ...outside]);
      const docs = await exported({ startDate: '2030-01-01', endDate: '2030-01-31', timeAxis: 'createdAt' });
      assert.deepEqual(ids(docs), ids(inside));
    });

    it('includes both ends of the window to the millisecond on the meetingDate axis', async () => {
      const inside = [
        session({ createdAt: '2020-01-01T00:00:00.000Z', meetingDate: '2031-03-01T00:00:00.000Z' }),
        session({ createdAt: '2020-01-01T00:00:00.000Z', meetingDate: '2031-03-01T23:59:59.999Z' }),
      ];
      const outside = [
        session({ createdAt: '2020-01-01T00:00:00.000Z', meetingDate: '2031-02-28T23:59:59.999Z' }),
        session({ createdAt: '2020-01-01T00:00:00.000Z', meetingDate: '2031-03-02T00:00:00.000Z' }),
      ];
      await load([...inside, ...outside]);
      const docs = await exported({ startDate: '2031-03-01', endDate: '2031-03-01', timeAxis: 'meetingDate' });
      assert.deepEqual(ids(docs), ids(inside));
    });

    it('never matches a session without meetingDate on the meetingDate axis, but does on createdAt', async () => {
      const undated = session({ createdAt: '2032-05-05T10:00:00.000Z', meetingDate: null });
      await load([undated]);
      assert.deepEqual(await exported({ startDate: '2032-05-01', endDate: '2032-05-30', timeAxis: 'meetingDate' }), []);
      const byCreation = await exported({ startDate: '2032-05-01', endDate: '2032-05-30', timeAxis: 'createdAt' });
      assert.deepEqual(ids(byCreation), [undated._id]);
      assert.equal(byCreation[0]!.meetingDate, null);
    });

    it('allows a window of exactly 90 days', async () => {
      const last = session({ createdAt: '2033-03-01T12:00:00.000Z' });
      await load([last]);
      const docs = await exported({ startDate: '2032-12-01', endDate: '2033-03-01', timeAxis: 'createdAt' });
      assert.deepEqual(ids(docs), [last._id]);
    });

    it('includes soft-deleted sessions, points and to-dos, flagged isDeleted', async () => {
      const s = session({ createdAt: '2034-01-02T00:00:00.000Z', isDeleted: true });
      s.coachingPoints = [point([s._id], { isDeleted: true })];
      s.todos = [todo([s._id], { isDeleted: true })];
      await load([s]);
      const [doc] = await exported({ startDate: '2034-01-01', endDate: '2034-01-03', timeAxis: 'createdAt' });
      assert.equal(doc!.isDeleted, true);
      assert.equal(doc!.coachingPoints[0]!.isDeleted, true);
      assert.equal(doc!.todos[0]!.isDeleted, true);
    });

    it('lists a point and a to-do linked to two sessions under both', async () => {
      const a = session({ createdAt: '2035-01-01T10:00:00.000Z' });
      const b = session({ createdAt: '2035-01-02T10:00:00.000Z' });
      const shared = point([a._id, b._id]);
      const sharedTodo = todo([b._id, a._id]);
      a.coachingPoints = [shared];
      b.coachingPoints = [shared];
      a.todos = [sharedTodo];
      b.todos = [sharedTodo];
      await load([a, b]);
      const docs = await exported({ startDate: '2035-01-01', endDate: '2035-01-02', timeAxis: 'createdAt' });
      assert.deepEqual(ids(docs), [a._id, b._id]);
      for (const doc of docs) {
        assert.deepEqual(doc.coachingPoints, [shared]);
        assert.deepEqual(doc.todos, [sharedTodo]);
      }
    });

    it('orders sessions by the axis then _id, logs oldest first, points and to-dos by createdAt then _id', async () => {
      const when = '2036-06-01T08:00:00.000Z';
      const tiedB = session({ _id: 'order-b', createdAt: when });
      const tiedA = session({ _id: 'order-a', createdAt: when });
      const earlier = session({ _id: 'order-z', createdAt: '2036-06-01T07:59:59.999Z' });
      tiedA.activityLog = [
        {
          userId: 'coach-1',
          userEmail: 'c@example.test',
          actionType: 'created',
          descriptions: ['session created'],
          timestamp: '2036-06-01T08:00:00.000Z',
          ipAddress: '10.0.0.1',
        },
        {
          userId: 'coach-1',
          userEmail: 'c@example.test',
          actionType: 'updated',
          descriptions: ['coachNotes changed'],
          timestamp: '2036-06-01T08:01:00.000Z',
          ipAddress: '10.0.0.1',
        },
        {
          userId: 'agent-1',
          userEmail: null,
          actionType: 'agent_confirmed',
          descriptions: [],
          timestamp: '2036-06-01T08:02:00.000Z',
          ipAddress: null,
        },
      ];
      const p2 = point([tiedA._id], { _id: 'p-2', createdAt: '2036-06-01T08:00:00.000Z' });
      const p1 = point([tiedA._id], { _id: 'p-1', createdAt: '2036-06-01T08:00:00.000Z' });
      const p0 = point([tiedA._id], { _id: 'p-9', createdAt: '2036-05-31T08:00:00.000Z' });
      tiedA.coachingPoints = [p0, p1, p2];
      const t1 = todo([tiedA._id], { _id: 't-1', createdAt: '2036-06-01T09:00:00.000Z' });
      const t0 = todo([tiedA._id], { _id: 't-0', createdAt: '2036-06-01T09:00:00.000Z' });
      tiedA.todos = [t0, t1];
      await load([tiedB, earlier, tiedA]);
      const docs = await exported({ startDate: '2036-06-01', endDate: '2036-06-01', timeAxis: 'createdAt' });
      assert.deepEqual(ids(docs), ['order-z', 'order-a', 'order-b']);
      const a = docs[1]!;
      assert.deepEqual(
        a.activityLog.map((e) => e.actionType),
        ['created', 'updated', 'agent_confirmed'],
      );
      assert.deepEqual(
        a.coachingPoints.map((p) => p._id),
        ['p-9', 'p-1', 'p-2'],
      );
      assert.deepEqual(
        a.todos.map((t) => t._id),
        ['t-0', 't-1'],
      );
    });

    it('pages through more sessions than one page without losing or repeating any, ties included', async () => {
      const docs = Array.from({ length: 1234 }, (_, i) =>
        session({ _id: `bulk-${String(i).padStart(5, '0')}`, createdAt: `2037-02-0${1 + (i % 3)}T10:00:00.000Z` }),
      );
      await load(docs);
      const got = await exported({ startDate: '2037-02-01', endDate: '2037-02-03', timeAxis: 'createdAt' });
      const expected = [...docs].sort((x, y) => (x.createdAt + x._id).localeCompare(y.createdAt + y._id));
      assert.deepEqual(ids(got), ids(expected));
    });

    it('writes every field of every element, dates with milliseconds, null for unset and [] for empty', async () => {
      const s = session({
        createdAt: '2038-01-01T10:00:00.000Z',
        meetingFormat: null,
        coachingTemplateId: null,
        coachingTemplateName: null,
      });
      s.activityLog = [
        {
          userId: 'coach-1',
          userEmail: 'c@example.test',
          actionType: 'created',
          descriptions: ['created'],
          timestamp: '2038-01-01T10:00:00.000Z',
          ipAddress: '127.0.0.1',
        },
      ];
      s.coachingPoints = [point([s._id])];
      s.todos = [todo([s._id])];
      const bare = session({ createdAt: '2038-01-01T11:00:00.000Z' });
      await load([s, bare]);
      const reply = await server.exportSessions(token, { startDate: '2038-01-01', endDate: '2038-01-01', timeAxis: 'createdAt' });
      assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
      const [full, empty] = reply.json as ExportSession[];
      assert.deepEqual(Object.keys(full!), SESSION_FIELDS);
      assert.deepEqual(Object.keys(full!.coachingPoints[0]!), POINT_FIELDS);
      assert.deepEqual(Object.keys(full!.todos[0]!), TODO_FIELDS);
      assert.deepEqual(Object.keys(full!.activityLog[0]!), LOG_FIELDS);
      for (const value of [
        full!.createdAt,
        full!.updatedAt,
        full!.meetingDate,
        full!.activityLog[0]!.timestamp,
        full!.todos[0]!.createdAt,
      ]) {
        assert.match(String(value), ISO_MS);
      }
      assert.equal(full!.meetingFormat, null);
      assert.equal(full!.coachingTemplateId, null);
      assert.equal(full!.todos[0]!.completedAt, null);
      assert.deepEqual([empty!.activityLog, empty!.coachingPoints, empty!.todos], [[], [], []]);
    });

    it('round-trips documents full of edge cases through import and export unchanged', async () => {
      const tricky = session({
        _id: 'edge-"quoted"-\u00e9',
        coachingFormName: 'Ünïcödé 😀 "quotes" \\ back\\slash\nnew line\ttab',
        coachNotes: 'line one\nline two\r\n</script>',
        agentNotes: '',
        createdAt: '2039-07-07T07:07:07.007Z',
        updatedAt: '2039-07-08T00:00:00.000Z',
        meetingDate: null,
        sharedWithAgent: true,
        agentConfirmed: true,
        coachConfirmed: true,
        coachingTemplateId: null,
        coachingTemplateName: null,
        meetingFormat: null,
        coachName: 'Zoë Ñúñez',
        coachId: 'coach-ü',
        formCreatorId: 'coach-ü',
        formCreatorName: 'Zoë Ñúñez',
      });
      tricky.activityLog = [
        { userId: null, userEmail: null, actionType: 'imported', descriptions: [], timestamp: '2039-07-07T07:07:07.007Z', ipAddress: null },
        {
          userId: 'coach-ü',
          userEmail: 'zoe@example.test',
          actionType: 'updated',
          descriptions: ['coachNotes changed', 'a "b" \u2028 c'],
          timestamp: '2039-07-07T07:07:08.000Z',
          ipAddress: '::1',
        },
      ];
      tricky.coachingPoints = [
        point([tricky._id, 'session-elsewhere'], {
          type: 'n/a',
          classification: 'csat',
          ticketId: '#123',
          subject: '日本語',
          rubricName: 'R',
          criteriaName: 'C',
          kpiName: 'AHT',
          score: '4.5',
          agentNotes: 'x\ny',
          coachNotes: '"',
        }),
      ];
      tricky.todos = [
        todo([tricky._id], {
          actionString: 'do',
          completedAt: '2039-07-09T00:00:00.000Z',
          description: 'd\n',
          link: 'https://example.test/?a=1&b="2"',
          status: 'complete',
          type: 'task',
          creatorId: 'coach-ü',
          creatorName: 'Zoë Ñúñez',
        }),
      ];
      await load([tricky]);
      const docs = await exported({ startDate: '2039-07-07', endDate: '2039-07-07', timeAxis: 'createdAt' });
      assert.deepEqual(docs, [tricky]);
    });

    it('replaces a session on a second import of the same _id, children included', async () => {
      const s = session({ createdAt: '2040-01-01T00:00:00.000Z', coachNotes: 'first' });
      s.coachingPoints = [point([s._id]), point([s._id])];
      await load([s]);
      const again = { ...s, coachNotes: 'second', coachingPoints: [s.coachingPoints[1]!], activityLog: [] };
      await load([again]);
      const docs = await exported({ startDate: '2040-01-01', endDate: '2040-01-01', timeAxis: 'createdAt' });
      assert.deepEqual(docs, [again]);
    });

    it('normalizes imported date-times with offsets to UTC with milliseconds', async () => {
      const s = session({ createdAt: '2041-01-01T02:00:00+02:00', updatedAt: '2041-01-01T00:00:01Z' });
      await load([s]);
      const [doc] = await exported({ startDate: '2041-01-01', endDate: '2041-01-01', timeAxis: 'createdAt' });
      assert.equal(doc!.createdAt, '2041-01-01T00:00:00.000Z');
      assert.equal(doc!.updatedAt, '2041-01-01T00:00:01.000Z');
    });

    it('keeps organizations apart: another organization exports none of these sessions', async () => {
      const other = await server.createOrg('Other');
      const mine = session({ _id: 'tenant-shared-id', createdAt: '2042-01-01T00:00:00.000Z', coachNotes: 'mine' });
      await load([mine]);
      const theirs = session({ _id: 'tenant-shared-id', createdAt: '2042-01-01T00:00:00.000Z', coachNotes: 'theirs' });
      await load([theirs], other.token);
      const window = { startDate: '2042-01-01', endDate: '2042-01-01', timeAxis: 'createdAt' };
      assert.deepEqual(
        (await exported(window)).map((d) => d.coachNotes),
        ['mine'],
      );
      assert.deepEqual(
        (await exported(window, other.token)).map((d) => d.coachNotes),
        ['theirs'],
      );
      const empty = await server.createOrg('Empty');
      assert.deepEqual(await exported({ startDate: '2041-12-01', endDate: '2042-02-01', timeAxis: 'createdAt' }, empty.token), []);
    });
  });
}
