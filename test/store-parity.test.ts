import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeBackends } from './helpers/backends.js';
import { portableExport, storedExport } from './helpers/documents.js';
import { point, session, todo } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const backends = await storeBackends();

describe('SQLite and PostgreSQL answer byte for byte the same', {
  skip: backends.length < 2 ? 'PostgreSQL is not reachable' : false,
}, () => {
  const servers: TestServer[] = [];
  const tokens: string[] = [];

  before(async () => {
    const docs = Array.from({ length: 300 }, (_, i) => {
      // A few sessions far larger than the rest make the export's pages shrink and grow again;
      // a hundred sessions share one meeting date, so pages end inside runs of equal axis values.
      const notes = i % 50 === 7 ? 'ü'.repeat(150_000) : i % 2 ? `ñ "${i}"\n\t\u0001\u007f\\ 😀` : null;
      const s = session({
        createdAt: new Date(Date.UTC(2028, 0, 1) + i * 3_600_000 + (i % 7)).toISOString(),
        coachNotes: notes,
        meetingDate: i % 3 ? null : '2028-01-03T00:00:00.000Z',
      });
      s.activityLog = [
        {
          userId: 'coach-1',
          userEmail: 'c@x.test',
          actionType: 'created',
          descriptions: ['a', 'b\u2028'],
          timestamp: s.createdAt,
          ipAddress: '::1',
        },
      ];
      s.coachingPoints = [point([s._id], { score: String(i), isDeleted: i % 5 === 0 })];
      s.todos = i % 4 ? [] : [todo([s._id], { completedAt: s.createdAt, status: 'complete' })];
      return s;
    });
    for (const backend of backends) {
      const server = await startTestServer({ backend });
      const { token } = await server.createOrg();
      const reply = await server.request('POST', '/api/v1/coaching-sessions/import', { token, body: docs });
      assert.equal(reply.status, 200, reply.text);
      servers.push(server);
      tokens.push(token);
    }
  });
  after(async () => {
    for (const server of servers) await server.close();
  });

  it("stores exactly what JSON.stringify makes of the portable path's documents", async () => {
    for (const server of servers) {
      const [org] = await server.store.listOrganizations();
      for (const [axis, count] of [
        ['createdAt', 300],
        ['meetingDate', 100],
      ] as const) {
        const window = { axis, fromMs: Date.UTC(2028, 0, 1), toMs: Date.UTC(2028, 1, 1) - 1 };
        const stored = await storedExport(server.store, org!.id, window);
        assert.equal((JSON.parse(stored) as unknown[]).length, count);
        assert.equal(stored, await portableExport(server.store, org!.id, window), `${server.config.database.kind} ${axis}`);
      }
    }
  });

  for (const timeAxis of ['createdAt', 'meetingDate']) {
    it(`on the ${timeAxis} axis`, async () => {
      const bodies = await Promise.all(
        servers.map((server, i) => server.exportSessions(tokens[i]!, { startDate: '2028-01-01', endDate: '2028-01-31', timeAxis })),
      );
      assert.ok(bodies[0]!.text.length > 1000);
      assert.equal(bodies[1]!.text, bodies[0]!.text);
    });
  }
});
